package trace

import (
	"slices"
	"strings"

	"netlab/lab"
)

// NAT kinds of a Path.
const (
	NATNone = "none"
	NATSNAT = "snat"
	NATDNAT = "dnat"
	NATBoth = "both"
)

// Path sums up the request's way: the nodes it crossed between From and
// the node it ended at (delivered to, dropped by, or seen last at), each
// once per visit and in order; the translations it underwent (a source
// that changed: snat; a destination: dnat); and how it ended.
func (r *Result) Path() Path {
	p := Path{From: r.From, To: r.To, Proto: r.Proto, Via: []string{}, NAT: NATNone}
	w := r.Request
	if w == nil {
		return p
	}
	p.End = w.End.What
	if w.End.What == "dropped" {
		p.DroppedAt = w.End.Node
	}
	if p.To == "" && w.End.What == "delivered" {
		p.To = w.End.Node
	}
	var nodes []string
	var snat, dnat bool
	for _, s := range w.Steps {
		if len(nodes) == 0 || nodes[len(nodes)-1] != s.Node {
			nodes = append(nodes, s.Node)
		}
		if s.Before != nil && s.After != nil {
			snat = snat || s.Before.Src != s.After.Src
			dnat = dnat || s.Before.Dst != s.After.Dst
		}
	}
	// The way starts at From and ends at its end's node: Via is what
	// lies between.
	if len(nodes) > 0 && nodes[0] == r.From {
		nodes = nodes[1:]
	}
	if end := w.End.Node; len(nodes) > 0 && end != "" && nodes[len(nodes)-1] == end {
		nodes = nodes[:len(nodes)-1]
	}
	p.Via = append(p.Via, nodes...)
	switch {
	case snat && dnat:
		p.NAT = NATBoth
	case snat:
		p.NAT = NATSNAT
	case dnat:
		p.NAT = NATDNAT
	}
	return p
}

// CheckPath compares the path r's request took with what the path check
// c asserts (Via when given, NAT, DroppedAt) and, when they differ, says
// which parts did, as "path via host, router; want via host".
func CheckPath(r *Result, c *lab.Check) (ok bool, reason string) {
	reason = r.Path().Differs(c)
	return reason == "", reason
}

// Differs compares p with what the path check c asserts: "" when every
// part c gives agrees, else the reason, naming each part that differs.
func (p Path) Differs(c *lab.Check) string {
	var diffs []string
	if c.ViaGiven && !slices.Equal(p.Via, c.Via) {
		diffs = append(diffs, "path via "+viaText(p.Via)+"; want via "+viaText(c.Via))
	}
	if c.NAT != "" && p.NAT != c.NAT {
		diffs = append(diffs, "path nat "+p.NAT+"; want nat "+c.NAT)
	}
	if c.DroppedAt != "" && p.DroppedAt != c.DroppedAt {
		diffs = append(diffs, "path "+p.endText()+"; want dropped at "+c.DroppedAt)
	}
	return strings.Join(diffs, "; ")
}

func viaText(nodes []string) string {
	if len(nodes) == 0 {
		return "no node (direct)"
	}
	return strings.Join(nodes, ", ")
}

// endText says how the path ended, for a reason.
func (p Path) endText() string {
	switch p.End {
	case "dropped":
		return "dropped at " + p.DroppedAt
	case "delivered":
		if p.To != "" {
			return "delivered to " + p.To
		}
		return "delivered"
	case "":
		return "not traced"
	}
	return p.End
}
