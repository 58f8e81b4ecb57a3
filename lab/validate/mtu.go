package validate

import (
	"fmt"

	"netlab/lab"
	"netlab/lab/device"
	"netlab/lab/mtu"
	"netlab/lab/state"
)

// mtus reports the MTUs the kernel would refuse, or cap and so never
// match the file, half-way through up: above what a device's lower
// device allows (mtu.Max), and IPv6 addresses or routes on a link below
// IPv6's least MTU. Each MTU is the one plan asks for (mtu.Of): declared, or the
// kernel's default for the device.
func (v *validator) mtus() {
	for _, n := range v.lab.Nodes {
		for _, i := range n.Interfaces {
			v.mtuLimit(i)
			v.ipv6MTU(i)
		}
		for _, r := range n.Routes {
			v.ipv6RouteMTU(n, r)
		}
	}
}

// ipv6RouteMTU reports an IPv6 route through a device whose MTU is below
// IPv6's least: the kernel has no IPv6 on such a device and refuses the
// route (ENODEV). A route by gateway alone needs an address on the
// gateway's subnet, which ipv6MTU judges.
func (v *validator) ipv6RouteMTU(n *lab.Node, r *lab.Route) {
	if !r.Usable("dev") || !r.To.IsValid() || !r.To.Addr().Is6() {
		return
	}
	i := n.Interface(r.Dev)
	if i == nil {
		return // reported by routes, or lo at its default MTU
	}
	if m := mtu.Of(v.lab, i); m < state.IPv6MinMTU {
		v.diags.Hintf(r.At("dev"), fmt.Sprintf("give %s an mtu of %d or more, or route through another device", ref(i), state.IPv6MinMTU),
			"IPv6 route to %s through %s, whose mtu is %d: IPv6 needs at least %d, and the kernel routes no IPv6 through it", r.To, ref(i), m, state.IPv6MinMTU)
	}
}

func (v *validator) mtuLimit(i *lab.Interface) {
	if i.MTU == 0 {
		return // a device without its own mtu gets its lower device's
	}
	most, lower := mtu.Max(v.lab, i)
	if i.MTU <= most {
		return
	}
	at, hint := i.At("mtu"), fmt.Sprintf("use at most %d", most)
	if lower != nil {
		hint += fmt.Sprintf(", or raise the mtu of %s", ref(lower))
	}
	switch i.Kind {
	case device.MACVLAN:
		v.diags.Hintf(at, hint, "macvlan %q cannot have mtu %d: its parent %s has mtu %d, and the kernel refuses a macvlan above its parent", i.Name, i.MTU, ref(lower), most)
	case device.VXLAN:
		v.diags.Hintf(at, hint, "vxlan %q cannot have mtu %d: its dev %s has mtu %d, less %d bytes of VXLAN leaves %d, and the kernel gives it no more", i.Name, i.MTU, ref(lower), mtu.Of(v.lab, lower), mtu.VXLANOverhead(i.VXLAN), most)
	case device.Tap:
		v.diags.Hintf(at, hint, "tap %q cannot have mtu %d: a tap's frames, header included, fit in 65535 bytes", i.Name, i.MTU)
	default:
		v.diags.Hintf(at, hint, "interface %q cannot have mtu %d", i.Name, i.MTU)
	}
}

// ipv6MTU reports the IPv6 addresses of an interface whose MTU is below
// IPv6's least: the kernel refuses them (EINVAL), except on lo, which
// takes them until its MTU next changes.
func (v *validator) ipv6MTU(i *lab.Interface) {
	m := mtu.Of(v.lab, i)
	if m >= state.IPv6MinMTU {
		return
	}
	fix, need := ref(i), state.IPv6MinMTU
	if _, lower := mtu.Max(v.lab, i); lower != nil && mtu.Declared(v.lab, i) == 0 {
		// The device takes its MTU from the lower one: that is the one
		// to raise, by the VXLAN overhead more for a vxlan.
		fix = ref(lower)
		if i.Kind == device.VXLAN {
			need += mtu.VXLANOverhead(i.VXLAN)
		}
	}
	for _, a := range i.Addresses {
		if a.Prefix.Addr().Is6() {
			v.diags.Hintf(a.Pos, fmt.Sprintf("give %s an mtu of %d or more, or use IPv4 only", fix, need),
				"IPv6 address %s on %s, whose mtu is %d: IPv6 needs at least %d, and the kernel takes no IPv6 address below it", a.Prefix, ref(i), m, state.IPv6MinMTU)
		}
	}
}
