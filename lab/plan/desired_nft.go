package plan

import (
	"net/netip"

	"netlab/lab"
	"netlab/lab/state"
)

// NodeNFT compiles a node's nat and firewall sections into its netlab
// table, or nil when it declares no rules. Chains sit at the hooks with the
// priorities of the classic tables: nat at dstnat (-100) for prerouting and
// output, srcnat (100) for postrouting; filter at 0.
func NodeNFT(n *lab.Node) *state.NFTable {
	chains := map[string]*state.NFChain{}
	chain := func(typ, hook string, prio int) *state.NFChain {
		name := typ + "_" + hook
		if c, ok := chains[name]; ok {
			return c
		}
		c := &state.NFChain{Name: name, Type: typ, Hook: hook, Priority: prio, Policy: lab.FilterAccept}
		chains[name] = c
		return c
	}
	add := func(c *state.NFChain, r *state.NFRule) {
		r.Tag = state.RuleTag(r.Text())
		c.Rules = append(c.Rules, r)
	}
	for _, r := range n.NAT {
		base := state.NFRule{
			Source: r.Source, Destination: r.Destination, In: r.In, Out: r.Out, Proto: r.Proto, DPort: r.DPort,
			Action: r.Action, ToAddr: r.ToAddr, ToPort: r.ToPort, Origin: r.Pos.String(),
		}
		switch r.Action {
		case lab.NATMasquerade, lab.NATSNAT:
			rule := base
			add(chain("nat", "postrouting", state.PrioritySrcNAT), &rule)
		case lab.NATDNAT, lab.NATRedirect:
			for _, rule := range spread(base, r.Targets) {
				pre := rule
				add(chain("nat", "prerouting", state.PriorityDstNAT), &pre)
			}
			// The node's own traffic never enters prerouting: the output
			// hook translates it too, as Docker's port publishing does. It
			// has no incoming interface, so a rule bound to one applies to
			// packets for the node's own addresses instead.
			for _, rule := range spread(base, r.Targets) {
				out := rule
				if out.In != "" {
					out.In = ""
					out.LocalDst = !out.Destination.IsValid()
				}
				add(chain("nat", "output", state.PriorityDstNAT), &out)
			}
		}
	}
	if n.Firewall != nil {
		for _, c := range n.Firewall.Chains {
			sc := chain("filter", c.Hook, state.PriorityFilter)
			sc.Policy = c.Policy
			for _, r := range c.Rules {
				add(sc, &state.NFRule{
					Source: r.Source, Destination: r.Destination, In: r.In, Out: r.Out, Proto: r.Proto, DPort: r.DPort,
					State: r.State, Action: r.Action, LogPrefix: r.Prefix, Origin: r.Pos.String(),
				})
			}
		}
	}
	if len(chains) == 0 {
		return nil
	}
	t := &state.NFTable{}
	for _, c := range chains {
		t.Chains = append(t.Chains, c)
	}
	state.SortChains(t.Chains)
	return t
}

// spread compiles a dnat to several targets as kube-proxy's iptables mode
// does: one rule per target, the i-th of n taking a packet that reaches it
// with probability 1/(n-i), so that each target gets 1/n of the new
// connections; the last takes whatever is left. With no list, the rule
// is base itself.
func spread(base state.NFRule, targets []netip.AddrPort) []state.NFRule {
	if len(targets) == 0 {
		return []state.NFRule{base}
	}
	out := make([]state.NFRule, len(targets))
	for i, t := range targets {
		r := base
		r.ToAddr, r.ToPort = t.Addr(), t.Port()
		if left := len(targets) - i; left > 1 {
			r.RandomMod = uint32(left)
		}
		out[i] = r
	}
	return out
}
