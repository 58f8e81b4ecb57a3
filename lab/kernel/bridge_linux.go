package kernel

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"netlab/lab/device"
	"netlab/lab/state"
)

// The netlink library has no call for a bridge's STP timers, for all of
// a port's flags in one message, or for a neighbour's NDA_PROTOCOL: the
// messages of this file are made here, sent on the namespace's raw route
// socket (nsConn.rawSocket).

// centis is a duration in the kernel's clock_t (USER_HZ, 100 a second),
// the unit of IFLA_BR_FORWARD_DELAY and the other timers.
func centis(d time.Duration) uint32 { return uint32(d / (10 * time.Millisecond)) }

// setSTP turns a bridge's STP on or off, with its timers and priority
// when on. In a namespace other than the machine's the kernel runs STP
// itself (br_stp_start calls no user-space helper there).
// Equivalent to: ip -n NETNS link set NAME type bridge stp_state 1 forward_delay FD hello_time HT max_age MA priority P
func setSTP(c *nsConn, index int, l *state.Link) error {
	req := nl.NewNetlinkRequest(unix.RTM_NEWLINK, unix.NLM_F_ACK)
	msg := nl.NewIfInfomsg(unix.AF_UNSPEC)
	msg.Index = int32(index)
	req.AddData(msg)
	info := nl.NewRtAttr(unix.IFLA_LINKINFO, nil)
	info.AddRtAttr(nl.IFLA_INFO_KIND, nl.NonZeroTerminated("bridge"))
	data := info.AddRtAttr(nl.IFLA_INFO_DATA, nil)
	if s := l.STPSettings; l.STP && s != nil {
		data.AddRtAttr(unix.IFLA_BR_FORWARD_DELAY, nl.Uint32Attr(centis(s.ForwardDelay)))
		data.AddRtAttr(unix.IFLA_BR_HELLO_TIME, nl.Uint32Attr(centis(s.HelloTime)))
		data.AddRtAttr(unix.IFLA_BR_MAX_AGE, nl.Uint32Attr(centis(s.MaxAge)))
		data.AddRtAttr(unix.IFLA_BR_PRIORITY, nl.Uint16Attr(s.Priority))
	}
	stp := uint32(0)
	if l.STP {
		stp = 1
	}
	data.AddRtAttr(unix.IFLA_BR_STP_STATE, nl.Uint32Attr(stp))
	req.AddData(info)
	if _, err := c.execute(req, 0); err != nil {
		return fmt.Errorf("set stp: %w", err)
	}
	return nil
}

// observeSTP reads a bridge's STP state, timers and priority.
// Equivalent to: ip -n NETNS -d link show dev NAME (stp_state, forward_delay, ...)
func observeSTP(c *nsConn, l *state.Link) error {
	attrs, err := linkInfoData(c, l.Index)
	if err != nil {
		return fmt.Errorf("read stp: %w", err)
	}
	if len(attrs) == 0 {
		return fmt.Errorf("read stp: no bridge settings in the answer: %w", unix.EBADMSG)
	}
	var s state.STPSettings
	for _, a := range attrs {
		switch a.Attr.Type & nlaTypeMask {
		case unix.IFLA_BR_STP_STATE:
			l.STP = len(a.Value) >= 4 && nl.NativeEndian().Uint32(a.Value) != 0
		case unix.IFLA_BR_FORWARD_DELAY:
			s.ForwardDelay = clockT(a.Value)
		case unix.IFLA_BR_HELLO_TIME:
			s.HelloTime = clockT(a.Value)
		case unix.IFLA_BR_MAX_AGE:
			s.MaxAge = clockT(a.Value)
		case unix.IFLA_BR_PRIORITY:
			if len(a.Value) >= 2 {
				s.Priority = nl.NativeEndian().Uint16(a.Value)
			}
		}
	}
	l.STPSettings = &s
	return nil
}

func clockT(b []byte) time.Duration {
	if len(b) < 4 {
		return 0
	}
	return time.Duration(nl.NativeEndian().Uint32(b)) * 10 * time.Millisecond
}

// portFlagAttrs are the IFLA_BRPORT_* netlab manages, with the field of
// each.
var portFlagAttrs = []struct {
	attr  uint16
	field func(*state.PortFlags) *bool
}{
	{unix.IFLA_BRPORT_MODE, func(p *state.PortFlags) *bool { return &p.Hairpin }},
	{unix.IFLA_BRPORT_ISOLATED, func(p *state.PortFlags) *bool { return &p.Isolated }},
	{unix.IFLA_BRPORT_LEARNING, func(p *state.PortFlags) *bool { return &p.Learning }},
	{unix.IFLA_BRPORT_UNICAST_FLOOD, func(p *state.PortFlags) *bool { return &p.Flood }},
	{unix.IFLA_BRPORT_MCAST_FLOOD, func(p *state.PortFlags) *bool { return &p.McastFlood }},
	{unix.IFLA_BRPORT_BCAST_FLOOD, func(p *state.PortFlags) *bool { return &p.BcastFlood }},
}

// setPortFlags sets every flag of a bridge port in one message.
// Equivalent to: bridge -n NETNS link set dev NAME hairpin on|off isolated on|off learning on|off flood on|off mcast_flood on|off bcast_flood on|off
func setPortFlags(c *nsConn, index int, p state.PortFlags) error {
	req := nl.NewNetlinkRequest(unix.RTM_SETLINK, unix.NLM_F_ACK)
	msg := nl.NewIfInfomsg(unix.AF_BRIDGE)
	msg.Index = int32(index)
	req.AddData(msg)
	info := nl.NewRtAttr(unix.IFLA_PROTINFO|unix.NLA_F_NESTED, nil)
	for _, f := range portFlagAttrs {
		v := uint8(0)
		if *f.field(&p) {
			v = 1
		}
		info.AddRtAttr(int(f.attr), []byte{v})
	}
	req.AddData(info)
	if _, err := c.execute(req, 0); err != nil {
		return fmt.Errorf("set port flags: %w", err)
	}
	return nil
}

// observePorts reads each bridge port's flags and STP state: one
// AF_BRIDGE dump, which lists the ports alone. observeLinks calls it only
// in a namespace that has a bridge.
// Equivalent to: bridge -n NETNS -d link show
func observePorts(c *nsConn, byIndex map[int]*state.Link) error {
	req := nl.NewNetlinkRequest(unix.RTM_GETLINK, unix.NLM_F_DUMP)
	req.AddData(nl.NewIfInfomsg(unix.AF_BRIDGE))
	msgs, err := c.execute(req, unix.RTM_NEWLINK)
	if err != nil {
		return fmt.Errorf("list bridge ports: %w", err)
	}
	for _, m := range msgs {
		if len(m) < unix.SizeofIfInfomsg {
			continue
		}
		l := byIndex[int(nl.DeserializeIfInfomsg(m).Index)]
		if l == nil || l.Kind == device.Bridge {
			continue
		}
		info, err := nestedAttr(m[unix.SizeofIfInfomsg:], unix.IFLA_PROTINFO)
		if err != nil || info == nil {
			continue
		}
		attrs, err := nl.ParseRouteAttr(info)
		if err != nil {
			return fmt.Errorf("bridge port %s: %w", l.Name, err)
		}
		var p state.PortFlags
		for _, a := range attrs {
			if len(a.Value) < 1 {
				continue
			}
			typ := a.Attr.Type & nlaTypeMask
			if typ == unix.IFLA_BRPORT_STATE {
				l.PortState = state.PortStateName(int(a.Value[0]))
			}
			for _, f := range portFlagAttrs {
				if f.attr == typ {
					*f.field(&p) = a.Value[0] != 0
				}
			}
		}
		l.BridgePort = &p
	}
	return nil
}

// NeighReplace adds or replaces a permanent neighbour entry, marked.
func (k *Linux) NeighReplace(ctx context.Context, netnsName, link string, n state.Neighbor) error {
	return k.neigh(ctx, netnsName, link, n, unix.RTM_NEWNEIGH, unix.NLM_F_CREATE|unix.NLM_F_REPLACE|unix.NLM_F_ACK)
}

// NeighDel removes a neighbour entry.
func (k *Linux) NeighDel(ctx context.Context, netnsName, link string, n state.Neighbor) error {
	err := k.neigh(ctx, netnsName, link, n, unix.RTM_DELNEIGH, unix.NLM_F_ACK)
	if errorsIsNoEnt(err) {
		return nil
	}
	return err
}

func (k *Linux) neigh(ctx context.Context, netnsName, link string, n state.Neighbor, typ, flags int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c, l, err := k.link(netnsName, link)
	if err != nil {
		return fmt.Errorf("neighbor %s: %w", n.IP, err)
	}
	return sendNeigh(c, l.Attrs().Index, n, typ, flags)
}

func sendNeigh(c *nsConn, index int, n state.Neighbor, typ, flags int) error {
	family := unix.AF_INET6
	if n.IP.Is4() {
		family = unix.AF_INET
	}
	req := nl.NewNetlinkRequest(typ, flags)
	req.AddData(&netlink.Ndmsg{Family: uint8(family), Index: uint32(index), State: unix.NUD_PERMANENT})
	req.AddData(nl.NewRtAttr(unix.NDA_DST, n.IP.AsSlice()))
	if typ == unix.RTM_NEWNEIGH {
		mac, err := net.ParseMAC(n.MAC)
		if err != nil {
			return fmt.Errorf("neighbor %s: %w", n.IP, err)
		}
		req.AddData(nl.NewRtAttr(unix.NDA_LLADDR, mac))
		req.AddData(nl.NewRtAttr(netlink.NDA_PROTOCOL, []byte{state.RouteProtocol}))
	}
	if _, err := c.execute(req, 0); err != nil {
		return fmt.Errorf("neighbor %s: %w", n.IP, err)
	}
	return nil
}

// observeNeighbors reads the permanent neighbour entries that carry
// netlab's mark, onto their links.
// Equivalent to: ip -n NETNS neigh show nud permanent proto 78
func observeNeighbors(c *nsConn, byIndex map[int]*state.Link) error {
	req := nl.NewNetlinkRequest(unix.RTM_GETNEIGH, unix.NLM_F_DUMP)
	req.AddData(&netlink.Ndmsg{Family: unix.AF_UNSPEC})
	msgs, err := c.execute(req, unix.RTM_NEWNEIGH)
	if err != nil {
		return fmt.Errorf("list neighbors: %w", err)
	}
	for _, m := range msgs {
		if len(m) < unix.SizeofNdMsg {
			continue
		}
		// struct ndmsg: family u8, 3 bytes of padding, ifindex s32,
		// state u16, flags u8, type u8.
		family := m[0]
		index := int(int32(nl.NativeEndian().Uint32(m[4:8])))
		nudState := nl.NativeEndian().Uint16(m[8:10])
		l := byIndex[index]
		if l == nil || nudState&unix.NUD_PERMANENT == 0 || (family != unix.AF_INET && family != unix.AF_INET6) {
			continue
		}
		attrs, err := nl.ParseRouteAttr(m[unix.SizeofNdMsg:])
		if err != nil {
			return fmt.Errorf("list neighbors: %w", err)
		}
		var nb state.Neighbor
		marked := false
		for _, a := range attrs {
			switch a.Attr.Type & nlaTypeMask {
			case unix.NDA_DST:
				nb.IP, _ = netip.AddrFromSlice(a.Value)
			case unix.NDA_LLADDR:
				nb.MAC = net.HardwareAddr(a.Value).String()
			case netlink.NDA_PROTOCOL:
				marked = len(a.Value) == 1 && a.Value[0] == state.RouteProtocol
			}
		}
		if marked && nb.IP.IsValid() {
			l.Neighbors = append(l.Neighbors, nb)
		}
	}
	for _, l := range byIndex {
		state.SortNeighbors(l.Neighbors)
	}
	return nil
}

// syncNeighbors makes a link's marked neighbour entries those of l: it
// removes the marked ones l does not list, and replaces the others.
func (k *Linux) syncNeighbors(ctx context.Context, c *nsConn, index int, l *state.Link) error {
	byIndex := map[int]*state.Link{index: {Name: l.Name, Index: index}}
	if err := observeNeighbors(c, byIndex); err != nil {
		return err
	}
	for _, h := range byIndex[index].Neighbors {
		if !slices.Contains(l.Neighbors, h) {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := sendNeigh(c, index, h, unix.RTM_DELNEIGH, unix.NLM_F_ACK); err != nil && !errorsIsNoEnt(err) {
				return err
			}
		}
	}
	return replaceNeighbors(ctx, c, index, l.Neighbors)
}

// replaceNeighbors adds or replaces each of ns on the link at index.
func replaceNeighbors(ctx context.Context, c *nsConn, index int, ns []state.Neighbor) error {
	for _, n := range ns {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := sendNeigh(c, index, n, unix.RTM_NEWNEIGH, unix.NLM_F_CREATE|unix.NLM_F_REPLACE|unix.NLM_F_ACK); err != nil {
			return err
		}
	}
	return nil
}

// afterAdd gives a new link in netnsName what the messages that made it
// did not: a bridge's STP, a port's flags (once it is a port), its
// neighbours. A link that needs none of these costs nothing more, not
// even the namespace's lookup (conn).
func (k *Linux) afterAdd(ctx context.Context, netnsName string, l *state.Link) error {
	needSTP := l.Kind == device.Bridge && l.STP
	needPort := l.BridgePort != nil && *l.BridgePort != state.DefaultPortFlags
	if !needSTP && !needPort && len(l.Neighbors) == 0 {
		return nil
	}
	c, err := k.conn(netnsName)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	nl, err := c.h.LinkByName(l.Name)
	if err != nil {
		return fmt.Errorf("link %s: find: %w", l.Name, err)
	}
	index := nl.Attrs().Index
	if needSTP {
		if err := setSTP(c, index, l); err != nil {
			return fmt.Errorf("link %s: %w", l.Name, err)
		}
	}
	if needPort {
		if err := setPortFlags(c, index, *l.BridgePort); err != nil {
			return fmt.Errorf("link %s: %w", l.Name, err)
		}
	}
	if len(l.Neighbors) > 0 {
		// A link just made has no entries of netlab's to remove: no
		// dump of the namespace's neighbours (syncNeighbors') is needed.
		if err := replaceNeighbors(ctx, c, index, l.Neighbors); err != nil {
			return fmt.Errorf("link %s: %w", l.Name, err)
		}
	}
	return nil
}

func errorsIsNoEnt(err error) bool { return errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH) }
