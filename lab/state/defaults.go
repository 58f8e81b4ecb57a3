package state

import "net/netip"

// What the kernel gives a link that is created without an MTU. netlab
// relies on these to know the MTU of every link it creates, so that a
// different one (set by hand, or left from an mtu: the file no longer
// has) is a difference like any other; the fake kernel behaves by the
// same table. The rules by kind, from the kernel's drivers:
//
//   - veth, tun, tap, and a vxlan without dev: EthernetMTU (ether_setup);
//   - lo: LoopbackMTU;
//   - macvlan: its parent's MTU at creation (macvlan_common_newlink);
//   - vxlan with dev: the dev's MTU minus VXLANOverhead of its family
//     (vxlan_config_apply), which is also the most it accepts;
//   - bridge: the smallest MTU of its ports, EthernetMTU with none
//     (br_mtu_auto_adjust), until its MTU is set, after which it keeps
//     that one.
const (
	EthernetMTU = 1500  // ETH_DATA_LEN
	LoopbackMTU = 65536 // lo since Linux 4.11
)

// VXLAN's overhead per frame: the outer IP header (20 bytes for IPv4, 40
// for IPv6), UDP (8), VXLAN (8) and the inner Ethernet header (14).
const (
	VXLANOverheadIPv4 = 50
	VXLANOverheadIPv6 = 70
)

// VXLANOverhead is what VXLAN adds to a frame over an underlay of the
// family of addr: the kernel picks the family from the remote or group,
// else the local address, and IPv4 when none is set.
func VXLANOverhead(addr netip.Addr) int {
	if addr.IsValid() && addr.Unmap().Is6() {
		return VXLANOverheadIPv6
	}
	return VXLANOverheadIPv4
}

// VXLANFamilyAddr is the address whose family a vxlan's underlay has.
func (d *Device) VXLANFamilyAddr() netip.Addr {
	for _, a := range []netip.Addr{d.Remote, d.Group, d.Local} {
		if a.IsValid() {
			return a
		}
	}
	return netip.Addr{}
}

// KindMTU is the MTU the kernel gives a new link of the kind when it
// depends on nothing else: EthernetMTU, or LoopbackMTU for loopback. For
// a macvlan, a vxlan with dev and a bridge with ports the MTU follows
// other links (see above); KindMTU is then what they start from.
func KindMTU(kind string) int {
	if kind == "loopback" {
		return LoopbackMTU
	}
	return EthernetMTU
}

// WantMTU is the MTU a desired link is to have: the one declared, else
// the kernel's default that DefaultMTU holds, 0 when not known.
func (l *Link) WantMTU() int {
	if l.MTU != 0 {
		return l.MTU
	}
	return l.DefaultMTU
}

// KernelFDB is the forwarding entry the kernel makes by itself when it
// creates a vxlan with a remote or a group: the all-zero MAC (flood and
// unknown) to that address, over Dev. ok is false for a vxlan with
// neither. netlab creates it along with the vxlan, and puts it back when
// it is deleted by hand: without it the overlay carries nothing.
func (d *Device) KernelFDB() (e FDBEntry, ok bool) {
	dst := d.Remote
	if !dst.IsValid() {
		dst = d.Group
	}
	if !dst.IsValid() {
		return FDBEntry{}, false
	}
	return FDBEntry{MAC: "00:00:00:00:00:00", Dst: dst}, true
}
