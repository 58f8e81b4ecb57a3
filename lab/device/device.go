// Package device names the kinds of network device netlab knows, from the
// lab file's kind: to the link the kernel reports. It is the one
// vocabulary the model (lab), the observed state (lab/state), the plan,
// the kernel, the renderers and the terminal UI share, so that a kind is
// compared with a constant of this package and never with a literal: a
// misspelt constant does not compile, and TestNoKindLiterals finds the
// literals.
//
// A new device kind starts here: a constant, then the model's
// lab.Kinds if a lab file may name it, then the planner and the kernel.
//
// It imports nothing, so that every package may import it.
package device

// Kind is the kind of a network device, as the kernel names it (the
// IFLA_INFO_KIND of its link, or tun and tap for the two modes of a
// tuntap device). Its text is what lab files, plans, status -o json and
// the record of the last up hold.
type Kind string

// The kinds a lab file may name (see lab.Kinds).
const (
	Veth    Kind = "veth"
	Bridge  Kind = "bridge"
	MACVLAN Kind = "macvlan"
	VXLAN   Kind = "vxlan"
	Tun     Kind = "tun"
	Tap     Kind = "tap"
	VLAN    Kind = "vlan" // an 802.1Q VLAN on a parent interface
)

// The kinds the kernel reports besides those: a namespace's lo, and a
// device without a link kind (a physical NIC, as netlink names it). Any
// other kind the kernel reports is kept as it names it.
const (
	Loopback Kind = "loopback"
	Generic  Kind = "device"
)
