package plan

import (
	"fmt"
	"strings"

	"netlab/lab/state"
)

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
			out = append(out, AttrChange{Name: "chain " + wc.Name, Old: "(none)", New: fmt.Sprintf("%s hook %s priority %d; policy %s", wc.Type, wc.Hook, wc.Priority, wc.Policy)})
			for _, r := range wc.Rules {
				out = append(out, AttrChange{Name: "chain " + wc.Name + " rule", Old: "(none)", New: r.Text()})
			}
			continue
		}
		if wc.Policy != hc.Policy {
			out = append(out, AttrChange{Name: "chain " + wc.Name + " policy", Old: hc.Policy, New: wc.Policy})
		}
		if wc.Hook != hc.Hook || wc.Priority != hc.Priority || wc.Type != hc.Type {
			out = append(out, AttrChange{Name: "chain " + wc.Name, Old: fmt.Sprintf("%s %s %d", hc.Type, hc.Hook, hc.Priority), New: fmt.Sprintf("%s %s %d", wc.Type, wc.Hook, wc.Priority)})
		}
		have := map[string]bool{}
		for _, r := range hc.Rules {
			have[r.Tag] = true
		}
		want := map[string]bool{}
		for _, r := range wc.Rules {
			want[r.Tag] = true
			if !have[r.Tag] {
				out = append(out, AttrChange{Name: "chain " + wc.Name + " rule", Old: "(none)", New: r.Text()})
			}
		}
		for _, r := range hc.Rules {
			if r.Modified {
				out = append(out, AttrChange{Name: "chain " + wc.Name + " rule", Old: r.Tag + " (changed by hand)", New: ruleText(wc, r.Tag)})
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
				out = append(out, AttrChange{Name: "chain " + wc.Name + " rule", Old: tag, New: "(none)"})
			}
		}
		if len(out) == 0 && ruleOrder(wc) != ruleOrder(hc) {
			out = append(out, AttrChange{Name: "chain " + wc.Name, Old: "rules in another order", New: "rules in file order"})
		}
	}
	for _, hc := range h.Chains {
		if w.Chain(hc.Name) == nil {
			out = append(out, AttrChange{Name: "chain " + hc.Name, Old: fmt.Sprintf("%s hook %s priority %d; policy %s", hc.Type, hc.Hook, hc.Priority, hc.Policy), New: "(none)"})
			for _, r := range hc.Rules {
				out = append(out, AttrChange{Name: "chain " + hc.Name + " rule", Old: orNone(r.Tag), New: "(none)"})
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
