package validate

import (
	"net"

	"netlab/lab/device"
)

// macs checks that every MAC an interface is given, and every sender a
// source-mode macvlan accepts, is a unicast address: Linux refuses a
// multicast (first octet's low bit set, broadcast among them) or all-zero
// address as a device's own with EADDRNOTAVAIL, half-way through up. An fdb
// entry's MAC is not checked: 00:00:00:00:00:00 there is the flood entry,
// and the kernel takes multicast entries too.
func (v *validator) macs() {
	for _, n := range v.lab.Nodes {
		for _, i := range n.Interfaces {
			if i.Name == "lo" {
				continue // lo takes no mac at all: interfaces reports it
			}
			if i.Usable("mac") && i.Kind == device.Tun {
				// A tun carries IP packets: Linux refuses it an address.
				v.diags.Hintf(i.At("mac"), "remove mac, or use kind: tap for a device with an Ethernet layer", "tun %q has no Ethernet layer, so it takes no mac", i.Name)
			} else if i.Usable("mac") {
				if p := macProblem(i.MAC); p != "" {
					v.diags.Hintf(i.At("mac"), macHint, "mac %s of interface %q %s, which Linux gives no device", i.MAC, i.Name, p)
				}
			}
			if m := i.MACVLAN; m != nil && m.Usable("source-macs") {
				for _, mac := range m.SourceMACs {
					if p := macProblem(mac); p != "" {
						v.diags.Hintf(m.At("source-macs"), "list the senders' own MACs, which are unicast", "source MAC %s of macvlan %q %s, which no sender has", mac, i.Name, p)
					}
				}
			}
		}
	}
}

const macHint = "use a unicast address; a locally administered one such as 02:00:00:00:00:01 is free to choose"

// macProblem says why mac is no unicast address, as Linux requires of a
// device's own (is_valid_ether_addr), or "" if it is one.
func macProblem(mac net.HardwareAddr) string {
	switch {
	case len(mac) == 0:
		return ""
	case isZero(mac):
		return "is all zero"
	case isBroadcast(mac):
		return "is the broadcast address"
	case mac[0]&1 != 0:
		return "is a multicast address (the first octet is odd)"
	}
	return ""
}

func isZero(mac net.HardwareAddr) bool {
	for _, b := range mac {
		if b != 0 {
			return false
		}
	}
	return true
}

func isBroadcast(mac net.HardwareAddr) bool {
	for _, b := range mac {
		if b != 0xff {
			return false
		}
	}
	return true
}
