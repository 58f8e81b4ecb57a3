package kernel

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"

	"netlab/lab/state"
)

// TestRuleFamily compiles every kind of rule with an address of each
// family, and with none: a rule with an IPv4 (IPv6) address, matched or
// translated to, starts by matching meta nfproto ipv4 (ipv6), and its text
// says so where nft would not add the check itself; a rule without an
// address matches no family and counts both.
func TestRuleFamily(t *testing.T) {
	v4, v6 := netip.MustParseAddr("192.0.2.9"), netip.MustParseAddr("2001:db8::9")
	p4, p6 := netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8::/64")
	type rule struct {
		name string
		r    state.NFRule
		hook string
	}
	var rules []rule
	for _, fam := range []struct {
		name   string
		to     netip.Addr
		prefix netip.Prefix
	}{{"ipv4", v4, p4}, {"ipv6", v6, p6}} {
		rules = append(rules,
			rule{"dnat to " + fam.name, state.NFRule{In: "eth0", Proto: "tcp", DPort: 8080, Action: "dnat", ToAddr: fam.to, ToPort: 80}, "prerouting"},
			rule{"dnat spread to " + fam.name, state.NFRule{Proto: "tcp", DPort: 8080, Action: "dnat", ToAddr: fam.to, RandomMod: 2}, "prerouting"},
			rule{"dnat of " + fam.name + " destination", state.NFRule{Destination: fam.prefix, Action: "dnat", ToAddr: fam.to}, "prerouting"},
			rule{"snat to " + fam.name, state.NFRule{Out: "eth0", Action: "snat", ToAddr: fam.to}, "postrouting"},
			rule{"snat of " + fam.name + " source", state.NFRule{Source: fam.prefix, Action: "snat", ToAddr: fam.to}, "postrouting"},
			rule{"masquerade of " + fam.name + " source", state.NFRule{Source: fam.prefix, Action: "masquerade"}, "postrouting"},
			rule{"redirect of " + fam.name + " destination", state.NFRule{Destination: fam.prefix, Proto: "tcp", DPort: 80, Action: "redirect", ToPort: 3128}, "prerouting"},
			rule{"accept from " + fam.name, state.NFRule{Source: fam.prefix, Action: "accept"}, "input"},
			rule{"reject to " + fam.name, state.NFRule{Destination: fam.prefix, Proto: "tcp", DPort: 22, Action: "reject"}, "input"},
			rule{"log from " + fam.name, state.NFRule{Source: fam.prefix, Action: "log", LogPrefix: "x: "}, "input"},
		)
	}
	rules = append(rules,
		rule{"masquerade", state.NFRule{Out: "eth0", Action: "masquerade"}, "postrouting"},
		rule{"redirect", state.NFRule{In: "eth0", Proto: "tcp", DPort: 80, Action: "redirect", ToPort: 3128}, "prerouting"},
		rule{"accept", state.NFRule{In: "eth0", Action: "accept"}, "input"},
		rule{"reject", state.NFRule{Proto: "tcp", DPort: 22, Action: "reject"}, "input"},
		rule{"count", state.NFRule{Proto: "udp", DPort: 9, Action: "count"}, "input"},
	)
	for _, tc := range rules {
		t.Run(tc.name, func(t *testing.T) {
			exprs, err := ruleExprs(&tc.r, tc.hook)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]byte{"ip": unix.NFPROTO_IPV4, "ip6": unix.NFPROTO_IPV6}[tc.r.Family()]
			got, n := byte(0), 0
			for i, e := range exprs {
				if m, ok := e.(*expr.Meta); ok && m.Key == expr.MetaKeyNFPROTO {
					n++
					if i != 0 || len(exprs) < 2 {
						t.Fatalf("meta nfproto is expression %d of %d, want the first", i, len(exprs))
					}
					c, ok := exprs[1].(*expr.Cmp)
					if !ok || c.Op != expr.CmpOpEq || len(c.Data) != 1 {
						t.Fatalf("meta nfproto is followed by %#v, want cmp eq of one byte", exprs[1])
					}
					got = c.Data[0]
				}
			}
			if n > 1 {
				t.Errorf("%d nfproto matches, want at most one", n)
			}
			if got != want {
				t.Errorf("family matched: %d, want %d (0: none)", got, want)
			}
			hasAddrMatch := tc.r.Source.IsValid() || tc.r.Destination.IsValid()
			text := tc.r.Text()
			if says := strings.HasPrefix(text, "meta nfproto "); says != (want != 0 && !hasAddrMatch) {
				t.Errorf("text %q: says meta nfproto: %v, want %v (nft lists the check unless an address match implies it)", text, says, !says)
			}
			if want == 0 && strings.Contains(text, "nfproto") {
				t.Errorf("family-neutral rule %q matches a family", text)
			}
		})
	}
}
