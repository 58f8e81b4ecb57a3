package kernel

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Linux's NetNS (seam.go). A socket belongs to the namespace of the thread
// that created it, for its whole life. These methods create sockets inside
// a node's namespace; the returned sockets may then be used from any
// goroutine. They hold nothing of Linux's: no Close is needed after them.

// inNamed runs fn inside the named namespace.
func (k *Linux) inNamed(netnsName string, fn func() error) error {
	fd, err := k.openNetNS(netnsName)
	if err != nil {
		return err
	}
	defer fd.Close()
	return InNetNS(fd, fn)
}

// ListenIn opens a stream listener (tcp) inside the named namespace.
func (k *Linux) ListenIn(netnsName, network, address string) (net.Listener, error) {
	var l net.Listener
	err := k.inNamed(netnsName, func() error {
		var err error
		l, err = net.Listen(network, address)
		return err
	})
	return l, err
}

// ListenPacketIn opens a packet socket (udp, ip4:icmp, ...) inside the
// named namespace.
func (k *Linux) ListenPacketIn(netnsName, network, address string) (net.PacketConn, error) {
	var c net.PacketConn
	err := k.inNamed(netnsName, func() error {
		var err error
		c, err = net.ListenPacket(network, address)
		return err
	})
	return c, err
}

// DialIn connects from inside the named namespace. The connection attempt
// itself runs on the namespace's thread, which is why ctx bounds it.
func (k *Linux) DialIn(ctx context.Context, netnsName, network, address string) (net.Conn, error) {
	return k.DialFromIn(ctx, netnsName, network, 0, address)
}

// DialFromIn connects from inside the named namespace, from local port
// localPort (0: an ephemeral one).
func (k *Linux) DialFromIn(ctx context.Context, netnsName, network string, localPort uint16, address string) (net.Conn, error) {
	var c net.Conn
	err := k.inNamed(netnsName, func() error {
		var err error
		var d net.Dialer
		if localPort != 0 {
			d.LocalAddr = localAddr(network, localPort)
		}
		c, err = d.DialContext(ctx, network, address)
		return err
	})
	return c, err
}

// localAddr is the local address of a dial from port port on any address.
func localAddr(network string, port uint16) net.Addr {
	if strings.HasPrefix(network, "udp") {
		return &net.UDPAddr{Port: int(port)}
	}
	return &net.TCPAddr{Port: int(port)}
}

// Hop is where a namespace would send a packet to some address: the
// route the kernel picks, and what it knows of the next hop's link-layer
// address. It lets a failed probe say why ("no ARP reply from
// 192.168.31.1") instead of only that it timed out.
type Hop struct {
	Dev     string     // the outgoing interface, control characters escaped (for messages)
	Gateway netip.Addr // the router, or invalid when the address is on-link
	Src     netip.Addr // the source address the kernel would use
	// Neigh is the state of the next hop's neighbour entry (ARP or NDP):
	// "reachable", "stale", "delay", "probe", "incomplete", "failed",
	// "permanent", "noarp", or "" when there is none.
	Neigh string
}

// NextHop returns the route the named namespace would use to reach dst,
// with the state of the next hop's neighbour entry. It fails with an
// error for which IsNoRoute is true when there is no route.
// Equivalent to: ip -n NETNS route get DST; ip -n NETNS neigh show NEXTHOP
func (k *Linux) NextHop(netnsName string, dst netip.Addr) (Hop, error) {
	return k.FlowHop(netnsName, Flow{Dst: dst})
}

// hopOf is the Hop of the first of routes, the kernel's answer for dst,
// with its next hop's neighbour state.
func hopOf(h *netlink.Handle, routes []netlink.Route, dst netip.Addr) (Hop, error) {
	var hop Hop
	if len(routes) == 0 {
		return hop, fmt.Errorf("route to %s: %w", dst, unix.ENETUNREACH)
	}
	r := routes[0]
	if gw, ok := netip.AddrFromSlice(r.Gw); ok {
		hop.Gateway = gw.Unmap()
	}
	if src, ok := netip.AddrFromSlice(r.Src); ok {
		hop.Src = src.Unmap()
	}
	if l, err := h.LinkByIndex(r.LinkIndex); err == nil {
		hop.Dev = printable(l.Attrs().Name) // for messages: any byte but '/', ':', space
	}
	next := dst
	if hop.Gateway.IsValid() {
		next = hop.Gateway
	}
	family := netlink.FAMILY_V4
	if next.Is6() {
		family = netlink.FAMILY_V6
	}
	neighs, err := h.NeighList(r.LinkIndex, family)
	if err != nil {
		return hop, nil // the route is the main answer
	}
	for _, n := range neighs {
		if a, ok := netip.AddrFromSlice(n.IP); ok && a.Unmap() == next {
			hop.Neigh = neighState(n.State)
		}
	}
	return hop, nil
}

// IsNoRoute reports whether err means the kernel has no route.
func IsNoRoute(err error) bool {
	return errors.Is(err, unix.ENETUNREACH)
}

func neighState(s int) string {
	switch {
	case s&netlink.NUD_PERMANENT != 0:
		return "permanent"
	case s&netlink.NUD_NOARP != 0:
		return "noarp"
	case s&netlink.NUD_REACHABLE != 0:
		return "reachable"
	case s&netlink.NUD_STALE != 0:
		return "stale"
	case s&netlink.NUD_DELAY != 0:
		return "delay"
	case s&netlink.NUD_PROBE != 0:
		return "probe"
	case s&netlink.NUD_INCOMPLETE != 0:
		return "incomplete"
	case s&netlink.NUD_FAILED != 0:
		return "failed"
	}
	return ""
}
