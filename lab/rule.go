package lab

import "net/netip"

// TableMain is the kernel's main routing table, where a route without
// table: goes and which the kernel's default rule at priority 32766 reads.
const TableMain = 254

// Rule is a policy routing rule of a node (ip rule): packets it matches
// are looked up in Table. Fields left out match everything.
type Rule struct {
	Src
	From     netip.Prefix // source prefix, or invalid
	To       netip.Prefix // destination prefix, or invalid
	IIf      string       // input interface, or ""
	OIf      string       // output interface (of a socket bound to it), or ""
	Mark     uint32       // fwmark; meaningful when Mask is not 0
	Mask     uint32       // fwmark mask; 0 when the rule matches no fwmark
	Table    uint32
	Priority uint32 // 0 when not written: see DefaultRulePriority
}

// HasMark reports whether the rule matches a firewall mark.
func (r *Rule) HasMark() bool { return r.Mask != 0 }

// DefaultRulePriority is the priority of the i-th rule (from 0, file
// order) of a node that does not write one: from 1000 up, so rules
// without priority are tried in the order the file lists them, after
// the kernel's own rule 0 (local) and before its 32766 (main).
func DefaultRulePriority(i int) uint32 { return 1000 + uint32(i) }

// RulePriority is the priority of the node's i-th rule: the one it
// writes, or DefaultRulePriority(i) when it writes none.
func (n *Node) RulePriority(i int) uint32 {
	if r := n.Rules[i]; r.Has("priority") {
		return r.Priority
	}
	return DefaultRulePriority(i)
}
