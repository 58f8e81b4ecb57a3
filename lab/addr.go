package lab

import "net/netip"

// FirstAddr is the first address of a node in file order, leaving out
// loopback (127.0.0.0/8, ::1) and link-local addresses, which no other
// node can reach: the address a node's name stands for (a check's to:,
// ping's TARGET).
func (l *Lab) FirstAddr(node string) (netip.Addr, bool) {
	n := l.Node(node)
	if n == nil {
		return netip.Addr{}, false
	}
	for _, ifc := range n.Interfaces {
		for _, a := range ifc.Addresses {
			if ad := a.Prefix.Addr(); !ad.IsLoopback() && !ad.IsLinkLocalUnicast() {
				return ad, true
			}
		}
	}
	return netip.Addr{}, false
}
