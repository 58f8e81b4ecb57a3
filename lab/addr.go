package lab

import (
	"net/netip"
	"slices"
)

// FirstAddr is the first address of a node in file order, leaving out
// loopback (127.0.0.0/8, ::1) and link-local addresses, which no other
// node can reach: the address a node's name stands for (a check's to:,
// ping's TARGET).
func (l *Lab) FirstAddr(node string) (netip.Addr, bool) {
	n := l.Node(node)
	if n == nil {
		return netip.Addr{}, false
	}
	for _, a := range reachableAddrs(n) {
		return a, true
	}
	return netip.Addr{}, false
}

// reachableAddrs are a node's addresses in file order that another node
// can reach: loopback and link-local ones left out.
func reachableAddrs(n *Node) []netip.Addr {
	var out []netip.Addr
	for _, ifc := range n.Interfaces {
		out = append(out, ifc.reachableAddrs()...)
	}
	return out
}

func (i *Interface) reachableAddrs() []netip.Addr {
	var out []netip.Addr
	for _, a := range i.Addresses {
		if ad := a.Prefix.Addr(); !ad.IsLoopback() && !ad.IsLinkLocalUnicast() {
			out = append(out, ad)
		}
	}
	return out
}

// LoopbackNames are the names a hosts file gives lo's addresses, as
// Debian's /etc/hosts does: inside every node they mean the node itself,
// so no node or interface is named by them (a node may be called
// localhost; its hosts name is then only localhost-IFNAME).
var LoopbackNames = []string{"localhost", "ip6-localhost", "ip6-loopback"}

// HostName is one line of a node's hosts file: a name and an address it
// stands for.
type HostName struct {
	Addr netip.Addr
	Name string
}

// HostNames are the names of the lab's nodes inside its nodes, in file
// order: what every /etc/netns/LAB.NODE/hosts says after localhost. A
// node goes by its name at its first address (FirstAddr) and at the first
// address of the other family too, when it has one, so that a program
// that asks for one family only finds it; each interface goes by
// NODE-IFNAME at each of its addresses. Only addresses other nodes can
// reach are named. Every name stands for one node or one interface: the
// LoopbackNames are lo's, a node's name wins over an interface's
// NODE-IFNAME that spells the same (node c1-eth0, interface eth0 of node
// c1), and of two interfaces whose NODE-IFNAME is the same (a:b-c and
// a-b:c), the first in file order has it.
func (l *Lab) HostNames() []HostName {
	taken := map[string]bool{}
	for _, name := range LoopbackNames {
		taken[name] = true
	}
	for _, n := range l.Nodes {
		taken[n.Name] = true
	}
	var out []HostName
	for _, n := range l.Nodes {
		addrs := reachableAddrs(n)
		if len(addrs) == 0 {
			continue
		}
		if !slices.Contains(LoopbackNames, n.Name) {
			out = append(out, HostName{addrs[0], n.Name})
			if i := slices.IndexFunc(addrs, func(a netip.Addr) bool { return a.Is4() != addrs[0].Is4() }); i >= 0 {
				out = append(out, HostName{addrs[i], n.Name})
			}
		}
		for _, ifc := range n.Interfaces {
			name := n.Name + "-" + ifc.Name
			addrs := ifc.reachableAddrs()
			if len(addrs) == 0 || taken[name] {
				continue
			}
			taken[name] = true
			for _, a := range addrs {
				out = append(out, HostName{a, name})
			}
		}
	}
	return out
}

// HostAddr is the address a name of the lab's hosts files stands for
// first (a node's first address, an interface's first): where a check
// that names a host connects. The LoopbackNames are not the lab's.
func (l *Lab) HostAddr(name string) (netip.Addr, bool) {
	for _, h := range l.HostNames() {
		if h.Name == name {
			return h.Addr, true
		}
	}
	return netip.Addr{}, false
}
