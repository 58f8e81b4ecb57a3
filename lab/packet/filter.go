package packet

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Protocols are the names a Filter accepts, in the order help lists them.
var Protocols = []string{"arp", "ip", "ip6", "icmp", "icmp6", "tcp", "udp", "vxlan"}

// Filter selects frames by protocol and host. The zero Filter matches
// every frame. A VXLAN frame matches when its outer or its inner frame
// does, so that a filter on an inner host shows the encapsulated traffic.
type Filter struct {
	Proto string     // one of Protocols, or "" for any
	Host  netip.Addr // an address as source or destination (IP or ARP), or invalid for any
	Port  uint16     // a TCP or UDP port as source or destination, or 0 for any
}

// ParseProto checks a protocol name for a Filter.
func ParseProto(s string) (string, error) {
	s = strings.ToLower(s)
	if s == "" || slices.Contains(Protocols, s) {
		return s, nil
	}
	return "", fmt.Errorf("unknown protocol %q: use one of %s", s, strings.Join(Protocols, ", "))
}

// Match reports whether the frame passes the filter.
func (flt Filter) Match(f *Frame) bool {
	if f.matchHere(flt) {
		return true
	}
	if f.IP != nil && f.IP.UDP != nil && f.IP.UDP.VXLAN != nil {
		return flt.Match(f.IP.UDP.VXLAN.Inner)
	}
	return false
}

func (f *Frame) matchHere(flt Filter) bool {
	if flt.Proto != "" && !f.has(flt.Proto) {
		return false
	}
	if flt.Host.IsValid() {
		h := flt.Host.Unmap()
		switch {
		case f.ARP != nil:
			if f.ARP.SenderIP != h && f.ARP.TargetIP != h {
				return false
			}
		case f.IP != nil:
			if f.IP.Src != h && f.IP.Dst != h {
				return false
			}
		default:
			return false
		}
	}
	if flt.Port != 0 {
		ip := f.IP
		switch {
		case ip != nil && ip.TCP != nil:
			if ip.TCP.SrcPort != flt.Port && ip.TCP.DstPort != flt.Port {
				return false
			}
		case ip != nil && ip.UDP != nil:
			if ip.UDP.SrcPort != flt.Port && ip.UDP.DstPort != flt.Port {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// has reports whether the frame itself (not its VXLAN payload) carries
// the protocol.
func (f *Frame) has(proto string) bool {
	ip := f.IP
	switch proto {
	case "arp":
		return f.ARP != nil
	case "ip":
		return ip != nil && ip.Version == 4
	case "ip6":
		return ip != nil && ip.Version == 6
	case "icmp":
		return ip != nil && ip.ICMP != nil && !ip.ICMP.V6
	case "icmp6":
		return ip != nil && ip.ICMP != nil && ip.ICMP.V6
	case "tcp":
		return ip != nil && ip.TCP != nil
	case "udp":
		return ip != nil && ip.UDP != nil
	case "vxlan":
		return ip != nil && ip.UDP != nil && ip.UDP.VXLAN != nil
	}
	return false
}
