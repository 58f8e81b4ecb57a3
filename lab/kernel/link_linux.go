package kernel

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"netlab/lab/device"
	"netlab/lab/state"
)

// HostLinks lists the links in the machine's root namespace that carry
// the lab's marker.
func (k *Linux) HostLinks(ctx context.Context, lab string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, err := k.conn(state.HostNetNS)
	if err != nil {
		return nil, err
	}
	links, err := retryDump("list links", c.h.LinkList)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, nl := range links {
		if l, _, ok := state.ParseLinkMarker(nl.Attrs().Alias); ok && l == lab {
			out = append(out, nl.Attrs().Name)
		}
	}
	sort.Strings(out)
	return out, nil
}

// made returns the context for the messages that follow a link's creation
// in c: ctx itself, except in the machine's namespace. There a link not
// yet marked would be out of netlab's reach (up and down see only marked
// links there), so once created it is finished whatever ctx says; in a
// lab's namespace one left under its temporary name is deleted by the
// next up, or with the namespace by down.
func made(ctx context.Context, c *nsConn) context.Context {
	if c.host {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

// link finds a link by name in a namespace.
func (k *Linux) link(netnsName, name string) (*nsConn, netlink.Link, error) {
	c, err := k.conn(netnsName)
	if err != nil {
		return nil, nil, err
	}
	l, err := c.h.LinkByName(name)
	if err != nil {
		return c, nil, err
	}
	return c, l, nil
}

// LinkAdd creates a link. It is created under a temporary name, marked,
// and only then renamed to its real name, so that no link of a declared
// name ever exists without netlab's marker, even if netlab is killed
// half-way (the kernel ignores an alias in the message that creates a
// link, so the marker needs a message of its own). A cancelled ctx stops it
// before any message, in a lab's namespace also between two (see made).
func (k *Linux) LinkAdd(ctx context.Context, netnsName string, l *state.Link, peerNS string, peer *state.Link) error {
	if err := k.linkAdd(ctx, netnsName, l, peerNS, peer); err != nil {
		return err
	}
	if err := k.afterAdd(ctx, netnsName, l); err != nil {
		return err
	}
	if peer == nil {
		return nil
	}
	return k.afterAdd(ctx, peerNS, peer)
}

func (k *Linux) linkAdd(ctx context.Context, netnsName string, l *state.Link, peerNS string, peer *state.Link) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c, err := k.conn(netnsName)
	if err != nil {
		return err
	}
	tmp := tempName()
	attrs := netlink.NewLinkAttrs()
	attrs.Name = tmp
	if l.MTU != 0 {
		attrs.MTU = l.MTU
	}
	if l.MAC != "" {
		if attrs.HardwareAddr, err = net.ParseMAC(l.MAC); err != nil {
			return fmt.Errorf("link %s: mac: %w", l.Name, err)
		}
	}
	var nl netlink.Link
	var pc *nsConn
	var peerTmp string
	switch l.Kind {
	case device.Veth:
		if pc, err = k.conn(peerNS); err != nil {
			return err
		}
		peerTmp = tempName()
		v := &netlink.Veth{LinkAttrs: attrs, PeerName: peerTmp, PeerNamespace: netlink.NsFd(pc.fd)}
		// Without a peer MTU the netlink library gives the peer l's:
		// a peer that declares none gets the kernel's default instead.
		switch {
		case peer.MTU != 0:
			v.PeerMTU = uint32(peer.MTU)
		case l.MTU != 0:
			v.PeerMTU = uint32(state.KindMTU(device.Veth))
		}
		if peer.MAC != "" {
			if v.PeerHardwareAddr, err = net.ParseMAC(peer.MAC); err != nil {
				return fmt.Errorf("link %s: mac: %w", peer.Name, err)
			}
		}
		nl = v
	case device.Bridge:
		// A bridge's MTU goes in a message of its own: the kernel keeps
		// one set by a change as the user's choice, but overrides one
		// set at creation with its smallest port's once ports join.
		attrs.MTU = 0
		nl = &netlink.Bridge{LinkAttrs: attrs}
		if err := c.h.LinkAdd(nl); err != nil {
			return fmt.Errorf("link %s: add %s: %w", l.Name, l.Kind, err)
		}
		if err := setCreateAttrs(ctx, c, tmp, &state.Link{MTU: l.MTU}); err != nil {
			return fmt.Errorf("link %s: %w", l.Name, err)
		}
		return finishLink(ctx, c, tmp, 0, l)
	case device.MACVLAN:
		pc := c
		if l.ParentNetNS != "" && l.ParentNetNS != netnsName {
			if pc, err = k.conn(l.ParentNetNS); err != nil {
				return fmt.Errorf("link %s: parent %s: %w", l.Name, l.Parent, err)
			}
		}
		if err := addMACVLAN(ctx, c, pc, attrs, l); err != nil {
			return fmt.Errorf("link %s: %w", l.Name, err)
		}
		return finishLink(made(ctx, c), c, tmp, 0, l)
	case device.VXLAN:
		uc := c // where the vxlan is made, and its socket stays
		if l.UnderlayNetNS != "" && l.UnderlayNetNS != netnsName {
			if uc, err = k.conn(l.UnderlayNetNS); err != nil {
				return fmt.Errorf("link %s: underlay: %w", l.Name, err)
			}
		}
		if err := addVXLAN(ctx, c, uc, attrs, l); err != nil {
			return fmt.Errorf("link %s: %w", l.Name, err)
		}
		ctx = made(ctx, c)
		if err := finishLink(ctx, c, tmp, 0, l); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		nl, err := c.h.LinkByName(l.Name)
		if err != nil {
			return fmt.Errorf("link %s: find: %w", l.Name, err)
		}
		if err := syncFDB(ctx, c, nl, l); err != nil {
			return fmt.Errorf("link %s: %w", l.Name, err)
		}
		return nil
	case device.VLAN:
		parent, err := c.h.LinkByName(l.VLANParent)
		if err != nil {
			return fmt.Errorf("link %s: find parent %s: %w", l.Name, l.VLANParent, err)
		}
		attrs.ParentIndex = parent.Attrs().Index
		nl = &netlink.Vlan{LinkAttrs: attrs, VlanId: int(l.VLANID), VlanProtocol: netlink.VLAN_PROTOCOL_8021Q}
	case device.Tun, device.Tap:
		if err := addTun(ctx, c, tmp, k.ids.inside(l)); err != nil {
			return fmt.Errorf("link %s: %w", l.Name, err)
		}
		ctx = made(ctx, c)
		// The ioctls set no MTU or MAC: finishLink's messages do.
		if err := setCreateAttrs(ctx, c, tmp, l); err != nil {
			if ctx.Err() == nil {
				if nl, lerr := c.h.LinkByName(tmp); lerr == nil {
					c.h.LinkDel(nl) // refused, not interrupted: leave nothing
				}
			}
			return fmt.Errorf("link %s: %w", l.Name, err)
		}
		return finishLink(ctx, c, tmp, 0, l)
	default:
		return fmt.Errorf("link %s: kind %s: %w", l.Name, l.Kind, errors.ErrUnsupported)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := c.h.LinkAdd(nl); err != nil {
		return fmt.Errorf("link %s: add %s: %w", l.Name, l.Kind, err)
	}
	// LinkAdd found the new link's ifindex by its name already.
	if err := finishLink(made(ctx, c), c, tmp, nl.Attrs().Index, l); err != nil {
		return err
	}
	if peer != nil {
		if err := finishLink(made(ctx, pc), pc, peerTmp, 0, peer); err != nil {
			return err
		}
	}
	return nil
}

// setCreateAttrs gives a device made without netlink its MTU and MAC.
func setCreateAttrs(ctx context.Context, c *nsConn, name string, l *state.Link) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	nl, err := c.h.LinkByName(name)
	if err != nil {
		return fmt.Errorf("find new link: %w", err)
	}
	if l.MTU != 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := c.h.LinkSetMTU(nl, l.MTU); err != nil {
			return fmt.Errorf("set mtu: %w", err)
		}
	}
	if l.MAC != "" {
		mac, err := net.ParseMAC(l.MAC)
		if err != nil {
			return fmt.Errorf("mac: %w", err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := c.h.LinkSetHardwareAddr(nl, mac); err != nil {
			return fmt.Errorf("set mac: %w", err)
		}
	}
	return nil
}

// finishLink marks a new link, gives it its real name, and sets its master
// and state, stopping before any of these messages once ctx is cancelled.
// A message the kernel refuses (the name taken, a master that is no
// bridge) deletes the link, and a veth's peer with it, so that a failed
// LinkAdd leaves nothing, as the fake's; a cancelled one leaves the link
// to the next up. index is the new link's ifindex when the caller knows
// it, else 0, and the link is found by its temporary name.
func finishLink(ctx context.Context, c *nsConn, tmp string, index int, l *state.Link) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var nl netlink.Link = &netlink.Device{LinkAttrs: netlink.LinkAttrs{Name: tmp, Index: index}}
	if index == 0 {
		var err error
		if nl, err = c.h.LinkByName(tmp); err != nil {
			return fmt.Errorf("link %s: find new link: %w", l.Name, err)
		}
	}
	if err := finishFound(ctx, c, nl, l); err != nil {
		if ctx.Err() == nil {
			c.h.LinkDel(nl) // by ifindex: never a link of the real name that was in the way
		}
		return err
	}
	if !l.Egress.IsZero() {
		// Named and marked already: a refusal leaves drift that the
		// next up repairs.
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := setEgress(c, nl.Attrs().Index, l.Egress); err != nil {
			return fmt.Errorf("link %s: %w", l.Name, err)
		}
	}
	return nil
}

// finishFound gives the link found its marker, its real name, its master
// and its state in one message (setLinkAttrs): a thousand-port bridge's
// star makes two thousand links, and each of these was a round trip.
func finishFound(ctx context.Context, c *nsConn, nl netlink.Link, l *state.Link) error {
	masterIndex := 0
	if l.Master != "" {
		m, err := c.h.LinkByName(l.Master)
		if err != nil {
			return fmt.Errorf("link %s: find master %s: %w", l.Name, l.Master, err)
		}
		masterIndex = m.Attrs().Index
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := c.setLinkAttrs(nl.Attrs().Index, l.Name, l.Alias, masterIndex, l.Up); err != nil {
		return fmt.Errorf("link %s: set name, alias, master and state: %w", l.Name, err)
	}
	return nil
}

func setMaster(c *nsConn, nl netlink.Link, master string) error {
	m, err := c.h.LinkByName(master)
	if err != nil {
		return fmt.Errorf("find master %s: %w", master, err)
	}
	if err := c.h.LinkSetMasterByIndex(nl, m.Attrs().Index); err != nil {
		return fmt.Errorf("set master %s: %w", master, err)
	}
	return nil
}

// tempName is a short random interface name for a link being created.
func tempName() string {
	var b [5]byte
	if _, err := unix.Getrandom(b[:], 0); err != nil {
		panic("kernel: getrandom: " + err.Error())
	}
	return fmt.Sprintf("%s%x", state.TempLinkPrefix, b)
}

// LinkDel deletes a link; a link already gone is not an error.
func (k *Linux) LinkDel(ctx context.Context, netnsName, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c, l, err := k.link(netnsName, name)
	if err != nil {
		if IsNotFound(err) || isLinkNotFound(err) {
			return nil
		}
		return fmt.Errorf("link %s: %w", name, err)
	}
	if netnsName == state.HostNetNS {
		// In the machine's namespace only what netlab marked is deleted,
		// whatever the plan says.
		if _, _, ok := state.ParseLinkMarker(l.Attrs().Alias); !ok {
			return &ForeignError{NetNS: netnsName, Name: name}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := c.h.LinkDel(l); err != nil && !IsNotFound(err) {
		return fmt.Errorf("link %s: delete: %w", name, err)
	}
	return nil
}

func isLinkNotFound(err error) bool {
	var nf netlink.LinkNotFoundError
	return errors.As(err, &nf)
}

// LinkSet changes attributes of an existing link.
func (k *Linux) LinkSet(ctx context.Context, netnsName string, l *state.Link, attrs []state.LinkAttr) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c, nl, err := k.link(netnsName, l.Name)
	if err != nil {
		return fmt.Errorf("link %s: %w", l.Name, err)
	}
	for _, a := range attrs {
		if err := ctx.Err(); err != nil {
			return err
		}
		switch a {
		case state.AttrMaster:
			if l.Master == "" {
				err = c.h.LinkSetNoMaster(nl)
			} else {
				err = setMaster(c, nl, l.Master)
			}
		case state.AttrMTU:
			err = c.h.LinkSetMTU(nl, l.MTU)
		case state.AttrMAC:
			var mac net.HardwareAddr
			if mac, err = net.ParseMAC(l.MAC); err == nil {
				err = c.h.LinkSetHardwareAddr(nl, mac)
			}
		case state.AttrAlias:
			err = c.h.LinkSetAlias(nl, l.Alias)
			k.aliasChanged(c)
		case state.AttrUp:
			if l.Up {
				err = c.h.LinkSetUp(nl)
			} else {
				err = c.h.LinkSetDown(nl)
			}
		case state.AttrSourceMACs:
			err = setSourceMACs(c, nl, l.SourceMACs)
		case state.AttrFDB:
			err = syncFDB(ctx, c, nl, l)
		case state.AttrSTP:
			err = setSTP(c, nl.Attrs().Index, l)
		case state.AttrPort:
			if l.BridgePort != nil {
				err = setPortFlags(c, nl.Attrs().Index, *l.BridgePort)
			}
		case state.AttrNeighbors:
			err = k.syncNeighbors(ctx, c, nl.Attrs().Index, l)
		case state.AttrEgress:
			err = setEgress(c, nl.Attrs().Index, l.Egress)
		default:
			err = errors.ErrUnsupported
		}
		if err != nil {
			return fmt.Errorf("link %s: set %s: %w", l.Name, a, err)
		}
	}
	return nil
}

// observeLinks reads the links of a namespace, by ifindex, with their
// masters and kind-specific settings.
func observeLinks(c *nsConn, lab string, links []netlink.Link) (map[int]*state.Link, error) {
	byIndex := make(map[int]*state.Link, len(links))
	for _, nl := range links {
		a := nl.Attrs()
		l := &state.Link{
			Name:      a.Name,
			Kind:      kindOf(nl),
			MTU:       a.MTU,
			MAC:       a.HardwareAddr.String(),
			Up:        a.Flags&net.FlagUp != 0,
			Alias:     a.Alias,
			Index:     a.Index,
			OperState: a.OperState.String(),
		}
		ReadLinkMarker(l, lab)
		if l.Kind == device.Veth {
			l.PeerIndex = a.ParentIndex
		}
		l.Stats = counters(a.Statistics)
		byIndex[a.Index] = l
	}
	if err := observeEgress(c, byIndex); err != nil {
		return nil, err
	}
	bridges := false
	for _, nl := range links {
		if l := byIndex[nl.Attrs().Index]; l.Kind == device.Bridge {
			bridges = true
			if err := observeSTP(c, l); err != nil {
				return nil, fmt.Errorf("link %s: %w", l.Name, err)
			}
		}
		if err := observeDevice(c, nl, byIndex[nl.Attrs().Index], byIndex); err != nil {
			return nil, fmt.Errorf("link %s: %w", nl.Attrs().Name, err)
		}
		if m := nl.Attrs().MasterIndex; m != 0 {
			if master, ok := byIndex[m]; ok {
				byIndex[nl.Attrs().Index].Master = master.Name
			}
		}
	}
	if bridges {
		if err := observePorts(c, byIndex); err != nil {
			return nil, err
		}
	}
	if err := observeNeighbors(c, byIndex); err != nil {
		return nil, err
	}
	return byIndex, nil
}

// kindOf names a link's kind as the lab file does.
func kindOf(nl netlink.Link) device.Kind {
	switch t := nl.(type) {
	case *netlink.Tuntap:
		if t.Mode == netlink.TUNTAP_MODE_TAP {
			return device.Tap
		}
		return device.Tun
	case *netlink.Device:
		if nl.Attrs().Flags&net.FlagLoopback != 0 {
			return device.Loopback
		}
	}
	return device.Kind(nl.Type())
}

// observeLearned reads, when the namespace has a bridge, the MAC addresses
// each bridge port has learned (the dynamic entries of the bridge's
// forwarding database), so that status shows a bridge's MAC learning.
func observeLearned(c *nsConn, byIndex map[int]*state.Link) error {
	hasBridge := false
	for _, l := range byIndex {
		if l.Kind == device.Bridge {
			hasBridge = true
		}
	}
	if !hasBridge {
		return nil
	}
	neighs, err := retryDump("list bridge fdb", func() ([]netlink.Neigh, error) { return c.h.NeighList(0, unix.AF_BRIDGE) })
	if err != nil {
		return err
	}
	for _, e := range neighs {
		port, ok := byIndex[e.LinkIndex]
		master, isPort := byIndex[e.MasterIndex]
		// Learned entries are dynamic and belong to a bridge; the ports'
		// own addresses are permanent.
		if !ok || !isPort || master.Kind != device.Bridge || e.State&(unix.NUD_PERMANENT|unix.NUD_NOARP) != 0 || e.HardwareAddr == nil {
			continue
		}
		port.Learned = append(port.Learned, e.HardwareAddr.String())
	}
	for _, l := range byIndex {
		sort.Strings(l.Learned)
	}
	return nil
}
