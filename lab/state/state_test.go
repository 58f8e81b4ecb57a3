package state

import (
	"net/netip"
	"testing"
)

func TestNetNSName(t *testing.T) {
	name := NetNSName("single-ip", "c1")
	if name != "single-ip.c1" {
		t.Fatalf("NetNSName = %q", name)
	}
	lab, node, ok := SplitNetNSName(name)
	if !ok || lab != "single-ip" || node != "c1" {
		t.Errorf("SplitNetNSName(%q) = %q, %q, %v", name, lab, node, ok)
	}
	for _, bad := range []string{"nodot", ".c1", "lab.", "a.b.c", "", "lab.HX", "lab.a b", "lab.a\nb", "../x.c1", "lab.a/b", "lab.abcdefghijklm"} {
		if _, _, ok := SplitNetNSName(bad); ok {
			t.Errorf("SplitNetNSName(%q) accepted a name netlab never makes", bad)
		}
	}
}

func TestLinkMarker(t *testing.T) {
	tests := []struct {
		alias     string
		lab, peer string
		ok        bool
	}{
		{LinkMarker("web", ""), "web", "", true},
		{LinkMarker("web", "c1:veth0"), "web", "c1:veth0", true},
		{"netlab:", "", "", false},
		{"someone else's", "", "", false},
		{"", "", "", false},
	}
	for _, tc := range tests {
		lab, peer, ok := ParseLinkMarker(tc.alias)
		if lab != tc.lab || peer != tc.peer || ok != tc.ok {
			t.Errorf("ParseLinkMarker(%q) = %q, %q, %v; want %q, %q, %v", tc.alias, lab, peer, ok, tc.lab, tc.peer, tc.ok)
		}
	}
}

// pair builds a node with one veth end.
func pair(s *State, node, name string, index int, peer string, peerIndex int) {
	n := s.Nodes[node]
	if n == nil {
		n = NewNode(node, NetNSName(s.Lab, node))
		s.Nodes[node] = n
	}
	n.Links[name] = &Link{Name: name, Kind: "veth", Owned: true, Peer: peer, Index: index, PeerIndex: peerIndex}
}

func TestResolvePeers(t *testing.T) {
	s := New("l")
	pair(s, "a", "eth0", 2, "b:eth0", 7)
	pair(s, "b", "eth0", 7, "a:eth0", 2)
	// A claim the kernel's indexes do not back: c:eth0 says its peer is
	// d:eth0, but d:eth0 points at another index.
	pair(s, "c", "eth0", 3, "d:eth0", 4)
	pair(s, "d", "eth0", 4, "c:eth0", 9)
	ResolvePeers(s)
	if got := s.Nodes["a"].Links["eth0"].Peer; got != "b:eth0" {
		t.Errorf("a whole pair lost its peer: %q", got)
	}
	if got := s.Nodes["c"].Links["eth0"].Peer; got != "" {
		t.Errorf("a claim the indexes contradict was kept: %q", got)
	}
}

func TestRuleText(t *testing.T) {
	tests := []struct {
		r    NFRule
		want string
	}{
		{NFRule{Source: netip.MustParsePrefix("192.168.31.0/24"), Out: "eth0", Action: "masquerade"},
			`ip saddr 192.168.31.0/24 oifname "eth0" counter masquerade`},
		{NFRule{In: "eth0", Proto: "tcp", DPort: 8080, Action: "dnat", ToAddr: netip.MustParseAddr("192.168.31.10"), ToPort: 80},
			`meta nfproto ipv4 iifname "eth0" tcp dport 8080 counter dnat ip to 192.168.31.10:80`},
		{NFRule{Proto: "tcp", DPort: 53, Action: "dnat", ToAddr: netip.MustParseAddr("2001:db8::1"), ToPort: 5353},
			`meta nfproto ipv6 tcp dport 53 counter dnat ip6 to [2001:db8::1]:5353`},
		{NFRule{State: []string{"related", "established"}, Action: "accept"}, `ct state established,related counter accept`},
		{NFRule{Proto: "icmp", Action: "count"}, `meta l4proto { icmp, ipv6-icmp } counter`},
		{NFRule{Destination: netip.MustParsePrefix("2001:db8::/64"), Proto: "icmp", Action: "drop"},
			`ip6 daddr 2001:db8::/64 meta l4proto ipv6-icmp counter drop`},
		{NFRule{Source: netip.MustParsePrefix("192.0.2.0/24"), Proto: "icmp", Action: "drop"},
			`ip saddr 192.0.2.0/24 meta l4proto icmp counter drop`},
		{NFRule{Action: "log", LogPrefix: "in: "}, `counter log prefix "in: "`},
		{NFRule{Destination: netip.MustParsePrefix("2001:db8::/48"), Action: "reject"}, `ip6 daddr 2001:db8::/48 counter reject with icmpv6 port-unreachable`},
		{NFRule{Action: "redirect", Proto: "tcp", DPort: 80, ToPort: 8080}, `tcp dport 80 counter redirect to :8080`},
		// One rule of a dnat spread over several targets: nft lists the
		// comparison with 0 without its ==.
		{NFRule{Destination: netip.MustParsePrefix("10.96.0.10/32"), Proto: "tcp", DPort: 80, RandomMod: 2, Action: "dnat",
			ToAddr: netip.MustParseAddr("10.244.1.10"), ToPort: 8080},
			`ip daddr 10.96.0.10 tcp dport 80 numgen random mod 2 0 counter dnat ip to 10.244.1.10:8080`},
		{NFRule{State: []string{"new"}, RandomMod: 3, Action: "dnat", ToAddr: netip.MustParseAddr("2001:db8::1")},
			`meta nfproto ipv6 ct state new numgen random mod 3 0 counter dnat ip6 to 2001:db8::1`},
	}
	for _, tc := range tests {
		if got := tc.r.Text(); got != tc.want {
			t.Errorf("Text() = %q, want %q", got, tc.want)
		}
	}
	a, b := RuleTag("x"), RuleTag("y")
	if a == b || len(a) != len("netlab-")+12 {
		t.Errorf("RuleTag gives %q and %q", a, b)
	}
}
