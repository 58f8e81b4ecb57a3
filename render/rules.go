package render

import (
	"fmt"

	"netlab/lab"
	"netlab/lab/state"
)

// ruleNotes are a node's policy rules as ip rule lists them, each with
// its priority, in the file's order: "rule 1000: from 10.0.1.0/24
// lookup 101".
func ruleNotes(n *lab.Node) []string {
	var out []string
	for i, r := range n.Rules {
		sel := state.Rule{From: r.From, To: r.To, IIf: r.IIf, OIf: r.OIf, Mark: r.Mark, Mask: r.Mask}.Selector()
		out = append(out, fmt.Sprintf("rule %d:%s lookup %s", n.RulePriority(i), sel, tableName(r.Table)))
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
