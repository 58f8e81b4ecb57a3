package kernel

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"netlab/lab/state"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// AddrAdd adds an address; one already there is not an error.
func (k *Linux) AddrAdd(ctx context.Context, netnsName, link string, p netip.Prefix) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c, nl, err := k.link(netnsName, link)
	if err != nil {
		return fmt.Errorf("addr %s: link %s: %w", p, link, err)
	}
	a := &netlink.Addr{IPNet: ipNet(p)}
	if p.Addr().Is6() {
		a.Flags = unix.IFA_F_NODAD
	}
	if p.Addr().Is4() && p.Addr().IsLoopback() {
		// The kernel refuses an address of 127/8 of any other scope
		// (EINVAL), and ip addr add gives it this one.
		a.Scope = unix.RT_SCOPE_HOST
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := c.h.AddrAdd(nl, a); err != nil && !IsExist(err) {
		return fmt.Errorf("addr %s dev %s: add: %w", p, link, err)
	}
	return nil
}

// AddrDel removes an address; one already gone is not an error.
func (k *Linux) AddrDel(ctx context.Context, netnsName, link string, p netip.Prefix) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c, nl, err := k.link(netnsName, link)
	if err != nil {
		if isLinkNotFound(err) || IsNotFound(err) { // the link or its namespace is gone
			return nil
		}
		return fmt.Errorf("addr %s: link %s: %w", p, link, err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := c.h.AddrDel(nl, &netlink.Addr{IPNet: ipNet(p)}); err != nil && !IsNotFound(err) {
		return fmt.Errorf("addr %s dev %s: delete: %w", p, link, err)
	}
	return nil
}

// observeAddrs reads the addresses of the links of byIndex.
func observeAddrs(c *nsConn, byIndex map[int]*state.Link) error {
	addrs, err := retryDump("list addresses", func() ([]netlink.Addr, error) { return c.h.AddrList(nil, netlink.FAMILY_ALL) })
	if err != nil {
		return err
	}
	for _, a := range addrs {
		l, ok := byIndex[a.LinkIndex]
		if !ok || a.IPNet == nil {
			continue
		}
		if p, ok := prefixOf(a.IPNet); ok {
			l.Addrs = append(l.Addrs, p)
		}
	}
	for _, l := range byIndex {
		state.SortAddrs(l.Addrs)
	}
	return nil
}

func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(a.Unmap(), ones), true
}
