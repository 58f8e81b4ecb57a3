package validate

import (
	"fmt"

	"netlab/lab"
	"netlab/lab/device"
)

// vlanKey is what two vlans of one node may not share: the kernel
// refuses a second vlan on one parent with one id.
type vlanKey struct {
	parent string
	id     uint16
}

// vlan checks a vlan's parent and id: the parent is an Ethernet interface
// of the same node (the kernel makes the vlan on it, in its namespace),
// and no vlan before it in ids (the node's) has the same parent and id.
func (v *validator) vlan(n *lab.Node, i *lab.Interface, ids map[vlanKey]*lab.Interface) {
	o := i.VLAN
	if !o.Has("parent") {
		v.diags.Hintf(o.Pos, "add parent: IFNAME, an interface of the same node", "vlan %q of node %q has no parent", i.Name, n.Name)
	} else if o.Usable("parent") {
		at := o.At("parent")
		p := n.Interface(o.Parent)
		switch {
		case o.Parent == i.Name:
			v.diags.Hintf(at, "name another interface", "vlan %q cannot be its own parent", i.Name)
		case o.Parent == "lo":
			v.diags.Hintf(at, "name an Ethernet interface", "vlan parent cannot be the loopback")
		case p == nil:
			v.diags.Hintf(at, fmt.Sprintf("declare %q under the interfaces of node %q", o.Parent, n.Name), "vlan parent %q is not an interface of node %q", o.Parent, n.Name)
		case p.Kind == device.Tun:
			v.diags.Hintf(at, "name an Ethernet interface (veth, bridge, tap, vxlan, macvlan)", "vlan parent %q is a tun device, which has no Ethernet layer", o.Parent)
		}
	}
	if !o.Has("id") {
		v.diags.Hintf(o.Pos, "add id: a number from 1 to 4094", "vlan %q of node %q has no id", i.Name, n.Name)
	}
	if !o.Usable("parent") || !o.Usable("id") {
		return
	}
	k := vlanKey{o.Parent, o.ID}
	if prev, ok := ids[k]; ok {
		v.diags.Hintf(o.At("id"), fmt.Sprintf("%q already has it: give this vlan another id or parent", prev.Name),
			"vlan id %d on parent %q is used twice in node %q", k.id, k.parent, n.Name)
		return
	}
	ids[k] = i
}
