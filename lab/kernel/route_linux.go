package kernel

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"netlab/lab/state"
)

func (k *Linux) nlRoute(c *nsConn, r state.Route) (*netlink.Route, error) {
	nr := &netlink.Route{
		Dst:      ipNet(r.To),
		Priority: int(r.Metric),
		Protocol: netlink.RouteProtocol(state.RouteProtocol),
		Table:    routeTable(r),
		Family:   unix.AF_INET,
	}
	if r.To.Addr().Is6() {
		nr.Family = unix.AF_INET6
	}
	if r.Via.IsValid() {
		nr.Gw = r.Via.AsSlice()
	}
	if r.Dev != "" {
		l, err := c.h.LinkByName(r.Dev)
		if err != nil {
			return nil, fmt.Errorf("dev %s: %w", r.Dev, err)
		}
		nr.LinkIndex = l.Attrs().Index
	}
	if !r.Via.IsValid() {
		nr.Scope = netlink.SCOPE_LINK
	}
	return nr, nil
}

// routeTable is the kernel's number of the route's table: 0 is main.
func routeTable(r state.Route) int {
	if r.Table == 0 {
		return unix.RT_TABLE_MAIN
	}
	return int(r.Table)
}

// RouteReplace adds or replaces a route.
func (k *Linux) RouteReplace(ctx context.Context, netnsName string, r state.Route) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := machineSafe(netnsName, "RouteReplace"); err != nil {
		return err
	}
	c, err := k.conn(netnsName)
	if err != nil {
		return err
	}
	nr, err := k.nlRoute(c, r)
	if err != nil {
		return fmt.Errorf("route %s: %w", r.Key(), err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := c.h.RouteReplace(nr); err != nil {
		return fmt.Errorf("route %s: replace: %w", r.Key(), err)
	}
	return nil
}

// RouteDel deletes a route; one already gone is not an error.
func (k *Linux) RouteDel(ctx context.Context, netnsName string, r state.Route) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := machineSafe(netnsName, "RouteDel"); err != nil {
		return err
	}
	c, err := k.conn(netnsName)
	if err != nil {
		if IsNotFound(err) { // the namespace is gone, and the route with it
			return nil
		}
		return err
	}
	nr := &netlink.Route{Dst: ipNet(r.To), Priority: int(r.Metric), Table: routeTable(r)}
	if err := c.h.RouteDel(nr); err != nil && !IsNotFound(err) {
		return fmt.Errorf("route %s: delete: %w", r.Key(), err)
	}
	return nil
}

// observeRoutes reads the main table's unicast routes, except those the
// kernel makes itself (connected subnets, IPv6 link-local and router
// advertisements), which are no one's to manage; and of every other
// table, netlab's routes (protocol 78) alone: a table a person made is
// theirs, as are the kernel's local tables.
func observeRoutes(c *nsConn, byIndex map[int]*state.Link) ([]state.Route, error) {
	main, err := observeTableRoutes(c, byIndex, false)
	if err != nil {
		return nil, err
	}
	others, err := observeTableRoutes(c, byIndex, true)
	if err != nil {
		return nil, err
	}
	out := append(main, others...)
	state.SortRoutes(out)
	return out, nil
}

// observeTableRoutes reads the main tables (others false), or netlab's
// routes of every table but main (others true).
func observeTableRoutes(c *nsConn, byIndex map[int]*state.Link, others bool) ([]state.Route, error) {
	filter, mask := &netlink.Route{Table: unix.RT_TABLE_MAIN}, uint64(netlink.RT_FILTER_TABLE)
	if others {
		// Table unspecified: every table. The strict dump has the kernel
		// send only routes of protocol 78, which leaves out the local
		// tables' hundreds; the library filters the same way without.
		filter = &netlink.Route{Table: unix.RT_TABLE_UNSPEC, Protocol: netlink.RouteProtocol(state.RouteProtocol)}
		mask |= netlink.RT_FILTER_PROTOCOL
	}
	routes, err := retryDump("list routes", func() ([]netlink.Route, error) {
		// With strict checking the kernel dumps the main tables alone,
		// not also the local ones (a route for each address, multicast):
		// a tenth of a no-op plan's time. The library filters by table
		// too, so a kernel without it (before 4.20) gives the same list.
		// Off again after: the library's other requests are not all
		// strict-clean.
		if c.h.SetStrictCheck(true) == nil {
			defer c.h.SetStrictCheck(false)
		}
		return c.h.RouteListFiltered(netlink.FAMILY_ALL, filter, mask)
	})
	if err != nil {
		return nil, err
	}
	var out []state.Route
	for _, r := range routes {
		if r.Protocol == unix.RTPROT_KERNEL || r.Protocol == unix.RTPROT_RA || r.Type != unix.RTN_UNICAST {
			continue
		}
		if others && (r.Table == unix.RT_TABLE_MAIN || int(r.Protocol) != state.RouteProtocol) {
			continue // main's are read with the main tables
		}
		sr := state.Route{Metric: uint32(r.Priority), Owned: int(r.Protocol) == state.RouteProtocol}
		if others {
			sr.Table = uint32(r.Table)
		}
		if r.Dst != nil {
			p, ok := prefixOf(r.Dst)
			if !ok {
				continue
			}
			sr.To = p
		} else if r.Family == unix.AF_INET6 {
			sr.To = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
		} else {
			sr.To = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
		}
		if r.Gw != nil {
			if gw, ok := netip.AddrFromSlice(r.Gw); ok {
				sr.Via = gw.Unmap()
			}
		}
		if l, ok := byIndex[r.LinkIndex]; ok {
			sr.Dev = l.Name
		}
		if sr.To.Addr().Is6() && strings.HasPrefix(sr.To.String(), "ff") {
			continue
		}
		out = append(out, sr)
	}
	return out, nil
}
