package plan

import (
	"fmt"
	"net/netip"
	"strings"

	"netlab/lab"
	"netlab/lab/state"
)

// NFTables is the Object of a change to a node's netlab nftables table.
// The table is diffed as a whole and replaced in one atomic transaction.
const NFTables Object = "nftables"

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

// nft plans the node's table: replaced whole when anything differs.
func (d *differ) nft(want, have *state.Node) {
	w, h := want.NFT, have.NFT
	switch {
	case w == nil && h == nil:
	case w == nil:
		d.add(&Change{Action: Delete, Object: NFTables, Node: want.Name, NetNS: want.NetNS, Name: state.NFTableName, OldNFT: h})
	case h == nil:
		d.add(&Change{Action: Create, Object: NFTables, Node: want.Name, NetNS: want.NetNS, Name: state.NFTableName, NFT: w})
	case w.Signature() != h.Signature():
		d.add(&Change{Action: Update, Object: NFTables, Node: want.Name, NetNS: want.NetNS, Name: state.NFTableName, NFT: w, OldNFT: h,
			Attrs: nftAttrs(w, d.withLastTexts(want.Name, h))})
	}
}

// withLastTexts returns the observed table with the definitions of rules
// the last up wrote filled in from its record, so that a rule the file no
// longer has is shown as text rather than as its tag. The kernel keeps only
// the tag; h itself is not changed.
func (d *differ) withLastTexts(node string, h *state.NFTable) *state.NFTable {
	last := d.opts.LastApplied
	if last == nil || last.Nodes[node] == nil || last.Nodes[node].NFT == nil {
		return h
	}
	known := make(map[string]*state.NFRule)
	for _, c := range last.Nodes[node].NFT.Chains {
		for _, r := range c.Rules {
			known[r.Tag] = r
		}
	}
	out := &state.NFTable{}
	for _, c := range h.Chains {
		cc := *c
		cc.Rules = make([]*state.NFRule, len(c.Rules))
		for i, r := range c.Rules {
			cc.Rules[i] = r
			if def, ok := known[r.Tag]; ok && !r.Modified {
				full := *def
				full.Packets, full.Bytes = r.Packets, r.Bytes
				cc.Rules[i] = &full
			}
		}
		out.Chains = append(out.Chains, &cc)
	}
	return out
}

// nftAttrs says what differs between two tables, rule by rule, in nft
// syntax where the rule's text is known.
func nftAttrs(w, h *state.NFTable) []AttrChange {
	var out []AttrChange
	for _, wc := range w.Chains {
		hc := h.Chain(wc.Name)
		if hc == nil {
			out = append(out, AttrChange{"chain " + wc.Name, "(none)", fmt.Sprintf("%s hook %s priority %d; policy %s", wc.Type, wc.Hook, wc.Priority, wc.Policy)})
			for _, r := range wc.Rules {
				out = append(out, AttrChange{"chain " + wc.Name + " rule", "(none)", r.Text()})
			}
			continue
		}
		if wc.Policy != hc.Policy {
			out = append(out, AttrChange{"chain " + wc.Name + " policy", hc.Policy, wc.Policy})
		}
		if wc.Hook != hc.Hook || wc.Priority != hc.Priority || wc.Type != hc.Type {
			out = append(out, AttrChange{"chain " + wc.Name, fmt.Sprintf("%s %s %d", hc.Type, hc.Hook, hc.Priority), fmt.Sprintf("%s %s %d", wc.Type, wc.Hook, wc.Priority)})
		}
		have := map[string]bool{}
		for _, r := range hc.Rules {
			have[r.Tag] = true
		}
		want := map[string]bool{}
		for _, r := range wc.Rules {
			want[r.Tag] = true
			if !have[r.Tag] {
				out = append(out, AttrChange{"chain " + wc.Name + " rule", "(none)", r.Text()})
			}
		}
		for _, r := range hc.Rules {
			if r.Modified {
				out = append(out, AttrChange{"chain " + wc.Name + " rule", r.Tag + " (changed by hand)", ruleText(wc, r.Tag)})
				continue
			}
			if !want[r.Tag] {
				tag := r.Tag
				switch {
				case r.Action != "":
					tag = r.Text() // known from the last up's record
				case tag == "":
					tag = "a rule netlab did not write"
				}
				out = append(out, AttrChange{"chain " + wc.Name + " rule", tag, "(none)"})
			}
		}
		if len(out) == 0 && ruleOrder(wc) != ruleOrder(hc) {
			out = append(out, AttrChange{"chain " + wc.Name, "rules in another order", "rules in file order"})
		}
	}
	for _, hc := range h.Chains {
		if w.Chain(hc.Name) == nil {
			out = append(out, AttrChange{"chain " + hc.Name, fmt.Sprintf("%s hook %s priority %d; policy %s", hc.Type, hc.Hook, hc.Priority, hc.Policy), "(none)"})
			for _, r := range hc.Rules {
				out = append(out, AttrChange{"chain " + hc.Name + " rule", orNone(r.Tag), "(none)"})
			}
		}
	}
	return out
}

// ruleText is the text of the chain's rule with that tag.
func ruleText(c *state.NFChain, tag string) string {
	for _, r := range c.Rules {
		if r.Tag == tag {
			return r.Text()
		}
	}
	return tag
}

func ruleOrder(c *state.NFChain) string {
	tags := make([]string, len(c.Rules))
	for i, r := range c.Rules {
		tags[i] = r.Tag
	}
	return strings.Join(tags, " ")
}
