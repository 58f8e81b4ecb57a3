package validate

import (
	"fmt"

	"netlab/lab"
)

// rules checks each node's policy routing rules: a table, one family,
// interfaces the node has, and no rule twice.
func (v *validator) rules() {
	for _, n := range v.lab.Nodes {
		seen := make(map[string]int)
		for _, r := range n.Rules {
			v.rule(n, r)
			if r.Usable("table") && len(r.Bad) == 0 { // a broken field reads as left out
				k := ruleKey(r)
				if line, dup := seen[k]; dup {
					v.diags.Hintf(r.Pos, fmt.Sprintf("the rule at line %d is the same: remove one", line),
						"rule %s is declared twice in node %q", k, n.Name)
					continue
				}
				seen[k] = r.Pos.Line
			}
		}
	}
}

func (v *validator) rule(n *lab.Node, r *lab.Rule) {
	if !r.Has("table") {
		v.diags.Hintf(r.Pos, "add table: N, the routing table the rule sends packets to", "rule of node %q has no table", n.Name)
	}
	if r.From.IsValid() && r.To.IsValid() && r.From.Addr().Is4() != r.To.Addr().Is4() {
		v.diags.Hintf(r.At("to"), "use a from and a to of the same IP family, or two rules", "rule from %s to %s mixes IPv4 and IPv6", r.From, r.To)
	}
	for _, f := range []struct{ field, name string }{{"iif", r.IIf}, {"oif", r.OIf}} {
		if !r.Usable(f.field) || f.name == "lo" {
			continue
		}
		if n.Interface(f.name) == nil {
			v.diags.Hintf(r.At(f.field), "name an interface of the node, or lo", "rule %s %q is not an interface of node %q", f.field, f.name, n.Name)
		}
	}
}

// ruleKey is what makes a rule the same as another: everything it
// matches, its table and its priority. Two rules that both leave
// priority out are the same when the rest is: the second could never
// match a packet the first did not take.
func ruleKey(r *lab.Rule) string {
	k := "priority (default)"
	if r.Has("priority") {
		k = fmt.Sprintf("priority %d", r.Priority)
	}
	if r.From.IsValid() {
		k += " from " + r.From.String()
	}
	if r.To.IsValid() {
		k += " to " + r.To.String()
	}
	if r.IIf != "" {
		k += " iif " + r.IIf
	}
	if r.OIf != "" {
		k += " oif " + r.OIf
	}
	if r.HasMark() {
		k += fmt.Sprintf(" fwmark %#x/%#x", r.Mark, r.Mask)
	}
	return k + fmt.Sprintf(" table %d", r.Table)
}
