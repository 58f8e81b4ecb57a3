// Package mtu says what MTU each interface of a lab will have and the
// most the kernel lets it have, by the kernel's rules in lab/state's
// table of defaults (defaults.go). It is the one computation that the
// planner (what to ask the kernel for, and what to expect back) and the
// validator (which MTUs the kernel would refuse or cap) share, so that
// validate passes no MTU that plan or up then trips on.
package mtu

import (
	"net/netip"

	"netlab/lab"
	"netlab/lab/device"
	"netlab/lab/state"
)

// Declared is the MTU the file gives an interface: its own, its link's,
// or its veth peer's (the pair shares one); 0 when none.
func Declared(l *lab.Lab, i *lab.Interface) int {
	if i.MTU != 0 {
		return i.MTU
	}
	lk := l.LinkOf(i.Node, i.Name)
	if lk == nil {
		return 0
	}
	if lk.MTU != 0 {
		return lk.MTU
	}
	for _, e := range lk.Ends {
		if pi := iface(l, e.Node, e.IfName); pi != nil && pi.MTU != 0 {
			return pi.MTU
		}
	}
	return 0
}

// Of is the MTU an interface of the lab will have: the one the file gives
// it, else the kernel's default for it (Default).
func Of(l *lab.Lab, i *lab.Interface) int { return of(l, i, map[string]bool{}) }

// Default is the MTU the kernel gives an interface created without one,
// by the rules of lab/state's table: a macvlan its parent's, a vxlan
// with dev the dev's minus the overhead of its family, a bridge the
// smallest of its ports', lo LoopbackMTU, anything else its kind's.
func Default(l *lab.Lab, i *lab.Interface) int { return byDefault(l, i, map[string]bool{}) }

// Max is the most MTU the kernel lets the interface have, and the lower
// device it depends on (nil when none): a macvlan no more than its
// parent (the kernel refuses more), a vxlan with dev no more than the
// dev's less the overhead (the kernel caps more at creation and refuses
// it afterwards), a tap state.MaxTapMTU; anything else state.MaxMTU.
func Max(l *lab.Lab, i *lab.Interface) (int, *lab.Interface) {
	return limit(l, i, map[string]bool{})
}

// of is Of; seen holds the interfaces whose MTU is being computed, and
// guards against a file whose devices sit on each other in a circle
// (validate refuses such a file, but reports every problem of it, this
// one's too).
func of(l *lab.Lab, i *lab.Interface, seen map[string]bool) int {
	if m := Declared(l, i); m != 0 {
		return m
	}
	return byDefault(l, i, seen)
}

func byDefault(l *lab.Lab, i *lab.Interface, seen map[string]bool) int {
	if seen[i.Ref()] {
		return state.EthernetMTU
	}
	seen[i.Ref()] = true
	defer delete(seen, i.Ref())
	if lk := l.LinkOf(i.Node, i.Name); lk != nil && l.CrossesMachines(lk) {
		return CrossLink(l, lk)
	}
	switch {
	case i.Name == "lo":
		return state.LoopbackMTU
	case i.Kind == device.MACVLAN, i.Kind == device.VXLAN, i.Kind == device.VLAN:
		// A macvlan and a vlan start at their parent's MTU, a vxlan at
		// the most its dev allows: each is the limit.
		if m, lower := limit(l, i, seen); lower != nil {
			return m
		}
	case i.Kind == device.Bridge:
		mtu := 0
		if n := l.Node(i.Node); n != nil {
			for _, p := range n.Interfaces {
				if p.Master == i.Name && p != i {
					if m := of(l, p, seen); mtu == 0 || m < mtu {
						mtu = m
					}
				}
			}
		}
		if mtu != 0 {
			return mtu
		}
	}
	return state.KindMTU(i.Kind)
}

func limit(l *lab.Lab, i *lab.Interface, seen map[string]bool) (int, *lab.Interface) {
	switch {
	case i.Kind == device.MACVLAN && i.MACVLAN != nil:
		if p := iface(l, i.MACVLAN.ParentNode, i.MACVLAN.Parent); p != nil && !seen[p.Ref()] {
			return of(l, p, seen), p
		}
	case i.Kind == device.VXLAN && i.VXLAN != nil && i.VXLAN.Dev != "":
		if dev := iface(l, i.Node, i.VXLAN.Dev); dev != nil && !seen[dev.Ref()] {
			return max(of(l, dev, seen)-VXLANOverhead(i.VXLAN), state.MinMTU), dev
		}
	case i.Kind == device.VLAN && i.VLAN != nil:
		if p := iface(l, i.Node, i.VLAN.Parent); p != nil && !seen[p.Ref()] {
			return of(l, p, seen), p
		}
	case i.Kind == device.Tap:
		return state.MaxTapMTU, nil
	}
	return state.MaxMTU, nil
}

// VXLANOverhead is what the vxlan adds to each frame over its underlay:
// state.VXLANOverhead of the family the kernel picks, from the remote or
// group, else the local address.
func VXLANOverhead(x *lab.VXLANOptions) int {
	d := state.Device{Remote: x.Remote, Group: x.Group, Local: x.Local}
	return state.VXLANOverhead(d.VXLANFamilyAddr())
}

// CrossLink is the MTU both ends of a cross-machine link get when the
// file gives none: an Ethernet underlay's (state.EthernetMTU) less the
// VXLAN encapsulation over the family of the machines' addresses. netlab
// cannot see the other machine's underlay, and the two ends must agree,
// so it assumes Ethernet on both; up refuses a machine whose underlay
// has less (see docs/machines.md).
func CrossLink(l *lab.Lab, lk *lab.Link) int {
	return state.EthernetMTU - CrossLinkOverhead(l, lk)
}

// CrossLinkOverhead is the encapsulation of a cross-machine link: that of
// the family of its first end's machine address (validate makes both
// machines' families agree).
func CrossLinkOverhead(l *lab.Lab, lk *lab.Link) int {
	var addr netip.Addr
	if m := l.Machine(l.MachineOf(lk.Ends[0].Node)); m != nil {
		addr = m.Address
	}
	return state.VXLANOverhead(addr)
}

// iface is the interface node:name of the lab, or nil.
func iface(l *lab.Lab, node, name string) *lab.Interface {
	if n := l.Node(node); n != nil {
		return n.Interface(name)
	}
	return nil
}
