package check_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"netlab/lab/check"
)

// TestForTrace: the check a trace's probe is, from a node and a target
// typed on the command line or in the TUI.
func TestForTrace(t *testing.T) {
	l := routedLab(t)
	for _, tc := range []struct {
		name, from, target, proto string
		port                      uint16
		timeout                   time.Duration
		want                      string // "to NODE [address A]", "ping A", "connect A:P", or the error's start
	}{
		{"node, udp", "c1", "server", "udp", 7, 0, "to server"},
		{"node, icmp", "c1", "server", "icmp", 0, 0, "to server"},
		{"a node's address, udp", "c1", "198.51.100.183", "udp", 53, 0, "to server address 198.51.100.183"},
		{"any address, icmp", "c1", "203.0.113.9", "icmp", 0, 0, "ping 203.0.113.9"},
		{"a node's address, icmp", "c1", "198.51.100.183", "icmp", 0, 0, "ping 198.51.100.183"},
		{"any address, tcp", "c1", "203.0.113.9", "tcp", 80, 0, "connect 203.0.113.9:80"},
		{"udp to no node", "c1", "203.0.113.9", "udp", 53, 0, "no node of lab fk has 203.0.113.9"},
		{"unknown from", "c9", "server", "icmp", 0, 0, `lab fk has no node "c9" (nodes: c1, c2, router, server)`},
		{"unknown target", "c1", "web", "icmp", 0, 0, `"web" is neither an address nor a node of lab fk (nodes: c1, c2, router, server)`},
		{"icmp with a port", "c1", "server", "icmp", 7, 0, "an ICMP echo has no port"},
		{"tcp without", "c1", "server", "tcp", 0, 0, "a tcp probe needs a port"},
		{"sctp", "c1", "server", "sctp", 7, 0, `unknown protocol "sctp"`},
		{"too long", "c1", "server", "icmp", 0, 2 * time.Minute, "timeout must be more than 0 and at most 1m0s"},
		// A zone names an interface the probe would not be sent by (the
		// route decides), so it is refused, as a lab file's ping: is.
		{"icmp to a zone", "c1", "fe80::1%nosuch", "icmp", 0, 0, `address "fe80::1%nosuch" must not carry a zone`},
		{"tcp to a zone", "c1", "fe80::1%eth0", "tcp", 80, 0, `address "fe80::1%eth0" must not carry a zone`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := check.ForTrace(l, tc.from, tc.target, tc.proto, tc.port, tc.timeout)
			var got string
			switch {
			case err != nil:
				got = err.Error()
			case c.To != "":
				got = "to " + c.To
				if c.Address.IsValid() {
					got += " address " + c.Address.String()
				}
			case c.Ping.IsValid():
				got = "ping " + c.Ping.String()
			case c.Connect.IsValid():
				got = "connect " + c.Connect.String()
			}
			if !strings.HasPrefix(got, tc.want) {
				t.Errorf("ForTrace = %q, want %q", got, tc.want)
			}
			if err == nil && (c.From != tc.from || c.Proto != tc.proto || c.Expect != "ok" || c.Timeout <= 0) {
				t.Errorf("check %+v", c)
			}
		})
	}
}

// TestForTraceToAProgramsPort: a TCP trace to a node on the port one of
// its programs listens on (ready: tcp) connects to the program, which
// has the port a responder could not bind; another port, or udp, gets
// the responder.
func TestForTraceToAProgramsPort(t *testing.T) {
	l := parseLab(t, `name: fkweb
nodes:
  c1:
    interfaces:
      eth0: {addresses: [10.0.0.1/24]}
  web:
    interfaces:
      eth0: {addresses: [10.0.0.2/24]}
    run:
      - {name: web, command: "python3 -m http.server 80", ready: {tcp: 80}}
links:
  - [c1:eth0, web:eth0]
`)
	c, err := check.ForTrace(l, "c1", "web", "tcp", 80, 0)
	if err != nil || c.Connect.String() != "10.0.0.2:80" || c.To != "" {
		t.Errorf("tcp 80: %+v, %v; want a connect to 10.0.0.2:80", c, err)
	}
	for _, tc := range []struct {
		proto string
		port  uint16
	}{{"tcp", 81}, {"udp", 80}} {
		c, err := check.ForTrace(l, "c1", "web", tc.proto, tc.port, 0)
		if err != nil || c.To != "web" || c.Connect.IsValid() {
			t.Errorf("%s %d: %+v, %v; want the responder on web", tc.proto, tc.port, c, err)
		}
	}
}

// TestForTraceThroughADNAT: a tcp or udp trace to an address that one
// DNAT rule of the lab sends to one node gets its responder there, on
// the same port; a port the rule does not publish or publishes to
// another port (which may be the lab's fault to find), a rule with
// several targets, or a port the target's program listens on are sent
// as is.
func TestForTraceThroughADNAT(t *testing.T) {
	l := parseLab(t, `name: fkdnat
nodes:
  host:
    interfaces:
      eth0: {addresses: [203.0.113.10/24]}
      eth1: {addresses: [172.17.0.1/16]}
      eth2: {addresses: [172.18.0.1/16]}
    nat:
      - {action: dnat, in: eth0, proto: tcp, dport: 8080, to: "172.17.0.2:8080"}
      - {action: dnat, in: eth0, proto: tcp, dport: 80, to: "172.17.0.2:80"}
      - {action: dnat, in: eth0, proto: udp, dport: 53, to: "172.17.0.2:5353"}
      - {action: dnat, destination: 10.96.0.10/32, proto: tcp, dport: 80, to: ["172.17.0.2:8080", "172.18.0.3:8080"]}
  c1:
    interfaces:
      eth0: {addresses: [172.17.0.2/16]}
    run:
      - {name: web, command: "python3 -m http.server 80", ready: {tcp: 80}}
  c2:
    interfaces:
      eth0: {addresses: [172.18.0.3/16]}
  client:
    interfaces:
      eth0: {addresses: [203.0.113.20/24]}
links:
  - [host:eth1, c1:eth0]
  - [host:eth2, c2:eth0]
  - [host:eth0, client:eth0]
`)
	for _, tc := range []struct {
		name, target, proto string
		port                uint16
		want                string
	}{
		{"published, same port", "203.0.113.10", "tcp", 8080, "to c1 address 203.0.113.10"},
		{"published to another port", "203.0.113.10", "udp", 53, "to host address 203.0.113.10"},
		{"published to a program", "203.0.113.10", "tcp", 80, "connect 203.0.113.10:80"},
		{"not published", "203.0.113.10", "tcp", 81, "connect 203.0.113.10:81"},
		{"several targets", "10.96.0.10", "tcp", 80, "connect 10.96.0.10:80"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := check.ForTrace(l, "client", tc.target, tc.proto, tc.port, 0)
			if err != nil {
				if !strings.HasPrefix(err.Error(), tc.want) {
					t.Errorf("ForTrace: %v, want %q", err, tc.want)
				}
				return
			}
			got := "connect " + c.Connect.String()
			if c.To != "" {
				got = "to " + c.To + " address " + c.Address.String()
				if c.Listen != 0 {
					got += fmt.Sprintf(" listen %d", c.Listen)
				}
			}
			if got != tc.want {
				t.Errorf("ForTrace = %q, want %q", got, tc.want)
			}
		})
	}
}
