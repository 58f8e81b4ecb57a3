package state

import (
	"net"
	"net/netip"

	"netlab/lab/device"
)

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

// The MTUs the kernel accepts for the devices netlab makes: ETH_MIN_MTU,
// which is also the least it gives a vxlan on a small underlay, and the
// most an IP packet's length can say.
const (
	MinMTU = 68
	MaxMTU = 65535
)

// MaxTapMTU is the largest MTU the kernel gives a tap: a frame with its
// 14-byte Ethernet header must fit in the 65535 bytes a tap reads.
const MaxTapMTU = MaxMTU - 14

// IPv6MinMTU is the least MTU IPv6 runs on (RFC 8200, IPV6_MIN_MTU).
// Below it the kernel refuses a link IPv6 addresses (EINVAL; lo takes
// them, until its MTU next changes), drops those it had when its MTU is
// set lower, and gives lo no ::1 when it is set up.
const IPv6MinMTU = 1280

// IPv6RouteMetric is the metric the kernel gives an IPv6 route added
// without one (IP6_RT_PRIO_USER); an IPv4 route keeps 0.
const IPv6RouteMetric = 1024

// RouteMetric is the metric the kernel gives a route to dst added with
// metric m.
func RouteMetric(dst netip.Prefix, m uint32) uint32 {
	if m == 0 && dst.Addr().Is6() {
		return IPv6RouteMetric
	}
	return m
}

// VXLANKernelPort is the UDP port the kernel gives a vxlan made without
// one (Linux's own, older than IANA's 4789, which the lab file defaults
// to: lab.DefaultVXLANPort).
const VXLANKernelPort = 8472

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
func KindMTU(kind device.Kind) int {
	if kind == device.Loopback {
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

// LoopbackAddrs are the addresses the kernel gives lo when it is set up.
var LoopbackAddrs = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/8"), netip.MustParsePrefix("::1/128")}

// LoopbackKept is what of LoopbackAddrs the kernel keeps on the lo of a
// namespace netlab made (NetNSAdd sets it up): the IPv4 one stays when lo
// is set down, the IPv6 one goes, and goes too when lo's MTU is set below
// IPv6MinMTU, below which the kernel gives lo none when it is set up.
// Neither comes back by itself when the MTU does, or after a delete by
// hand, until lo is set down and up again: netlab adds them back.
func LoopbackKept(up bool, mtu int) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range LoopbackAddrs {
		if p.Addr().Is4() || up && mtu >= IPv6MinMTU {
			out = append(out, p)
		}
	}
	return out
}

// LinkLocal is the IPv6 link-local address the kernel gives a device with
// an Ethernet MAC when it is set up: fe80::/64 with the interface
// identifier made from the MAC (modified EUI-64, RFC 4291 appendix A). ok
// is false for a MAC that is not 6 bytes.
func LinkLocal(mac net.HardwareAddr) (p netip.Prefix, ok bool) {
	if len(mac) != 6 {
		return netip.Prefix{}, false
	}
	ll := [16]byte{0: 0xfe, 1: 0x80, 8: mac[0] ^ 2, 9: mac[1], 10: mac[2], 11: 0xff, 12: 0xfe, 13: mac[3], 14: mac[4], 15: mac[5]}
	return netip.PrefixFrom(netip.AddrFrom16(ll), 64), true
}

// KernelAddr reports whether the kernel adds the address to a link of the
// kind by itself: an IPv6 link-local address, or a loopback address on lo.
// netlab neither declares nor removes these.
func KernelAddr(kind device.Kind, p netip.Prefix) bool {
	if p.Addr().Is6() && p.Addr().IsLinkLocalUnicast() {
		return true
	}
	return kind == device.Loopback && p.Addr().IsLoopback()
}

// kernelDevices are made by the kernel in every new namespace when a
// tunnel module is loaded: they cannot be deleted, and are neither a
// lab's nor unmanaged.
var kernelDevices = map[string]bool{
	"tunl0": true, "sit0": true, "ip6tnl0": true, "gre0": true, "gretap0": true,
	"erspan0": true, "ip6gre0": true, "ip6gretap0": true, "ip6erspan0": true,
	"ip_vti0": true, "ip6_vti0": true,
}

// KernelDevice reports whether a link of that name in a namespace is one
// the kernel made there by itself (a tunnel module's fallback device).
func KernelDevice(name string) bool { return kernelDevices[name] }
