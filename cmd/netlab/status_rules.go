package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"netlab/lab/state"
)

// policyRuleStatus is a policy routing rule in status -o json, under
// policy_rules (rules is the nftables rules').
type policyRuleStatus struct {
	Family   string `json:"family"` // "ipv4" or "ipv6"
	Priority uint32 `json:"priority"`
	From     string `json:"from,omitempty"`
	To       string `json:"to,omitempty"`
	IIf      string `json:"iif,omitempty"`
	OIf      string `json:"oif,omitempty"`
	FWMark   string `json:"fwmark,omitempty"` // "0x10/0xff", as ip rule writes it
	Table    uint32 `json:"table"`
	Managed  bool   `json:"managed"` // netlab's (proto 78), not a person's
	Rule     string `json:"rule"`    // the whole rule, as plan prints it
}

// policyRulesJSON is a node's rules for status -o json: every rule but
// the kernel's own three, a person's with managed false.
func policyRulesJSON(n *state.Node) []policyRuleStatus {
	out := []policyRuleStatus{}
	for _, r := range n.Rules {
		ps := policyRuleStatus{Family: "ipv4", Priority: r.Priority, IIf: r.IIf, OIf: r.OIf, Table: r.Table, Managed: r.Owned, Rule: r.Text()}
		if r.IPv6 {
			ps.Family = "ipv6"
		}
		if r.From.IsValid() {
			ps.From = r.From.String()
		}
		if r.To.IsValid() {
			ps.To = r.To.String()
		}
		if r.Mask != 0 {
			ps.FWMark = fmt.Sprintf("%#x/%#x", r.Mark, r.Mask)
		}
		out = append(out, ps)
	}
	return out
}

// writePolicy prints, for each node with policy routing, its rules in
// the order the kernel tries them (after the kernel's own 0, local, and
// before its 32766, main) and the routes of its tables other than main:
// which table a packet is looked up in, and what that table says.
func writePolicy(w io.Writer, s *state.State) {
	for _, nodeName := range s.NodeNames() {
		n := s.Nodes[nodeName]
		var tables []state.Route
		for _, r := range n.Routes {
			if r.Table != 0 {
				tables = append(tables, r)
			}
		}
		if len(n.Rules) == 0 && len(tables) == 0 {
			continue
		}
		fmt.Fprintf(w, "\nnode %s: policy routing\n", nodeName)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  RULE\tOWNER")
		for _, r := range n.Rules {
			owner := "netlab"
			if !r.Owned {
				owner = "unmanaged"
			}
			fmt.Fprintf(tw, "  %s\t%s\n", r.Text(), owner)
		}
		for _, r := range tables {
			fmt.Fprintf(tw, "  route %s\tnetlab\n", state.RouteText(r))
		}
		tw.Flush()
	}
}
