package render

import (
	"fmt"

	"netlab/lab"
)

// ruleNotes are a node's policy rules as ip rule lists them, each with
// its priority, in the file's order: "rule 1000: from 10.0.1.0/24
// lookup 101".
func ruleNotes(n *lab.Node) []string {
	var out []string
	for i, r := range n.Rules {
		prio := r.Priority
		if !r.Has("priority") {
			prio = lab.DefaultRulePriority(i)
		}
		s := fmt.Sprintf("rule %d:", prio)
		if r.From.IsValid() {
			s += " from " + r.From.String()
		}
		if r.To.IsValid() {
			s += " to " + r.To.String()
		}
		if r.IIf != "" {
			s += " iif " + r.IIf
		}
		if r.OIf != "" {
			s += " oif " + r.OIf
		}
		if r.HasMark() {
			if r.Mask == 0xffffffff {
				s += fmt.Sprintf(" fwmark %#x", r.Mark)
			} else {
				s += fmt.Sprintf(" fwmark %#x/%#x", r.Mark, r.Mask)
			}
		}
		if !r.From.IsValid() && !r.To.IsValid() && r.IIf == "" && r.OIf == "" && !r.HasMark() {
			s += " from all"
		}
		out = append(out, s+fmt.Sprintf(" lookup %s", tableName(r.Table)))
	}
	return out
}

// tableName is a table as ip writes it: main for 254.
func tableName(t uint32) string {
	if t == lab.TableMain {
		return "main"
	}
	return fmt.Sprint(t)
}
