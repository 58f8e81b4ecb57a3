package kernel

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"

	"netlab/lab/state"
)

// MachineAddrs: see MachineKernel.
func (k *Linux) MachineAddrs(ctx context.Context) ([]MachineAddr, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, err := k.conn(state.HostNetNS)
	if err != nil {
		return nil, err
	}
	links, err := c.h.LinkList()
	if err != nil {
		return nil, fmt.Errorf("machine: list links: %w", err)
	}
	byIndex := make(map[int]*netlink.LinkAttrs, len(links))
	for _, l := range links {
		byIndex[l.Attrs().Index] = l.Attrs()
	}
	addrs, err := c.h.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return nil, fmt.Errorf("machine: list addresses: %w", err)
	}
	out := make([]MachineAddr, 0, len(addrs))
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		m := MachineAddr{Addr: ip.Unmap()}
		if la := byIndex[a.LinkIndex]; la != nil {
			m.Link, m.MTU, m.Up = la.Name, la.MTU, la.Flags&net.FlagUp != 0
		}
		out = append(out, m)
	}
	return out, nil
}
