package state

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"sort"
	"strings"
)

// NFTableName is the one nftables table netlab owns in a node, of family
// inet (IPv4 and IPv6 at once). Tables of any other name are never read or
// touched.
const NFTableName = "netlab"

// Chain priorities of the classic iptables tables, so that what a course
// teaches about hooks and tables maps one to one onto netlab's chains.
const (
	PriorityRaw    = -300
	PriorityMangle = -150
	PriorityDstNAT = -100
	PriorityFilter = 0
	PrioritySrcNAT = 100
)

// NFTable is a node's netlab table: its chains in a fixed order.
type NFTable struct {
	Chains []*NFChain
}

// NFChain is a base chain at one hook.
type NFChain struct {
	Name     string // <table>_<hook>, e.g. nat_prerouting, filter_forward
	Type     string // filter or nat
	Hook     string // prerouting, input, forward, output, postrouting
	Priority int
	Policy   string // accept or drop
	Rules    []*NFRule
}

// NFRule is one rule. Its identity is its text: the rule in nft syntax,
// which netlab also writes into the rule's comment as a short hash, so the
// observed table can be compared with the desired one without decoding
// expressions.
type NFRule struct {
	Source      netip.Prefix
	Destination netip.Prefix
	In, Out     string
	Proto       string // tcp, udp, icmp or ""
	DPort       uint16
	State       []string
	LocalDst    bool   // match only packets to one of the node's own addresses
	Action      string // accept, drop, reject, log, count, masquerade, snat, dnat, redirect
	// RandomMod N > 0 matches when `numgen random mod N` is 0, one packet
	// in N: the i-th of N dnat rules of a load-balanced service has N-i,
	// so each target gets 1/N of the connections (conntrack keeps the
	// rest of a connection on its target).
	RandomMod uint32
	ToAddr    netip.Addr
	ToPort    uint16
	LogPrefix string

	Origin string // desired: FILE:LINE:COL of the rule, for messages
	// Tag is the comment that identifies the rule in the kernel; observed
	// rules carry only their tag (and counters), desired ones both.
	Tag     string
	Packets uint64
	Bytes   uint64
	// Modified is set on an observed rule that carries a tag of the lab
	// but whose expressions are not what netlab wrote for it: edited by
	// hand, comment kept.
	Modified bool
}

// nfprotoName is how nft names a family in "meta nfproto".
var nfprotoName = map[string]string{"ip": "ipv4", "ip6": "ipv6"}

// L4Protos are the protocols the rule matches, as nft names them: proto
// icmp means the ICMP of the rule's family, as it does in a check, so
// ICMPv6 ("ipv6-icmp") in a rule of IPv6 addresses and ICMPv4 in one of
// IPv4 addresses; in a rule of no family, which the inet table runs on
// packets of both, it means both, as an anonymous set: meta l4proto {
// icmp, ipv6-icmp }.
func (r *NFRule) L4Protos() []string {
	if r.Proto != "icmp" {
		return []string{r.Proto}
	}
	switch r.Family() {
	case "ip":
		return []string{"icmp"}
	case "ip6":
		return []string{"ipv6-icmp"}
	}
	return []string{"icmp", "ipv6-icmp"}
}

// Family is "ip" or "ip6" when the rule names addresses, or "": a rule
// with an address matches only packets of its family, one without is
// family-neutral in the inet table.
func (r *NFRule) Family() string {
	for _, a := range []netip.Addr{r.Source.Addr(), r.Destination.Addr(), r.ToAddr} {
		if a.IsValid() {
			if a.Is4() {
				return "ip"
			}
			return "ip6"
		}
	}
	return ""
}

// conntrack state names in nft's order of listing.
var ctStateOrder = []string{"invalid", "established", "related", "new", "untracked"}

// Label is how a rule is shown: its nft text when it is known (from the
// lab file or the last up's record, see AnnotateRules), else its tag.
func (r *NFRule) Label() string {
	if r.Action != "" {
		return r.Text()
	}
	if r.Tag == "" {
		return "(a rule netlab did not write)"
	}
	return r.Tag
}

// Text is the rule in nft syntax, as `nft list table` shows it (without
// counter values and comment).
func (r *NFRule) Text() string {
	var parts []string
	fam := r.Family()
	if fam != "" && !r.Source.IsValid() && !r.Destination.IsValid() {
		// A rule of one family that matches no address of it (a dnat or
		// snat to one): without this it would count, in the inet table,
		// the packets of the other family too.
		parts = append(parts, "meta nfproto "+nfprotoName[fam])
	}
	if r.Source.IsValid() {
		parts = append(parts, fmt.Sprintf("%s saddr %s", fam, prefixText(r.Source)))
	}
	if r.Destination.IsValid() {
		parts = append(parts, fmt.Sprintf("%s daddr %s", fam, prefixText(r.Destination)))
	}
	if r.LocalDst {
		parts = append(parts, "fib daddr type local")
	}
	if r.In != "" {
		parts = append(parts, "iifname "+nftIfName(r.In))
	}
	if r.Out != "" {
		parts = append(parts, "oifname "+nftIfName(r.Out))
	}
	switch {
	case r.DPort != 0:
		parts = append(parts, fmt.Sprintf("%s dport %d", r.Proto, r.DPort))
	case r.Proto != "":
		protos := r.L4Protos()
		if len(protos) == 1 {
			parts = append(parts, "meta l4proto "+protos[0])
		} else {
			parts = append(parts, "meta l4proto { "+strings.Join(protos, ", ")+" }")
		}
	}
	if len(r.State) > 0 {
		var states []string
		for _, s := range ctStateOrder {
			for _, want := range r.State {
				if want == s {
					states = append(states, s)
					break
				}
			}
		}
		parts = append(parts, "ct state "+strings.Join(states, ","))
	}
	if r.RandomMod > 0 {
		// nft lists the implied == of the comparison as nothing.
		parts = append(parts, fmt.Sprintf("numgen random mod %d 0", r.RandomMod))
	}
	parts = append(parts, "counter")
	switch r.Action {
	case "count":
	case "log":
		if r.LogPrefix != "" {
			parts = append(parts, "log prefix "+nftString(r.LogPrefix))
		} else {
			parts = append(parts, "log")
		}
	case "snat", "dnat":
		to := r.ToAddr.String()
		if r.ToPort != 0 {
			if r.ToAddr.Is6() {
				to = "[" + to + "]"
			}
			to = fmt.Sprintf("%s:%d", to, r.ToPort)
		}
		parts = append(parts, fmt.Sprintf("%s %s to %s", r.Action, r.Family(), to))
	case "redirect":
		parts = append(parts, fmt.Sprintf("redirect to :%d", r.ToPort))
	case "reject":
		if fam == "ip6" && (r.Source.IsValid() || r.Destination.IsValid()) {
			parts = append(parts, "reject with icmpv6 port-unreachable")
		} else {
			parts = append(parts, "reject")
		}
	default:
		parts = append(parts, r.Action)
	}
	return strings.Join(parts, " ")
}

// nftString is a string as nft reads it between double quotes, where
// every byte stands for itself: nft has no escape there, so a string with
// a '"' cannot be written at all (validate refuses one), nor a log prefix
// with a '$', which nft takes for a variable.
func nftString(s string) string { return `"` + s + `"` }

// nftIfName is an interface name as nft matches it exactly: a trailing
// '*' would make it a wildcard, so it is escaped as nft lists it.
func nftIfName(name string) string {
	if strings.HasSuffix(name, "*") {
		return nftString(name[:len(name)-1] + `\*`)
	}
	return nftString(name)
}

func prefixText(p netip.Prefix) string {
	if p.Bits() == p.Addr().BitLen() {
		return p.Addr().String()
	}
	return p.String()
}

// RuleTag is the comment that identifies a rule of the given text in the
// kernel: "netlab-" and the first 12 hex digits of the text's SHA-256.
func RuleTag(text string) string {
	sum := sha256.Sum256([]byte(text))
	return "netlab-" + hex.EncodeToString(sum[:6])
}

// Chain returns the chain of that name, or nil.
func (t *NFTable) Chain(name string) *NFChain {
	if t == nil {
		return nil
	}
	for _, c := range t.Chains {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Signature is the table's identity for the diff: chains, their hooks,
// priorities and policies, and the tags of their rules, in order.
func (t *NFTable) Signature() string {
	if t == nil {
		return ""
	}
	var b strings.Builder
	for _, c := range t.Chains {
		fmt.Fprintf(&b, "%s %s %s %d %s:", c.Name, c.Type, c.Hook, c.Priority, c.Policy)
		for _, r := range c.Rules {
			b.WriteString(" " + r.Tag)
			if r.Modified {
				b.WriteString("(modified)")
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// Script is the table in nft syntax, as `nft -f` takes it.
func (t *NFTable) Script() string {
	var b strings.Builder
	fmt.Fprintf(&b, "table inet %s {\n", NFTableName)
	for _, c := range t.Chains {
		fmt.Fprintf(&b, "\tchain %s {\n\t\ttype %s hook %s priority %d; policy %s;\n", c.Name, c.Type, c.Hook, c.Priority, c.Policy)
		for _, r := range c.Rules {
			fmt.Fprintf(&b, "\t\t%s comment %q\n", r.Text(), r.Tag)
		}
		b.WriteString("\t}\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// SortChains puts chains in hook order, then by priority.
func SortChains(cs []*NFChain) {
	hookOrder := map[string]int{"prerouting": 0, "input": 1, "forward": 2, "output": 3, "postrouting": 4}
	sort.SliceStable(cs, func(i, j int) bool {
		if hookOrder[cs[i].Hook] != hookOrder[cs[j].Hook] {
			return hookOrder[cs[i].Hook] < hookOrder[cs[j].Hook]
		}
		return cs[i].Priority < cs[j].Priority
	})
}

// AnnotateRules fills in the definitions of observed rules, which the
// kernel gives netlab only as tags and counters, from a state that knows
// them (the last-applied record, or the lab file's desired state). Rules
// whose tag is unknown keep only their tag.
func AnnotateRules(observed, known *State) {
	if observed == nil || known == nil {
		return
	}
	for name, n := range observed.Nodes {
		kn := known.Nodes[name]
		if n.NFT == nil || kn == nil || kn.NFT == nil {
			continue
		}
		byTag := make(map[string]*NFRule)
		for _, c := range kn.NFT.Chains {
			for _, r := range c.Rules {
				byTag[r.Tag] = r
			}
		}
		for _, c := range n.NFT.Chains {
			for i, r := range c.Rules {
				if def, ok := byTag[r.Tag]; ok {
					full := *def
					full.Packets, full.Bytes = r.Packets, r.Bytes
					c.Rules[i] = &full
				}
			}
		}
	}
}
