package main

import (
	"fmt"
	"io"

	"netlab/lab/device"
	"netlab/lab/state"
)

// writeEgress prints each link's egress impairment (netlab's root qdisc)
// and the root qdiscs someone else added, and each vlan's parent and id:
// nothing for a lab with none.
func writeEgress(w io.Writer, s *state.State) {
	header := false
	for _, nodeName := range s.NodeNames() {
		n := s.Nodes[nodeName]
		for _, ln := range n.LinkNames() {
			l := n.Links[ln]
			var what string
			switch {
			case !l.Egress.IsZero():
				what = fmt.Sprintf("%s (%s %s)", l.Egress, l.Egress.Qdisc(), state.EgressHandleText)
			case l.OtherQdisc != "":
				what = fmt.Sprintf("(none of netlab's; root qdisc %s added by someone else)", l.OtherQdisc)
			case l.Kind == device.VLAN:
			default:
				continue
			}
			if l.Kind == device.VLAN {
				vlan := fmt.Sprintf("vlan %d on %s", l.VLANID, dash(l.VLANParent))
				if what == "" {
					what = vlan
				} else {
					what = vlan + ", egress " + what
				}
			}
			if !header {
				fmt.Fprintf(w, "\negress and vlans\n")
				header = true
			}
			fmt.Fprintf(w, "  %s:%-15s %s\n", nodeName, ln, what)
		}
	}
}

// egressJSON is a link's impairment in status -o json, "" for none.
func egressJSON(l *state.Link) string {
	if l.Egress.IsZero() {
		return ""
	}
	return l.Egress.String()
}
