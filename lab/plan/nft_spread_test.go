package plan_test

import (
	"slices"
	"testing"
)

// TestDNATSpread: a dnat to a list of targets becomes one rule per target,
// at prerouting and again at output, the i-th of n taking 1/(n-i) of what
// reaches it and the last the rest, as kube-proxy's iptables mode does.
func TestDNATSpread(t *testing.T) {
	s := desired(t, `name: t
nodes:
  a:
    interfaces:
      eth0: {kind: bridge, addresses: [10.0.0.1/24]}
    nat:
      - {action: dnat, in: eth0, proto: tcp, dport: 80, to: ["10.0.0.10:8080", "10.0.0.11:8080", "10.0.0.12:8080"]}
`)
	nft := s.Nodes["a"].NFT
	want := map[string][]string{
		"nat_prerouting": {
			`meta nfproto ipv4 iifname "eth0" tcp dport 80 numgen random mod 3 0 counter dnat ip to 10.0.0.10:8080`,
			`meta nfproto ipv4 iifname "eth0" tcp dport 80 numgen random mod 2 0 counter dnat ip to 10.0.0.11:8080`,
			`meta nfproto ipv4 iifname "eth0" tcp dport 80 counter dnat ip to 10.0.0.12:8080`,
		},
		"nat_output": {
			`meta nfproto ipv4 fib daddr type local tcp dport 80 numgen random mod 3 0 counter dnat ip to 10.0.0.10:8080`,
			`meta nfproto ipv4 fib daddr type local tcp dport 80 numgen random mod 2 0 counter dnat ip to 10.0.0.11:8080`,
			`meta nfproto ipv4 fib daddr type local tcp dport 80 counter dnat ip to 10.0.0.12:8080`,
		},
	}
	for chain, rules := range want {
		c := nft.Chain(chain)
		if c == nil {
			t.Fatalf("no chain %s", chain)
		}
		var got []string
		for _, r := range c.Rules {
			got = append(got, r.Text())
		}
		if !slices.Equal(got, rules) {
			t.Errorf("%s:\n got %q\nwant %q", chain, got, rules)
		}
	}
}
