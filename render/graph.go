// Package render draws a lab (svg, dot, mermaid) or writes it out as the
// ip and nft commands that build it by hand (script). Every function is
// pure: it reads the model and never the kernel.
package render

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"

	"netlab/lab"
	"netlab/lab/device"
	"netlab/lab/state"
)

// edgeKind is what a line between two interfaces stands for.
type edgeKind int

const (
	edgeVeth    edgeKind = iota // a veth pair: a solid line
	edgeVXLAN                   // a VXLAN tunnel between two VTEPs: dashed, labelled with the VNI
	edgeMACVLAN                 // a MACVLAN and its parent in another node: dotted
	edgeCross                   // a link between two machines, a VXLAN at each end: dashed, labelled with the VNI
)

// edge joins two interfaces of different nodes (or, for a same-layer
// pair, of the same layer).
type edge struct {
	Kind  edgeKind
	A, B  *lab.Interface
	Label string
}

// edges lists the lines of a lab in a stable order: links in link order
// (veth pairs, or for a link between two machines the VXLAN that carries
// it), then VXLAN tunnels, then MACVLANs whose parent is in another node.
func edges(l *lab.Lab) []edge {
	var out []edge
	for _, lk := range l.Links {
		a, b := iface(l, lk.Ends[0].Node, lk.Ends[0].IfName), iface(l, lk.Ends[1].Node, lk.Ends[1].IfName)
		switch {
		case a == nil || b == nil:
		case l.CrossesMachines(lk):
			out = append(out, edge{Kind: edgeCross, A: a, B: b, Label: crossText(l, lk)})
		default:
			out = append(out, edge{Kind: edgeVeth, A: a, B: b})
		}
	}
	out = append(out, tunnels(l)...)
	for _, n := range l.Nodes {
		for _, i := range n.Interfaces {
			if i.Kind != device.MACVLAN || i.MACVLAN == nil || i.MACVLAN.ParentNode == n.Name {
				continue
			}
			if p := iface(l, i.MACVLAN.ParentNode, i.MACVLAN.Parent); p != nil {
				out = append(out, edge{Kind: edgeMACVLAN, A: p, B: i, Label: "macvlan"})
			}
		}
	}
	return out
}

// crossText labels a link between two machines: "vxlan VNI 42".
func crossText(l *lab.Lab, lk *lab.Link) string {
	return fmt.Sprintf("vxlan VNI %d", lab.LinkVNI(l.Name, lk))
}

// machineText names a machine with its address: "machine m1\n203.0.113.1".
func machineText(m *lab.Machine) string {
	return "machine " + m.Name + "\n" + m.Address.String()
}

// machineNodes lists a machine's nodes in file order.
func machineNodes(l *lab.Lab, m *lab.Machine) []*lab.Node {
	var out []*lab.Node
	for _, n := range l.Nodes {
		if n.Machine == m.Name {
			out = append(out, n)
		}
	}
	return out
}

// unplaced lists the nodes of a lab with machines that name no machine of
// it (validate refuses such a lab; the pictures still show every node).
func unplaced(l *lab.Lab) []*lab.Node {
	var out []*lab.Node
	for _, n := range l.Nodes {
		if l.Machine(n.Machine) == nil {
			out = append(out, n)
		}
	}
	return out
}

func iface(l *lab.Lab, node, name string) *lab.Interface {
	if n := l.Node(node); n != nil {
		return n.Interface(name)
	}
	return nil
}

// tunnels pairs the VXLAN interfaces of a lab: two VTEPs of the same VNI
// in different nodes, where one's remote is an address of the other's
// node, or both join the same multicast group.
func tunnels(l *lab.Lab) []edge {
	var vteps []*lab.Interface
	for _, n := range l.Nodes {
		for _, i := range n.Interfaces {
			if i.Kind == device.VXLAN && i.VXLAN != nil {
				vteps = append(vteps, i)
			}
		}
	}
	var out []edge
	for x, a := range vteps {
		for _, b := range vteps[x+1:] {
			if a.Node == b.Node || a.VXLAN.VNI != b.VXLAN.VNI {
				continue
			}
			va, vb := a.VXLAN, b.VXLAN
			joined := va.Group.IsValid() && va.Group == vb.Group
			if joined || nodeHas(l, b.Node, va.Remote) || nodeHas(l, a.Node, vb.Remote) || fdbTo(l, va, b.Node) || fdbTo(l, vb, a.Node) {
				out = append(out, edge{Kind: edgeVXLAN, A: a, B: b, Label: fmt.Sprintf("VNI %d", va.VNI)})
			}
		}
	}
	return out
}

// fdbTo reports whether a vxlan has a forwarding entry to an address of
// node: how an fdb-only vxlan (no remote, no group) reaches its peer.
func fdbTo(l *lab.Lab, x *lab.VXLANOptions, node string) bool {
	for _, e := range x.FDB {
		if nodeHas(l, node, e.Dst) {
			return true
		}
	}
	return false
}

// nodeHas reports whether an address is one of a node's interface
// addresses.
func nodeHas(l *lab.Lab, node string, a netip.Addr) bool {
	n := l.Node(node)
	if n == nil || !a.IsValid() {
		return false
	}
	for _, i := range n.Interfaces {
		for _, p := range i.Addresses {
			if p.Prefix.Addr() == a {
				return true
			}
		}
	}
	return false
}

// ifaceText describes an interface in one line: its name, its kind when it
// is not a plain veth, and what it hangs off.
func ifaceText(i *lab.Interface) string {
	var b strings.Builder
	b.WriteString(i.Name)
	switch i.Kind {
	case device.Veth:
	case device.MACVLAN:
		b.WriteString(" (macvlan")
		if m := i.MACVLAN; m != nil {
			if m.Mode != "" {
				b.WriteString(" " + m.Mode)
			}
			if m.ParentNode != i.Node {
				b.WriteString(" on " + m.ParentNode + ":" + m.Parent)
			} else {
				b.WriteString(" on " + m.Parent)
			}
		}
		b.WriteString(")")
	case device.VXLAN:
		b.WriteString(" (vxlan")
		if v := i.VXLAN; v != nil {
			fmt.Fprintf(&b, " %d", v.VNI)
			switch {
			case v.Remote.IsValid():
				b.WriteString(" to " + v.Remote.String())
			case v.Group.IsValid():
				b.WriteString(" group " + v.Group.String())
			default:
				b.WriteString(" fdb only")
			}
		}
		b.WriteString(")")
	case device.Bridge:
		if i.Bridge != nil && i.Bridge.STP {
			b.WriteString(" (bridge, stp)")
		} else {
			b.WriteString(" (bridge)")
		}
	case device.VLAN:
		b.WriteString(" (vlan")
		if v := i.VLAN; v != nil {
			fmt.Fprintf(&b, " %d on %s", v.ID, v.Parent)
		}
		b.WriteString(")")
	default:
		b.WriteString(" (" + string(i.Kind) + ")")
	}
	if m := i.Egress; !m.IsZero() {
		b.WriteString(" [" + impairText(m) + "]")
	}
	b.WriteString(portText(i.Port))
	if !i.Up {
		b.WriteString(" down")
	}
	return b.String()
}

// portText names the flags a bridge port's port: sets away from the
// kernel's defaults: " hairpin", " isolated", " no learning".
func portText(p *lab.PortOptions) string {
	if p == nil {
		return ""
	}
	var b strings.Builder
	note := func(v *bool, def bool, on, off string) {
		if v != nil && *v != def {
			if *v {
				b.WriteString(" " + on)
			} else {
				b.WriteString(" " + off)
			}
		}
	}
	note(p.Hairpin, false, "hairpin", "")
	note(p.Isolated, false, "isolated", "")
	note(p.Learning, true, "", "no learning")
	note(p.Flood, true, "", "no flood")
	note(p.McastFlood, true, "", "no mcast-flood")
	note(p.BcastFlood, true, "", "no bcast-flood")
	return b.String()
}

// impairText is an interface's egress impairment: "10mbit 20ms 1%".
func impairText(m lab.Impairment) string {
	var parts []string
	if m.Rate != 0 {
		parts = append(parts, state.RateText(m.Rate))
	}
	if m.Delay != 0 {
		parts = append(parts, m.Delay.String())
	}
	if m.Loss != 0 {
		parts = append(parts, lab.LossText(m.Loss)+" loss")
	}
	return strings.Join(parts, " ")
}

// addrTexts are an interface's addresses as text.
func addrTexts(i *lab.Interface) []string {
	out := make([]string, len(i.Addresses))
	for x, a := range i.Addresses {
		out[x] = a.Prefix.String()
	}
	return out
}

// natText summarises one NAT rule: "masquerade 192.168.31.0/24 out eth0".
func natText(r *lab.NATRule) string {
	parts := []string{r.Action}
	parts = append(parts, matchText(r.Match)...)
	if r.ToAddr.IsValid() || r.ToPort != 0 {
		to := ""
		if r.ToAddr.IsValid() {
			to = r.ToAddr.String()
		}
		if r.ToPort != 0 {
			to += fmt.Sprintf(":%d", r.ToPort)
		}
		parts = append(parts, "to "+to)
	}
	if len(r.Targets) > 0 {
		to := make([]string, len(r.Targets))
		for i, t := range r.Targets {
			to[i] = t.Addr().String()
			if t.Port() != 0 {
				to[i] = t.String()
			}
		}
		parts = append(parts, "to "+strings.Join(to, ", "))
	}
	return strings.Join(parts, " ")
}

func matchText(m lab.Match) []string {
	var parts []string
	if m.Source.IsValid() {
		parts = append(parts, "from "+m.Source.String())
	}
	if m.Destination.IsValid() {
		parts = append(parts, "dst "+m.Destination.String())
	}
	if m.In != "" {
		parts = append(parts, "in "+m.In)
	}
	if m.Out != "" {
		parts = append(parts, "out "+m.Out)
	}
	if m.Proto != "" {
		p := m.Proto
		if m.DPort != 0 {
			p += fmt.Sprintf("/%d", m.DPort)
		}
		parts = append(parts, p)
	}
	return parts
}

// notes are the lines summarising a node's policy rules, routes, NAT and
// filter rules.
func notes(n *lab.Node) []string {
	out := ruleNotes(n)
	for _, r := range n.Routes {
		s := "route "
		if r.IsDefault() {
			s += "default"
		} else {
			s += r.To.String()
		}
		if r.Via.IsValid() {
			s += " via " + r.Via.String()
		}
		if r.Dev != "" {
			s += " dev " + r.Dev
		}
		if r.Table != 0 && r.Table != lab.TableMain {
			s += " table " + tableName(r.Table)
		}
		out = append(out, s)
	}
	for _, i := range n.Interfaces {
		if i.Kind != device.VXLAN || i.VXLAN == nil {
			continue
		}
		for _, f := range i.VXLAN.FDB {
			if bytes.Equal(f.MAC, make([]byte, len(f.MAC))) {
				out = append(out, fmt.Sprintf("fdb %s floods to %s", i.Name, f.Dst))
			} else {
				out = append(out, fmt.Sprintf("fdb %s %s to %s", i.Name, f.MAC, f.Dst))
			}
		}
	}
	for _, r := range n.NAT {
		out = append(out, "nat "+natText(r))
	}
	if n.Firewall != nil {
		for _, c := range n.Firewall.Chains {
			pol := c.Policy
			if pol == "" {
				pol = "accept"
			}
			out = append(out, fmt.Sprintf("filter %s: %d rule(s), policy %s", c.Hook, len(c.Rules), pol))
		}
	}
	return out
}
