package state

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Rule is a policy routing rule of a node (ip rule). It has no identity
// apart from its fields: the kernel has no "replace" for a rule, so a
// changed one is one deleted and one added. Owned is set in an observed
// state for a rule that carries RouteProtocol; the kernel's own rules
// (0 local, 32766 main, 32767 default) are never read.
type Rule struct {
	IPv6     bool
	Priority uint32
	From     netip.Prefix // invalid: any source
	To       netip.Prefix // invalid: any destination
	IIf      string
	OIf      string
	Mark     uint32
	Mask     uint32 // 0: no fwmark match
	Table    uint32 // never 0; main is 254 here, as ip rule shows it
	Owned    bool
}

// Key is the rule's identity within a node: all it matches and does.
func (r Rule) Key() string { return r.Text() }

// Family is "-4" or "-6", as ip takes it.
func (r Rule) Family() string {
	if r.IPv6 {
		return "-6"
	}
	return "-4"
}

// Text renders the rule as ip rule writes it, with its family first:
// "-4 priority 1000 from 10.1.0.0/24 lookup 100".
func (r Rule) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s priority %d", r.Family(), r.Priority)
	b.WriteString(r.Selector())
	fmt.Fprintf(&b, " lookup %d", r.Table)
	return b.String()
}

// Selector is what the rule matches, as ip rule's arguments, each with
// a leading space: " from 10.1.0.0/24 fwmark 0x10/0xff"; " from all"
// when it matches everything.
func (r Rule) Selector() string {
	var b strings.Builder
	if r.From.IsValid() {
		b.WriteString(" from " + r.From.String())
	}
	if r.To.IsValid() {
		b.WriteString(" to " + r.To.String())
	}
	if r.IIf != "" {
		b.WriteString(" iif " + r.IIf)
	}
	if r.OIf != "" {
		b.WriteString(" oif " + r.OIf)
	}
	if r.Mask != 0 {
		if r.Mask == 0xffffffff {
			fmt.Fprintf(&b, " fwmark %#x", r.Mark)
		} else {
			fmt.Fprintf(&b, " fwmark %#x/%#x", r.Mark, r.Mask)
		}
	}
	if b.Len() == 0 {
		return " from all"
	}
	return b.String()
}

// RuleAddCmd adds a rule, marked as netlab's.
func RuleAddCmd(netns string, r Rule) string {
	return fmt.Sprintf("%s %s rule add %s proto %d", ipCmd(netns), r.Family(), r.args(), RouteProtocol)
}

// RuleDelCmd deletes one of netlab's rules (proto 78: never another's).
func RuleDelCmd(netns string, r Rule) string {
	return fmt.Sprintf("%s %s rule del %s proto %d", ipCmd(netns), r.Family(), r.args(), RouteProtocol)
}

func (r Rule) args() string {
	if r.IIf != "" {
		r.IIf = q(r.IIf)
	}
	if r.OIf != "" {
		r.OIf = q(r.OIf)
	}
	return fmt.Sprintf("priority %d%s table %d", r.Priority, r.Selector(), r.Table)
}

// SortRules orders rules as the kernel tries them: by priority, then
// IPv4 before IPv6, then by text.
func SortRules(rs []Rule) {
	slices.SortStableFunc(rs, func(a, b Rule) int {
		if c := cmp.Compare(a.Priority, b.Priority); c != 0 {
			return c
		}
		if a.IPv6 != b.IPv6 {
			if a.IPv6 {
				return 1
			}
			return -1
		}
		return strings.Compare(a.Text(), b.Text())
	})
}
