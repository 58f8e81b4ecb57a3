package state

import "net/netip"

// FirstAddr is the first address the node has in the kernel, its links
// taken by name, leaving out loopback and link-local addresses: the
// address a running node's name stands for when there is no lab file
// (ping --lab).
func (n *Node) FirstAddr() (netip.Addr, bool) {
	for _, ln := range n.LinkNames() {
		for _, p := range n.Links[ln].Addrs {
			if a := p.Addr(); !a.IsLoopback() && !a.IsLinkLocalUnicast() {
				return a, true
			}
		}
	}
	return netip.Addr{}, false
}
