package plan

import (
	"netlab/lab"
	"netlab/lab/state"
)

// Rule is a policy routing rule (ip rule).
const Rule Object = "rule"

// desiredRules is a node's rules as the kernel will hold them: each with
// its priority (the default from its place when the file gives none),
// table main as 254, and a rule with neither from nor to made for IPv4
// and for IPv6 both (it matches by interface or mark, which both
// families have).
func desiredRules(n *lab.Node) []state.Rule {
	var out []state.Rule
	for i, r := range n.Rules {
		sr := state.Rule{From: r.From, To: r.To, IIf: r.IIf, OIf: r.OIf, Mark: r.Mark, Mask: r.Mask,
			Table: r.Table, Priority: n.RulePriority(i), Owned: true}
		switch {
		case r.From.IsValid():
			sr.IPv6 = r.From.Addr().Is6()
		case r.To.IsValid():
			sr.IPv6 = r.To.Addr().Is6()
		default:
			v6 := sr
			v6.IPv6 = true
			out = append(out, v6)
		}
		out = append(out, sr)
	}
	state.SortRules(out)
	return out
}

// rules plans the rules to add and those of netlab's to remove. A rule
// is its whole text: one that differs is a delete and an add, as the
// kernel has no replace for rules. Rules without netlab's mark (a
// person's, the kernel's) are never touched, not even by prune: a rule
// is not a lab's object unless netlab made it.
func (d *differ) rules(want, have *state.Node) {
	owned := make(map[string]bool, len(have.Rules))
	for _, r := range have.Rules {
		if r.Owned {
			owned[r.Key()] = true
		}
	}
	wanted := make(map[string]bool, len(want.Rules))
	for _, w := range want.Rules {
		k := w.Key()
		wanted[k] = true
		if !owned[k] {
			d.add(&Change{Action: Create, Object: Rule, Node: want.Name, NetNS: want.NetNS, Name: k, Rule: w})
		}
	}
	for _, h := range have.Rules {
		if !h.Owned {
			continue
		}
		if k := h.Key(); !wanted[k] {
			d.add(&Change{Action: Delete, Object: Rule, Node: want.Name, NetNS: want.NetNS, Name: k, OldRule: h})
		}
	}
}
