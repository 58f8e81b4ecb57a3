package check_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"netlab/lab"
	"netlab/lab/check"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/state"
)

// These tests run the checks against kerneltest.Net, the fake network,
// without root: what they prove is the check logic (responders, tickets,
// reasons, seen sources); that the sockets behave so in the kernel is
// proved by the _linux tests, as root.

// fakeNet builds the fake network of a lab: each node's namespace with
// the addresses of its interfaces, its main table's routes, its DNAT rules (a rule
// with in: rewrites what arrives at that interface's addresses), and its
// masquerade and SNAT rules, as an SNAT of every node whose route points
// at the router (what it sends through a gateway appears from the
// router's out address). Filters are added by the tests, where they say
// so; firewall rules of the lab are not read.
func fakeNet(l *lab.Lab) *kerneltest.Net {
	n := kerneltest.NewNet()
	addFakeLab(n, l)
	return n
}

// addFakeLab adds the namespaces of a lab to the fake network n, as
// fakeNet builds them.
func addFakeLab(n *kerneltest.Net, l *lab.Lab) {
	for _, node := range l.Nodes {
		ns := state.NetNSName(l.Name, node.Name)
		var addrs []netip.Prefix
		for _, ifc := range node.Interfaces {
			for _, a := range ifc.Addresses {
				addrs = append(addrs, a.Prefix)
			}
			n.AddNetNS(ns)
			n.AddLink(ns, ifc.Name)
		}
		n.AddNetNS(ns, addrs...)
		for _, r := range node.Routes {
			if r.Table != 0 && r.Table != lab.TableMain {
				continue // the fake network has no policy rules: another table is never read
			}
			n.AddRoute(ns, r.To, r.Via, "eth0")
		}
		for _, r := range node.NAT {
			if r.Action == lab.NATMasquerade || r.Action == lab.NATSNAT {
				snatThrough(n, l, node, r)
			}
			if r.Action != lab.NATDNAT || !r.ToAddr.IsValid() {
				continue
			}
			for _, ifc := range node.Interfaces {
				if r.In != "" && ifc.Name != r.In {
					continue
				}
				for _, a := range ifc.Addresses {
					n.DNAT(netip.AddrPortFrom(a.Prefix.Addr(), r.DPort), netip.AddrPortFrom(r.ToAddr, r.ToPort))
				}
			}
		}
	}
}

// snatThrough gives every node whose route goes via router an SNAT to
// the address r rewrites to: its to:, or the first address of its out
// interface.
func snatThrough(n *kerneltest.Net, l *lab.Lab, router *lab.Node, r *lab.NATRule) {
	src := r.ToAddr
	owned := map[netip.Addr]bool{}
	for _, ifc := range router.Interfaces {
		for _, a := range ifc.Addresses {
			owned[a.Prefix.Addr()] = true
			if !src.IsValid() && ifc.Name == r.Out {
				src = a.Prefix.Addr()
			}
		}
	}
	if !src.IsValid() {
		return
	}
	for _, node := range l.Nodes {
		for _, rt := range node.Routes {
			if owned[rt.Via] && rt.Via.Is4() == src.Is4() {
				n.SNAT(state.NetNSName(l.Name, node.Name), src)
				break
			}
		}
	}
}

// routedLab is two clients, a router and a server on three subnets; c2
// has no route beyond its own. The checks are appended.
func routedLab(t *testing.T, checks ...string) *lab.Lab {
	t.Helper()
	text := `name: fk
nodes:
  router:
    interfaces:
      eth0: {addresses: [192.168.31.1/24]}
      eth1: {addresses: [198.51.100.1/24]}
      eth2: {addresses: [192.168.32.1/24]}
  c1:
    interfaces:
      eth0: {addresses: [192.168.31.10/24]}
    routes: [{to: default, via: 192.168.31.1}]
  c2:
    interfaces:
      eth0: {addresses: [192.168.32.11/24]}
  server:
    interfaces:
      eth0: {addresses: [198.51.100.183/24]}
    routes: [{to: default, via: 198.51.100.1}]
links:
  - [c1:eth0, router:eth0]
  - [c2:eth0, router:eth2]
  - [router:eth1, server:eth0]
checks:
`
	for _, c := range checks {
		text += "  - " + c + "\n"
	}
	return parseLab(t, text)
}

// TestRunFakePasses runs a check of each kind that gets through, and
// proves each result carries what its responder saw.
func TestRunFakePasses(t *testing.T) {
	t.Parallel()
	l := routedLab(t,
		"{from: c1, to: server, proto: tcp, port: 8080}",
		"{from: c1, to: server, proto: udp, port: 53}",
		"{from: c1, to: server}",
		"{from: c1, ping: 198.51.100.183}",
		"{from: server, to: c1, proto: tcp, port: 22, seen-source: 198.51.100.183}",
	)
	res := check.Run(context.Background(), fakeNet(l), l, l.Checks)
	for i, r := range res {
		if !r.Passed || !r.Reached || r.Err != nil {
			t.Errorf("%s: passed %v reached %v err %v reason %q", r.Name, r.Passed, r.Reached, r.Err, r.Reason)
		}
		if l.Checks[i].To != "" {
			want := "192.168.31.10"
			if l.Checks[i].From == "server" {
				want = "198.51.100.183"
			}
			if r.Seen.String() != want {
				t.Errorf("%s: seen %v, want %s", r.Name, r.Seen, want)
			}
			if !strings.Contains(r.Detail(), "saw source "+want) {
				t.Errorf("%s: detail %q", r.Name, r.Detail())
			}
		}
	}
}

// TestRunFakeSeenSource: with a masquerade on the way (the fake's SNAT),
// the responder sees the router's address, and a seen-source check
// holds only when it names that address.
func TestRunFakeSeenSource(t *testing.T) {
	t.Parallel()
	l := routedLab(t,
		"{from: c1, to: server, proto: tcp, port: 80, seen-source: 198.51.100.1}",
		"{from: c1, to: server, proto: udp, port: 53, seen-source: 198.51.100.1}",
		"{from: c1, to: server, seen-source: 198.51.100.1}",
		"{from: c1, to: server, proto: tcp, port: 81, seen-source: 192.168.31.10}",
	)
	n := fakeNet(l)
	n.SNAT(state.NetNSName(l.Name, "c1"), netip.MustParseAddr("198.51.100.1"))
	res := check.Run(context.Background(), n, l, l.Checks)
	for _, r := range res[:3] {
		if !r.Passed || r.Seen.String() != "198.51.100.1" {
			t.Errorf("%s: passed %v seen %v reason %q", r.Name, r.Passed, r.Seen, r.Reason)
		}
	}
	r := res[3]
	want := "server saw source 198.51.100.1, want 192.168.31.10 (is the NAT rule in place?)"
	if r.Passed || !r.Reached || r.Reason != want || r.Detail() != want {
		t.Errorf("%s: passed %v reached %v reason %q, want %q", r.Name, r.Passed, r.Reached, r.Reason, want)
	}
}

// TestRunFakeReasons proves the reason of each way a probe fails, as a
// network engineer would say it, and that expect: fail turns each into a
// pass.
func TestRunFakeReasons(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, check string
		setup       func(n *kerneltest.Net, ns func(string) string)
		want        string
	}{
		{"no route", "{from: c2, to: server, proto: tcp, port: 80, timeout: 300ms}", nil,
			"no route to 198.51.100.183 from node c2"},
		{"no route, ping", "{from: c2, ping: 198.51.100.183, timeout: 300ms}", nil,
			"no route to 198.51.100.183 from node c2"},
		{"no ARP reply from the gateway", "{from: c1, to: server, proto: tcp, port: 80, timeout: 300ms}",
			func(n *kerneltest.Net, ns func(string) string) { n.DelNetNS(ns("router")) },
			"no ARP reply for 198.51.100.183 from node c1 (host unreachable)"},
		{"no ARP reply, ping", "{from: c1, ping: 198.51.100.183, timeout: 300ms}",
			func(n *kerneltest.Net, ns func(string) string) { n.DelNetNS(ns("router")) },
			"no ARP reply: ARP for 192.168.31.1 sent on eth0 from node c1, no reply (host unreachable)"},
		{"refused", "{from: c1, connect: 198.51.100.183:443, timeout: 300ms}", nil,
			"refused by 198.51.100.183 (nothing listens there, or a firewall rejects)"},
		{"output rule", "{from: c1, to: server, proto: udp, port: 53, timeout: 300ms}",
			func(n *kerneltest.Net, ns func(string) string) {
				n.Reject(ns("c1"), netip.MustParseAddrPort("198.51.100.183:53"))
			},
			"blocked by a firewall in node c1 (its output rules dropped the packet)"},
		{"dropped on the way", "{from: c1, to: server, proto: tcp, port: 80, timeout: 300ms}",
			func(n *kerneltest.Net, ns func(string) string) {
				n.Drop("", netip.MustParseAddrPort("198.51.100.183:0"))
			},
			"timed out after 300ms (node c1 sends it via 192.168.31.1 dev eth0; dropped further on, or no way back)"},
		{"dropped ping", "{from: c1, ping: 198.51.100.183, timeout: 300ms}",
			func(n *kerneltest.Net, ns func(string) string) {
				n.Drop("", netip.MustParseAddrPort("198.51.100.183:0"))
			},
			"timed out after 300ms (node c1 sends it via 192.168.31.1 dev eth0; dropped further on, or no way back)"},
		{"dropped on-link", "{from: c2, ping: 192.168.32.1, timeout: 300ms}",
			func(n *kerneltest.Net, ns func(string) string) {
				n.Drop("", netip.MustParseAddrPort("192.168.32.1:0"))
			},
			"timed out after 300ms (node c2 sends it on-link on eth0; dropped further on, or no way back)"},
	}
	for _, tc := range tests {
		for _, expect := range []string{"ok", "fail"} {
			t.Run(tc.name+" expect "+expect, func(t *testing.T) {
				t.Parallel()
				c := strings.TrimSuffix(tc.check, "}") + ", expect: " + expect + "}"
				l := routedLab(t, c)
				n := fakeNet(l)
				if tc.setup != nil {
					tc.setup(n, func(node string) string { return state.NetNSName(l.Name, node) })
				}
				r := check.Run(context.Background(), n, l, l.Checks)[0]
				if r.Err != nil || r.Reached || r.Reason != tc.want {
					t.Fatalf("%s: err %v reached %v reason\n %q, want\n %q", r.Name, r.Err, r.Reached, r.Reason, tc.want)
				}
				if r.Passed != (expect == "fail") {
					t.Errorf("%s expect %s: passed %v", r.Name, expect, r.Passed)
				}
				if expect == "fail" && r.Detail() != "blocked as expected: "+tc.want {
					t.Errorf("detail %q", r.Detail())
				}
			})
		}
	}
}

// TestRunFakePingAgain: a ping check whose timeout is more than a second
// sends its echo again each second, so one lost request does not fail
// it; with the default timeout, or as a path check, it sends one. Each
// lost request costs the check a second.
func TestRunFakePingAgain(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, check string
		lost        int
		passed      bool
		took        time.Duration // at least
	}{
		{"one lost of three", "{from: c1, ping: 198.51.100.183, timeout: 3s}", 1, true, time.Second},
		{"two lost of three", "{from: c1, ping: 198.51.100.183, timeout: 3s}", 2, true, 2 * time.Second},
		{"all lost", "{from: c1, ping: 198.51.100.183, timeout: 2s}", 5, false, 2 * time.Second},
		{"one sent with the default timeout", "{from: c1, ping: 198.51.100.183}", 1, false, time.Second},
		{"responder check, one lost", "{from: c1, to: server, timeout: 3s}", 1, true, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := routedLab(t, tc.check)
			n := fakeNet(l)
			n.LoseNext(state.NetNSName(l.Name, "c1"), netip.MustParseAddr("198.51.100.183"), tc.lost)
			start := time.Now()
			r := check.Run(context.Background(), n, l, l.Checks)[0]
			took := time.Since(start)
			if r.Passed != tc.passed || took < tc.took {
				t.Errorf("%s with %d lost: passed %v (%s) after %s; want passed %v after at least %s", r.Name, tc.lost, r.Passed, r.Detail(), took.Round(time.Millisecond), tc.passed, tc.took)
			}
			if !tc.passed && !strings.Contains(r.Reason, "timed out after "+l.Checks[0].Timeout.String()) {
				t.Errorf("%s: reason %q, want the check's whole timeout", r.Name, r.Reason)
			}
		})
	}
}

// TestRunFakeNotRunning: a check from or to a node whose namespace is
// gone cannot run, and says how to fix it.
func TestRunFakeNotRunning(t *testing.T) {
	t.Parallel()
	l := routedLab(t, "{from: c1, to: server, proto: tcp, port: 80}", "{from: server, ping: 192.168.31.10}")
	n := fakeNet(l)
	n.DelNetNS(state.NetNSName(l.Name, "server"))
	for _, r := range check.Run(context.Background(), n, l, l.Checks) {
		want := "error: node server is not running: start the lab with netlab up"
		if r.Passed || r.Err == nil || r.Detail() != want {
			t.Errorf("%s: passed %v detail %q, want %q", r.Name, r.Passed, r.Detail(), want)
		}
	}
}
