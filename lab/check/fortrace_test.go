package check_test

import (
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
