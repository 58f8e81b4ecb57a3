package validate

import (
	"fmt"

	"net/netip"

	"netlab/lab"
	"netlab/lab/device"
)

// passthru reports a macvlan in passthru mode that shares its parent with
// another macvlan: passthru takes the parent whole, and the kernel
// refuses a second macvlan on it.
func (v *validator) passthru() {
	type use struct {
		i        *lab.Interface
		passthru bool
	}
	byParent := make(map[string][]use)
	var parents []string
	for _, n := range v.lab.Nodes {
		for _, i := range n.Interfaces {
			if i.Kind != device.MACVLAN || i.MACVLAN == nil || !i.MACVLAN.Usable("parent") {
				continue
			}
			ref := i.MACVLAN.ParentNode + ":" + i.MACVLAN.Parent
			if _, ok := byParent[ref]; !ok {
				parents = append(parents, ref)
			}
			byParent[ref] = append(byParent[ref], use{i, i.MACVLAN.Mode == lab.MACVLANPassthru})
		}
	}
	for _, ref := range parents {
		uses := byParent[ref]
		if len(uses) < 2 {
			continue
		}
		for _, u := range uses {
			if u.passthru {
				v.diags.Hintf(u.i.MACVLAN.At("mode"), "give the other macvlans another parent, or use mode bridge", "macvlan %q in passthru mode shares parent %q with %d other macvlan(s): passthru takes the parent for itself alone", u.i.Ref(), ref, len(uses)-1)
			}
		}
	}
}

func (v *validator) devices() {
	v.passthru()
	for _, n := range v.lab.Nodes {
		type vxKey struct {
			vni  uint32
			port uint16
		}
		vnis := make(map[vxKey]*lab.Interface)
		vlans := make(map[vlanKey]*lab.Interface)
		for _, i := range n.Interfaces {
			if i.MACVLAN != nil && i.Kind == device.MACVLAN {
				v.macvlan(n, i)
			}
			if i.VLAN != nil && i.Kind == device.VLAN {
				v.vlan(n, i, vlans)
			}
			if i.VXLAN != nil && i.Kind == device.VXLAN {
				v.vxlan(n, i)
				x := i.VXLAN
				if x.VNI != 0 {
					k := vxKey{x.VNI, x.Port}
					if prev, ok := vnis[k]; ok {
						v.diags.Hintf(x.At("vni"), fmt.Sprintf("%q already uses it: change the vni or the port", prev.Name),
							"vni %d on port %d is used twice in node %q", x.VNI, x.Port, n.Name)
					} else {
						vnis[k] = i
					}
				}
			}
		}
	}
}

func (v *validator) macvlan(n *lab.Node, i *lab.Interface) {
	m := i.MACVLAN
	if !m.Has("parent") {
		v.diags.Hintf(m.Pos, "add parent: IFNAME (same node) or NODE:IFNAME", "macvlan %q of node %q has no parent", i.Name, n.Name)
	} else if m.Usable("parent") {
		at := m.At("parent")
		pn := v.lab.Node(m.ParentNode)
		switch {
		case pn == nil:
			v.diags.Hintf(at, "name a node of the lab, as NODE:IFNAME", "macvlan parent %q names node %q, which is not defined", m.ParentNode+":"+m.Parent, m.ParentNode)
		case pn == n && m.Parent == i.Name:
			v.diags.Hintf(at, "name another interface", "macvlan %q cannot be its own parent", i.Name)
		case pn.Interface(m.Parent) == nil && m.Parent != "lo":
			v.diags.Hintf(at, fmt.Sprintf("declare %q under the interfaces of node %q", m.Parent, pn.Name), "macvlan parent %q is not an interface of node %q", m.Parent, pn.Name)
		case m.Parent == "lo":
			v.diags.Hintf(at, "name an Ethernet interface", "macvlan parent cannot be the loopback")
		case pn.Interface(m.Parent).Kind == device.Tun:
			// A tun carries IP packets, not frames: the kernel refuses it.
			v.diags.Hintf(at, "name an Ethernet interface (veth, bridge, tap, vxlan)", "macvlan parent %q is a tun device, which has no Ethernet layer", m.ParentNode+":"+m.Parent)
		}
	}
	if m.Mode == lab.MACVLANSource && len(m.SourceMACs) == 0 && !m.Broken("source-macs") {
		v.diags.Hintf(m.At("mode"), "add source-macs: [MAC, ...], the senders it accepts", "macvlan %q in source mode has no source MACs", i.Name)
	}
	if m.Mode == lab.MACVLANPassthru && i.Has("mac") {
		// passthru hands the macvlan its parent's own address: a mac of
		// its own is ignored, and the kernel would never match the file.
		v.diags.Hintf(i.At("mac"), "remove mac, or set it on the parent", "macvlan %q in passthru mode takes its parent's MAC and cannot have mac", i.Name)
	}
	if m.Mode != lab.MACVLANSource && m.Has("source-macs") {
		v.diags.Hintf(m.At("source-macs"), "set mode: source, or remove source-macs", "source-macs apply only to a macvlan in source mode")
	}
}

func (v *validator) vxlan(n *lab.Node, i *lab.Interface) {
	x := i.VXLAN
	if !x.Has("vni") {
		v.diags.Hintf(x.Pos, "add vni: a number from 1 to 16777215", "vxlan %q of node %q has no vni", i.Name, n.Name)
	}
	hasRemote, hasGroup := x.Has("remote"), x.Has("group")
	switch {
	case hasRemote && hasGroup:
		v.diags.Hintf(x.At("group"), "keep remote for a unicast peer or group for multicast, not both", "vxlan %q has both remote and group", i.Name)
	case !hasRemote && !hasGroup && len(x.FDB) == 0 && !x.Broken("fdb"):
		// Neither is an fdb-only vxlan: it needs entries to send anywhere.
		v.diags.Hintf(x.Pos, "add remote: IP (a unicast peer), group: IP (multicast), or fdb entries", "vxlan %q has neither remote nor group nor fdb entries", i.Name)
	}
	if x.Remote.IsValid() && x.Remote.IsMulticast() {
		v.diags.Hintf(x.At("remote"), "use group: for a multicast address", "vxlan remote %s is a multicast address", x.Remote)
	}
	if x.Group.IsValid() && !x.Group.IsMulticast() {
		v.diags.Hintf(x.At("group"), "use remote: for a unicast peer, or a group such as 239.1.1.1", "vxlan group %s is not a multicast address", x.Group)
	}
	if x.Group.IsValid() && !x.Has("dev") {
		v.diags.Hintf(x.At("group"), "add dev: the underlay interface to join the group on", "vxlan %q with a multicast group needs dev", i.Name)
	}
	peer := x.Remote
	if !peer.IsValid() {
		peer = x.Group
	}
	if !peer.IsValid() && x.Local.IsValid() {
		peer = x.Local // fdb-only: the entries' family is the local address's
	}
	if peer.IsValid() && x.Local.IsValid() && peer.Is4() != x.Local.Is4() {
		v.diags.Hintf(x.At("local"), "use addresses of one family", "vxlan local %s and peer %s are of different IP families", x.Local, peer)
	}
	if x.Usable("dev") {
		switch dev := n.Interface(x.Dev); {
		case x.Dev == i.Name:
			v.diags.Hintf(x.At("dev"), "name the underlay interface", "vxlan %q cannot be its own dev", i.Name)
		case dev == nil:
			v.diags.Hintf(x.At("dev"), fmt.Sprintf("declare %q under the interfaces of node %q", x.Dev, n.Name), "vxlan dev %q is not an interface of node %q", x.Dev, n.Name)
		}
	}
	if x.Local.IsValid() && !v.nodeHasAddr(n, x.Local) {
		v.diags.Hintf(x.At("local"), "use one of the node's own addresses", "vxlan local %s is not an address of node %q", x.Local, n.Name)
	}
	for _, e := range x.FDB {
		for _, f := range []string{"mac", "dst"} {
			if !e.Has(f) {
				v.diags.Hintf(e.Pos, "write {mac: MAC, dst: IP}; mac 00:00:00:00:00:00 floods to dst", "fdb entry has no %s", f)
			}
		}
		if e.Dst.IsValid() && peer.IsValid() && e.Dst.Is4() != peer.Is4() {
			v.diags.Hintf(e.At("dst"), "use the family of the vxlan's remote", "fdb dst %s is of another IP family than %s", e.Dst, peer)
		}
	}
}

func (v *validator) nodeHasAddr(n *lab.Node, a netip.Addr) bool {
	for _, i := range n.Interfaces {
		for _, p := range i.Addresses {
			if p.Prefix.Addr() == a {
				return true
			}
		}
	}
	return false
}
