package validate

import (
	"fmt"
	"net/netip"
	"strings"

	"netlab/lab"
)

func (v *validator) nat() {
	for _, n := range v.lab.Nodes {
		for _, r := range n.NAT {
			v.natRule(n, r)
		}
	}
}

func (v *validator) natRule(n *lab.Node, r *lab.NATRule) {
	if !r.Has("action") {
		v.diags.Hintf(r.Pos, "add action: masquerade, snat, dnat or redirect", "nat rule of node %q has no action", n.Name)
		return
	}
	switch r.Action {
	case lab.NATMasquerade:
		if r.Has("to") {
			v.diags.Hintf(r.At("to"), "remove to, or use snat to choose the address", "masquerade takes no to: it uses the outgoing interface's address")
		}
	case lab.NATSNAT, lab.NATDNAT:
		if !r.Has("to") {
			v.diags.Hintf(r.Pos, "add to: IP or IP:PORT", "%s rule of node %q has no to", r.Action, n.Name)
		}
	case lab.NATRedirect:
		if !r.Has("to") {
			v.diags.Hintf(r.Pos, "add to: PORT, the local port to redirect to", "redirect rule of node %q has no to", n.Name)
		}
	}
	port := r.ToPort
	if len(r.Targets) > 0 {
		port = r.Targets[0].Port() // labfile made them alike
	}
	if port != 0 && r.Proto != "tcp" && r.Proto != "udp" && r.Usable("to") {
		v.diags.Hintf(r.At("to"), "add proto: tcp or proto: udp", "%s to a port needs proto tcp or udp", r.Action)
	}
	// dnat and redirect run at prerouting and output, before the routing
	// decision, so the outgoing interface is not known yet.
	if (r.Action == lab.NATDNAT || r.Action == lab.NATRedirect) && r.Has("out") {
		v.diags.Hintf(r.At("out"), "match on in instead", "%s runs before routing, where the outgoing interface is not known", r.Action)
	}
	v.match(n, &r.Match, r.Src, "nat rule")
	to := r.ToAddr
	if len(r.Targets) > 0 {
		to = r.Targets[0].Addr()
	}
	fam := familyOf(r.Source, r.Destination, to)
	if fam == mixed {
		v.diags.Hintf(r.Pos, "use addresses of one family in a rule", "nat rule mixes IPv4 and IPv6 addresses")
	}
}

// match checks what is common to NAT and filter rules: ports need a
// protocol that has them, and interfaces must belong to the node.
func (v *validator) match(n *lab.Node, m *lab.Match, src lab.Src, what string) {
	if m.DPort != 0 && m.Proto != "tcp" && m.Proto != "udp" && src.Usable("dport") {
		v.diags.Hintf(src.At("dport"), "add proto: tcp or proto: udp", "%s matches dport but not a protocol with ports", what)
	}
	for _, f := range []struct{ field, name string }{{"in", m.In}, {"out", m.Out}} {
		if !src.Usable(f.field) {
			continue
		}
		if f.name != "lo" && n.Interface(f.name) == nil {
			v.diags.Hintf(src.At(f.field), "name an interface of the node", "%s %s %q is not an interface of node %q", what, f.field, f.name, n.Name)
		} else if p := nftNameProblem(f.name); p != "" {
			v.diags.Hintf(src.At(f.field), "rename the interface", "%s %s %q %s", what, f.field, f.name, p)
		}
	}
	if fam := familyOf(m.Source, m.Destination, netip.Addr{}); fam == mixed {
		v.diags.Hintf(src.Pos, "use addresses of one family in a rule", "%s mixes IPv4 and IPv6 addresses", what)
	}
}

type family int

const (
	anyFamily family = iota
	ipv4
	ipv6
	mixed
)

func familyOf(src, dst netip.Prefix, to netip.Addr) family {
	f := anyFamily
	add := func(is4 bool) {
		g := ipv6
		if is4 {
			g = ipv4
		}
		switch f {
		case anyFamily:
			f = g
		case g:
		default:
			f = mixed
		}
	}
	if src.IsValid() {
		add(src.Addr().Is4())
	}
	if dst.IsValid() {
		add(dst.Addr().Is4())
	}
	if to.IsValid() {
		add(to.Is4())
	}
	return f
}

func (v *validator) firewalls() {
	for _, n := range v.lab.Nodes {
		if n.Firewall == nil {
			continue
		}
		for _, c := range n.Firewall.Chains {
			for _, r := range c.Rules {
				v.filterRule(n, c, r)
			}
		}
	}
}

// MaxLogPrefix is the longest log prefix the kernel takes (NF_LOG_PREFIXLEN
// less its terminating NUL).
const MaxLogPrefix = 127

func (v *validator) filterRule(n *lab.Node, c *lab.Chain, r *lab.FilterRule) {
	what := fmt.Sprintf("%s rule", c.Hook)
	if !r.Has("action") {
		v.diags.Hintf(r.Pos, "add action: accept, drop, reject, log or count", "%s of node %q has no action", what, n.Name)
	}
	if len(r.Prefix) > MaxLogPrefix {
		v.diags.Hintf(r.At("prefix"), "shorten it", "log prefix is %d bytes, the kernel allows %d", len(r.Prefix), MaxLogPrefix)
	}
	if p := logPrefixProblem(r.Prefix); p != "" {
		v.diags.Hintf(r.At("prefix"), "write the prefix without it", "log prefix %q %s", clip(r.Prefix), p)
	}
	if r.Has("prefix") && r.Action != lab.FilterLog {
		v.diags.Hintf(r.At("prefix"), "set action: log, or remove prefix", "prefix applies only to a log rule")
	}
	// input sees packets for this node (no outgoing interface yet), output
	// sees its own packets (no incoming interface).
	if c.Hook == "input" && r.Has("out") {
		v.diags.Hintf(r.At("out"), "match on in, or move the rule to forward", "the input chain has no outgoing interface")
	}
	if c.Hook == "output" && r.Has("in") {
		v.diags.Hintf(r.At("in"), "match on out, or move the rule to forward", "the output chain has no incoming interface")
	}
	v.match(n, &r.Match, r.Src, what)
}

// nftNameProblem says why nft could not write a rule matching this
// interface name, or "". nft reads a quoted string byte for byte with no
// escape, so a '"' cannot be in one; and it takes a trailing '*' as a
// wildcard, whose escape "\*" makes it drop every other '\' of the name.
// netlab itself writes rules through netlink, but render --format script
// and the plan show them in nft's syntax, which must rebuild them exactly.
func nftNameProblem(name string) string {
	switch {
	case strings.Contains(name, `"`):
		return `contains '"', which nft cannot write in a rule`
	case strings.HasSuffix(name, "*") && strings.Contains(name, `\`):
		return `ends in '*' and contains '\', which nft cannot write together in a rule`
	}
	return ""
}

// logPrefixProblem says why nft could not write this log prefix, or "":
// no escape lets a '"' into its quoted string, nft expands a '$' as a
// variable there, and a control character would forge or break the kernel
// log's lines.
func logPrefixProblem(prefix string) string {
	for _, r := range prefix {
		switch {
		case r == '"':
			return `contains '"', which nft cannot write in a log prefix`
		case r == '$':
			return "contains '$', which nft reads as a variable in a log prefix"
		case r < ' ' || r == 0x7f:
			return fmt.Sprintf("contains the control character %q, which would break the log's lines", r)
		}
	}
	return ""
}
