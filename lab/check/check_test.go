package check_test

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"netlab/lab"
	"netlab/lab/check"
)

// These tests need no kernel: names, targets and the detail line.

func TestNameAndTarget(t *testing.T) {
	l := parseLab(t, `name: t
nodes:
  a:
    interfaces:
      eth0: {addresses: [192.0.2.1/24]}
  b:
    interfaces:
      lo: {addresses: [10.9.9.9/32]}
      eth0: {addresses: [192.0.2.2/24, "2001:db8::2/64"]}
links:
  - [a:eth0, b:eth0]
checks:
  - {from: a, ping: 192.0.2.2}
  - {from: a, to: b}
  - {from: a, to: b, proto: tcp, port: 80, address: "2001:db8::2"}
  - {from: b, to: a, proto: udp}
  - {from: a, to: b, proto: tcp, port: 8080, listen: 80, address: 192.0.2.2}
  - {from: a, to: b, proto: udp, port: 53, listen: 53}
  - {from: a, connect: "[2001:db8::2]:443"}
  - {from: a, http: "http://b:8080/health"}
  - {from: a, http: "https://192.0.2.2/"}
  - {from: a, http: "http://b-eth0:8080/"}
`)
	want := []struct{ name, target string }{
		{"a ping 192.0.2.2", "192.0.2.2"},
		{"a -> b icmp (10.9.9.9)", "10.9.9.9"},
		{"a -> b tcp/80 (2001:db8::2)", "2001:db8::2"},
		{"b -> a udp/7 (192.0.2.1)", "192.0.2.1"},
		{"a -> b tcp/8080->80 (192.0.2.2)", "192.0.2.2"},
		{"a -> b udp/53 (10.9.9.9)", "10.9.9.9"},
		{"a connect [2001:db8::2]:443", "2001:db8::2"},
		{"a http http://b:8080/health", "10.9.9.9"},
		{"a http https://192.0.2.2/", "192.0.2.2"},
		// A URL names a host as the node's hosts file does: NODE-IFNAME
		// is the interface's first address.
		{"a http http://b-eth0:8080/", "192.0.2.2"},
	}
	for i, c := range l.Checks {
		if got := check.Name(l, c); got != want[i].name {
			t.Errorf("check %d: Name = %q, want %q", i, got, want[i].name)
		}
		if got, err := check.Target(l, c); err != nil || got.String() != want[i].target {
			t.Errorf("check %d: Target = %v, %v, want %s", i, got, err, want[i].target)
		}
	}
}

func TestDetail(t *testing.T) {
	ok := &lab.Check{From: "c2", To: "server", Proto: "udp", Expect: lab.ExpectOK}
	fail := &lab.Check{From: "server", Ping: netip.MustParseAddr("192.168.31.10"), Expect: lab.ExpectFail}
	tests := []struct {
		name string
		r    check.Result
		want string
	}{
		{"reached", check.Result{Check: ok, Passed: true, Reached: true, RTT: 1500 * time.Microsecond, Seen: netip.MustParseAddr("198.51.100.86")},
			"rtt 1.500 ms, server saw source 198.51.100.86"},
		{"not reached", check.Result{Check: ok, Reason: "no route to 198.51.100.183 from node c2"}, "no route to 198.51.100.183 from node c2"},
		{"wrong source", check.Result{Check: ok, Reached: true, Reason: "server saw source 192.168.31.11, want 198.51.100.86 (is the NAT rule in place?)"},
			"server saw source 192.168.31.11, want 198.51.100.86 (is the NAT rule in place?)"},
		{"blocked as expected", check.Result{Check: fail, Passed: true, Reason: "no route to 192.168.31.10 from node server"},
			"blocked as expected: no route to 192.168.31.10 from node server"},
		{"got through", check.Result{Check: fail, Reached: true, RTT: time.Millisecond}, "got through (rtt 1.000 ms), but the check expects it to fail"},
		{"error", check.Result{Check: fail, Err: errors.New("node server is not running: start the lab with netlab up")},
			"error: node server is not running: start the lab with netlab up"},
	}
	for _, tc := range tests {
		if got := tc.r.Detail(); got != tc.want {
			t.Errorf("%s: Detail = %q, want %q", tc.name, got, tc.want)
		}
	}
}
