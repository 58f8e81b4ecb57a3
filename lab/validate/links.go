package validate

import (
	"netlab/lab"
	"netlab/lab/device"
)

func (v *validator) links() {
	used := make(map[string]*lab.Link) // NODE:IFNAME -> first link using it
	for _, lk := range v.lab.Links {
		a, b := lk.Ends[0], lk.Ends[1]
		if a.Node == b.Node && a.IfName == b.IfName { // not a == b: Pos differs
			v.diags.Hintf(b.Pos, "a veth pair needs two different ends", "link joins %q to itself", a.String())
			continue
		}
		for _, e := range lk.Ends {
			v.linkEnd(lk, e, used)
		}
	}
}

func (v *validator) linkEnd(lk *lab.Link, e lab.LinkEnd, used map[string]*lab.Link) {
	n := v.lab.Node(e.Node)
	if n == nil {
		v.diags.Hintf(e.Pos, "add it under nodes or fix the name", "link end %q names node %q, which is not defined", e.String(), e.Node)
		return
	}
	if prev, ok := used[e.String()]; ok && prev != lk {
		v.diags.Hintf(e.Pos, "an interface can be in one link only", "interface %q is in two links (the first at line %d)", e.String(), prev.Pos.Line)
		return
	}
	used[e.String()] = lk
	i := n.Interface(e.IfName)
	if i == nil {
		return // the node's interfaces were not loaded; already reported
	}
	if i.Kind != "" && i.Kind != device.Veth {
		v.diags.Hintf(e.Pos, "a link end must be a veth: rename the end or drop the kind", "link end %q names %s %q", e.String(), i.Kind, i.Name)
	}
	if lk.MTU != 0 && i.MTU != 0 && lk.MTU != i.MTU {
		v.diags.Hintf(i.At("mtu"), "both ends of a veth pair carry one MTU: make them equal or drop one", "interface %q has mtu %d but its link has mtu %d", e.String(), i.MTU, lk.MTU)
	}
}
