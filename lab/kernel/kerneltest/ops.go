package kerneltest

// The write methods of kernel.Kernel, each with the checks the kernel makes.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"netlab/lab/device"
	"netlab/lab/kernel"
	"netlab/lab/state"
)

// NetNSAdd creates and marks a node's namespace, or marks again one that
// carries the node's marker.
func (f *Fake) NetNSAdd(ctx context.Context, lab, node string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.beginLocked(ctx, "NetNSAdd"); err != nil {
		return err
	}
	name := state.NetNSName(lab, node)
	marker := state.NodeMarker(lab, node)
	ns := f.netns[name]
	if ns != nil {
		if !ns.marked(lab, node) {
			return &kernel.ForeignError{NetNS: name}
		}
		// Ours already: lo is set up again.
		lo := ns.byName("lo")
		if !lo.up {
			return f.sendLocked(ctx, func() error {
				f.setUpLocked(ns, lo, true)
				return nil
			})
		}
		return nil
	}
	// As kernel.Linux does it: the mount point file (a stub, reused if an
	// interrupted create left one), then the namespace, marked with lo up
	// from inside before it is mounted there, so that it appears whole.
	// ctx cannot cut it once begun.
	if !f.stubs[name] {
		if err := f.sendLocked(context.Background(), func() error {
			f.stubs[name] = true
			return nil
		}); err != nil {
			return err
		}
	}
	return f.sendLocked(context.Background(), func() error {
		delete(f.stubs, name)
		ns := f.addNetNSLocked(name)
		for _, sc := range state.NetNSSysctls {
			ns.sysctls[sc.Key] = sc.Value
		}
		lo := ns.byName("lo")
		lo.alias = marker
		f.setUpLocked(ns, lo, true)
		return nil
	})
}

// NetNSDel deletes a namespace that netlab marked; one already gone is not
// an error.
func (f *Fake) NetNSDel(ctx context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.beginLocked(ctx, "NetNSDel"); err != nil {
		return err
	}
	lab, node, ok := state.SplitNetNSName(name)
	if !ok {
		return fmt.Errorf("delete namespace %q: not a netlab name", name)
	}
	if f.stubs[name] {
		// An interrupted create's empty mount point.
		return f.sendLocked(ctx, func() error {
			delete(f.stubs, name)
			return nil
		})
	}
	ns := f.netns[name]
	if ns == nil {
		return nil
	}
	if !ns.marked(lab, node) {
		return &kernel.ForeignError{NetNS: name}
	}
	return f.sendLocked(ctx, func() error {
		f.delNetNSLocked(ns)
		return nil
	})
}

// LinkAdd creates a link, and for a veth its peer in peerNS, with their
// attributes and markers.
func (f *Fake) LinkAdd(ctx context.Context, netns string, l *state.Link, peerNS string, peer *state.Link) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.beginLocked(ctx, "LinkAdd"); err != nil {
		return err
	}
	ns, err := f.netnsLocked(netns)
	if err != nil {
		return err
	}
	switch {
	case l.Kind == device.Veth:
		if peer == nil {
			return fmt.Errorf("link %s: veth without a peer: %w", l.Name, unix.EINVAL)
		}
	case l.Kind == device.Bridge, l.Kind == device.Tun, l.Kind == device.Tap:
	case l.Kind == device.MACVLAN, l.Kind == device.VXLAN, l.Kind == device.VLAN:
	default:
		return fmt.Errorf("link %s: kind %s: %w", l.Name, l.Kind, errors.ErrUnsupported)
	}
	if err := f.lacksLinkLocked(l); err != nil {
		return err
	}
	if peer != nil {
		if err := f.lacksEgressLocked(peer); err != nil {
			return err
		}
	}
	a, err := newLink(ns, l, l.Kind)
	if err != nil {
		return err
	}
	if err := f.lowerLocked(ns, a, l); err != nil {
		return err
	}
	if limit := f.maxMTULocked(a); l.Kind == device.MACVLAN && limit != 0 && a.mtu > limit {
		return fmt.Errorf("link %s: mtu %d above its parent's %d: %w", l.Name, a.mtu, limit, unix.EINVAL)
	}
	if l.Kind != device.Veth {
		return f.makeLinkLocked(ctx, ns, a, l)
	}
	pns, err := f.netnsLocked(peerNS)
	if err != nil {
		return err
	}
	b, err := newLink(pns, peer, device.Veth)
	if err != nil {
		return err
	}
	if pns == ns && peer.Name == l.Name {
		return fmt.Errorf("link %s: peer has the same name: %w", l.Name, unix.EEXIST)
	}
	// Both ends under temporary names, in one message; then each is
	// finished in its own namespace.
	a.name, a.alias = f.tempNameLocked(), ""
	b.name, b.alias = f.tempNameLocked(), ""
	if err := f.sendLocked(ctx, func() error {
		f.addVethLocked(ns, a, "", false, pns, b, "", false)
		return nil
	}); err != nil {
		return err
	}
	if err := f.finishLinkLocked(made(ctx, ns.name), ns, a, l); err != nil {
		return err
	}
	return f.finishLinkLocked(made(ctx, pns.name), pns, b, peer)
}

// makeLinkLocked creates a checked link other than a veth in the messages
// kernel.Linux sends: the link under a temporary name, with its MTU and
// MAC (a tun's or tap's in messages of their own, as the ioctls that make
// one set neither) and a vxlan with the kernel's own forwarding entry; a
// macvlan's source MACs; then finishLinkLocked's; then a vxlan's other
// forwarding entries.
func (f *Fake) makeLinkLocked(ctx context.Context, ns *fakeNetNS, a *fakeLink, l *state.Link) error {
	a.name, a.alias = f.tempNameLocked(), ""
	sourceMACs, fdb := a.dev.SourceMACs, a.dev.FDB
	a.dev.SourceMACs, a.dev.FDB = nil, nil
	if e, ok := a.dev.KernelFDB(); ok && l.Kind == device.VXLAN {
		a.dev.FDB = []state.FDBEntry{e}
	}
	tuntap := l.Kind == device.Tun || l.Kind == device.Tap
	mtu, mtuSet, mac, macSet := a.mtu, a.mtuSet, a.mac, a.macSet
	if tuntap {
		a.mtu, a.mtuSet, a.mac, a.macSet = 0, false, "", false
	}
	if err := f.sendLocked(ctx, func() error {
		f.addLinkLocked(ns, a, "", false)
		return nil
	}); err != nil {
		return err
	}
	ctx = made(ctx, ns.name)
	var after []func() error
	if tuntap && mtuSet {
		after = append(after, func() error { a.mtu, a.mtuSet = mtu, true; return nil })
	}
	if tuntap && macSet {
		after = append(after, func() error { a.mac, a.macSet = mac, true; return nil })
	}
	if len(sourceMACs) > 0 {
		after = append(after, func() error { a.dev.SourceMACs = sourceMACs; return nil })
	}
	for _, msg := range after {
		if err := f.sendLocked(ctx, msg); err != nil {
			return err
		}
	}
	if err := f.finishLinkLocked(ctx, ns, a, l); err != nil {
		return err
	}
	if l.Kind == device.VXLAN {
		return f.syncFDBLocked(ctx, a, fdb)
	}
	return nil
}

// finishLinkLocked marks a new link, gives it its real name, its master
// and its state, one message each, as kernel.Linux's finishLink does.
func (f *Fake) finishLinkLocked(ctx context.Context, ns *fakeNetNS, fl *fakeLink, l *state.Link) error {
	alias, name, master, up := l.Alias, l.Name, l.Master, true
	steps := []linkSet{{alias: &alias}, {name: &name}}
	if l.Master != "" {
		steps = append(steps, linkSet{master: &master})
	}
	if l.Up {
		steps = append(steps, linkSet{up: &up})
	}
	for _, s := range steps {
		if err := f.sendLocked(ctx, func() error {
			if err := f.linkSetLocked(ns, fl, s); err != nil {
				return fmt.Errorf("link %s: %w", l.Name, err)
			}
			return nil
		}); err != nil {
			return err
		}
	}
	if !l.Egress.IsZero() {
		// kernel.Linux's finishLink: the qdisc, one message more.
		return f.sendLocked(ctx, func() error { fl.egress = l.Egress; return nil })
	}
	return nil
}

// lowerLocked finds the device a new macvlan (its parent, of the same or
// another node of the lab) or vxlan (its dev) sits on, which must exist,
// and records the link's settings.
func (f *Fake) lowerLocked(ns *fakeNetNS, a *fakeLink, l *state.Link) error {
	a.dev = l.Device
	for _, mac := range l.SourceMACs {
		if _, err := parseMAC(mac); err != nil {
			return fmt.Errorf("link %s: source-macs: %w", l.Name, err)
		}
	}
	a.dev.SourceMACs = slices.Clone(l.SourceMACs)
	a.dev.FDB = slices.Clone(l.FDB)
	if e, ok := a.dev.KernelFDB(); ok && l.Kind == device.VXLAN && !slices.Contains(a.dev.FDB, e) {
		// The kernel's own entry for the remote or group.
		a.dev.FDB = append(a.dev.FDB, e)
		state.SortFDB(a.dev.FDB)
	}
	a.dev.TunOwner, a.dev.TunGroup = cloneID(l.TunOwner), cloneID(l.TunGroup)
	a.dev.ParentIndex, a.dev.ParentNetNSID = 0, 0
	lowerNS, lower := ns, ""
	switch l.Kind {
	case device.MACVLAN:
		_, name, _ := strings.Cut(l.Parent, ":")
		lower = name
		if l.ParentNetNS != "" && l.ParentNetNS != ns.name {
			pns, err := f.netnsLocked(l.ParentNetNS)
			if err != nil {
				return fmt.Errorf("link %s: parent %s: %w", l.Name, l.Parent, err)
			}
			lowerNS = pns
		}
	case device.VXLAN:
		lower = l.Dev
		// Made in another namespace (a machine's) straight into ns: the
		// kernel then reports its socket's namespace as another one.
		a.dev.UnderlayNetNS = ""
		if l.UnderlayNetNS != "" && l.UnderlayNetNS != ns.name {
			if _, err := f.netnsLocked(l.UnderlayNetNS); err != nil {
				return fmt.Errorf("link %s: underlay: %w", l.Name, err)
			}
			a.dev.UnderlayNetNS = state.HostNetNS
		}
	case device.VLAN:
		lower = l.VLANParent
		if lower == "" {
			return fmt.Errorf("link %s: vlan without a parent: %w", l.Name, unix.EINVAL)
		}
	}
	if lower == "" {
		return nil
	}
	lk := lowerNS.byName(lower)
	if lk == nil {
		return fmt.Errorf("link %s: lower device %s: %w", l.Name, lower, unix.ENODEV)
	}
	a.lowerNS, a.lower = lowerNS.name, lk.index
	return nil
}

// newLink checks what a new link asks for and returns it, not yet added.
func newLink(ns *fakeNetNS, l *state.Link, kind device.Kind) (*fakeLink, error) {
	if err := checkIfName(l.Name); err != nil {
		return nil, err
	}
	if ns.byName(l.Name) != nil {
		return nil, fmt.Errorf("link %s in %s: %w", l.Name, ns.name, unix.EEXIST)
	}
	fl := &fakeLink{name: l.Name, kind: kind, alias: l.Alias, port: state.DefaultPortFlags}
	setBridgeLocked(fl, l, []state.LinkAttr{state.AttrSTP, state.AttrPort, state.AttrNeighbors})
	if l.MTU != 0 {
		if l.MTU < state.MinMTU || l.MTU > kindMaxMTU(kind) {
			return nil, fmt.Errorf("link %s: mtu %d: %w", l.Name, l.MTU, unix.EINVAL)
		}
		fl.mtu, fl.mtuSet = l.MTU, true
	}
	if l.MAC != "" {
		if kind == device.Tun {
			return nil, fmt.Errorf("link %s: mac: a tun has no Ethernet address: %w", l.Name, unix.EOPNOTSUPP)
		}
		mac, err := parseMAC(l.MAC)
		if err != nil {
			return nil, fmt.Errorf("link %s: %w", l.Name, err)
		}
		fl.mac, fl.macSet = mac, true
	}
	if l.Master != "" {
		if _, err := ns.masterFor(fl, l.Master); err != nil {
			return nil, fmt.Errorf("link %s: %w", l.Name, err)
		}
	}
	return fl, nil
}

func checkIfName(name string) error {
	// A '%' makes the name a template the kernel fills in: netlab never
	// asks for one.
	if name == "" || len(name) > maxIfNameLen || strings.ContainsAny(name, "/: \t\n%") || name == "." || name == ".." {
		return fmt.Errorf("interface name %q: %w", name, unix.EINVAL)
	}
	return nil
}

func parseMAC(s string) (string, error) {
	mac, err := net.ParseMAC(s)
	if err != nil || len(mac) != 6 {
		return "", fmt.Errorf("mac %q: %w", s, unix.EINVAL)
	}
	if mac[0]&1 != 0 || mac.String() == "00:00:00:00:00:00" {
		return "", fmt.Errorf("mac %s is not a unicast address: %w", mac, unix.EADDRNOTAVAIL)
	}
	return mac.String(), nil
}

// LinkDel deletes a link and, for a veth, its peer; a link (or namespace)
// already gone is not an error.
func (f *Fake) LinkDel(ctx context.Context, netns, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.beginLocked(ctx, "LinkDel"); err != nil {
		return err
	}
	ns := f.netns[netns]
	if ns == nil {
		return nil
	}
	fl := ns.byName(name)
	if fl == nil {
		return nil
	}
	if _, _, ok := state.ParseLinkMarker(fl.alias); netns == state.HostNetNS && !ok {
		return &kernel.ForeignError{NetNS: netns, Name: name}
	}
	if fl.kind == device.Loopback {
		return fmt.Errorf("link %s: delete: %w", name, unix.EOPNOTSUPP)
	}
	return f.sendLocked(ctx, func() error {
		f.delLinkLocked(ns, fl)
		return nil
	})
}

// LinkSet changes the named attributes of a link to those in l.
func (f *Fake) LinkSet(ctx context.Context, netns string, l *state.Link, attrs []state.LinkAttr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.beginLocked(ctx, "LinkSet"); err != nil {
		return err
	}
	ns, err := f.netnsLocked(netns)
	if err != nil {
		return err
	}
	fl := ns.byName(l.Name)
	if fl == nil {
		return fmt.Errorf("link %s: %w", l.Name, unix.ENODEV)
	}
	set := linkSet{}
	for _, a := range attrs {
		switch a {
		case state.AttrMaster:
			set.master = &l.Master
		case state.AttrMTU:
			set.mtu = &l.MTU
		case state.AttrMAC:
			set.mac = &l.MAC
		case state.AttrAlias:
			set.alias = &l.Alias
		case state.AttrUp:
			set.up = &l.Up
		case state.AttrSourceMACs:
			if fl.kind != device.MACVLAN {
				return fmt.Errorf("link %s: source macs of a %s: %w", l.Name, fl.kind, unix.EOPNOTSUPP)
			}
			for _, mac := range l.SourceMACs {
				if _, err := parseMAC(mac); err != nil {
					return fmt.Errorf("link %s: source-macs: %w", l.Name, err)
				}
			}
		case state.AttrFDB:
			if fl.kind != device.VXLAN {
				return fmt.Errorf("link %s: fdb of a %s: %w", l.Name, fl.kind, unix.EOPNOTSUPP)
			}
		case state.AttrSTP, state.AttrPort, state.AttrNeighbors:
			if err := checkBridgeSet(fl, l, a); err != nil {
				return err
			}
		case state.AttrEgress:
			if err := f.lacksEgressLocked(l); err != nil {
				return err
			}
		default:
			return fmt.Errorf("link %s: set %s: %w", l.Name, a, errors.ErrUnsupported)
		}
	}
	master, mac, err := f.checkLinkSetLocked(ns, fl, set)
	if err != nil {
		return fmt.Errorf("link %s: %w", l.Name, err)
	}
	// Checked: now one message an attribute, as kernel.Linux sends them
	// (a vxlan's fdb one an entry), any of which may be the last.
	for _, a := range attrs {
		var one linkSet
		switch a {
		case state.AttrMaster:
			one.master = set.master
		case state.AttrMTU:
			one.mtu = set.mtu
		case state.AttrMAC:
			one.mac = set.mac
		case state.AttrAlias:
			one.alias = set.alias
		case state.AttrUp:
			one.up = set.up
		case state.AttrSourceMACs:
			err = f.sendLocked(ctx, func() error {
				fl.dev.SourceMACs = slices.Clone(l.SourceMACs)
				return nil
			})
		case state.AttrFDB:
			err = f.syncFDBLocked(ctx, fl, l.FDB)
		case state.AttrSTP, state.AttrPort, state.AttrNeighbors:
			err = f.sendLocked(ctx, func() error {
				setBridgeLocked(fl, l, []state.LinkAttr{a})
				return nil
			})
		case state.AttrEgress:
			err = f.sendLocked(ctx, func() error { fl.egress = l.Egress; return nil })
		}
		if one != (linkSet{}) {
			err = f.sendLocked(ctx, func() error {
				f.applyLinkSetLocked(ns, fl, one, master, mac)
				return nil
			})
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// syncFDBLocked makes a vxlan's forwarding entries want, as kernel.Linux
// does: one message for each entry to delete, then for each to append.
func (f *Fake) syncFDBLocked(ctx context.Context, fl *fakeLink, want []state.FDBEntry) error {
	for _, e := range slices.Clone(fl.dev.FDB) {
		if slices.Contains(want, e) {
			continue
		}
		if err := f.sendLocked(ctx, func() error {
			fl.dev.FDB = slices.DeleteFunc(fl.dev.FDB, func(x state.FDBEntry) bool { return x == e })
			return nil
		}); err != nil {
			return err
		}
	}
	for _, e := range want {
		if slices.Contains(fl.dev.FDB, e) {
			continue
		}
		if err := f.sendLocked(ctx, func() error {
			fl.dev.FDB = append(fl.dev.FDB, e)
			state.SortFDB(fl.dev.FDB)
			return nil
		}); err != nil {
			return err
		}
	}
	fl.dev.FDB = slices.Clone(want) // the same entries, in want's order
	return nil
}

// linkSet is what an `ip link set` changes; nil fields stay as they are.
type linkSet struct {
	master *string
	mtu    *int
	mac    *string
	alias  *string
	up     *bool
	stp    *bool
	name   *string
}

// kindMaxMTU is the most MTU the kernel takes for a device of the kind,
// whatever its lower device: a tap's frames must fit in what it reads,
// and lo has no limit.
func kindMaxMTU(kind device.Kind) int {
	switch kind {
	case device.Tap:
		return state.MaxTapMTU
	case device.Loopback:
		return math.MaxInt32
	}
	return state.MaxMTU
}

// linkSetLocked checks every change first, then makes them all.
func (f *Fake) linkSetLocked(ns *fakeNetNS, fl *fakeLink, s linkSet) error {
	master, mac, err := f.checkLinkSetLocked(ns, fl, s)
	if err != nil {
		return err
	}
	f.applyLinkSetLocked(ns, fl, s, master, mac)
	return nil
}

// checkLinkSetLocked checks the changes of s, and returns the master and
// MAC they name.
func (f *Fake) checkLinkSetLocked(ns *fakeNetNS, fl *fakeLink, s linkSet) (master *fakeLink, mac string, err error) {
	if s.master != nil && *s.master != "" {
		if master, err = ns.masterFor(fl, *s.master); err != nil {
			return nil, "", err
		}
	}
	// lo has no least or most MTU (loopback_setup sets neither): the
	// kernel takes 65536, its own default, and more.
	if s.mtu != nil && fl.kind != device.Loopback && (*s.mtu < state.MinMTU || *s.mtu > kindMaxMTU(fl.kind)) {
		return nil, "", fmt.Errorf("mtu %d: %w", *s.mtu, unix.EINVAL)
	}
	if limit := f.maxMTULocked(fl); s.mtu != nil && limit != 0 && *s.mtu > limit {
		return nil, "", fmt.Errorf("mtu %d of a %s above its lower device's %d: %w", *s.mtu, fl.kind, limit, unix.EINVAL)
	}
	if s.mac != nil && fl.kind == device.Tun {
		return nil, "", fmt.Errorf("mac: a tun has no Ethernet address: %w", unix.EOPNOTSUPP)
	}
	if s.mac != nil {
		if mac, err = parseMAC(*s.mac); err != nil {
			return nil, "", err
		}
	}
	if s.stp != nil && fl.kind != device.Bridge {
		return nil, "", fmt.Errorf("stp_state on %s %s: %w", fl.kind, fl.name, unix.EOPNOTSUPP)
	}
	if s.name != nil {
		if err := checkIfName(*s.name); err != nil {
			return nil, "", err
		}
		if other := ns.byName(*s.name); other != nil && other != fl {
			return nil, "", fmt.Errorf("rename to %s: %w", *s.name, unix.EEXIST)
		}
	}
	return master, mac, nil
}

// applyLinkSetLocked makes the checked changes of s.
func (f *Fake) applyLinkSetLocked(ns *fakeNetNS, fl *fakeLink, s linkSet, master *fakeLink, mac string) {
	if s.name != nil {
		fl.name = *s.name
	}
	if s.alias != nil {
		fl.alias = *s.alias
	}
	if s.mac != nil {
		if fl.mac != mac {
			fl.neighbors, fl.handNeighbors = nil, nil // neigh_changeaddr flushes them, permanent ones too
		}
		fl.mac, fl.macSet = mac, true
	}
	if s.stp != nil {
		fl.stp = *s.stp
	}
	if s.mtu != nil {
		fl.mtu, fl.mtuSet = *s.mtu, true
		if fl.mtu < state.IPv6MinMTU {
			fl.addrs = slices.DeleteFunc(fl.addrs, func(p netip.Prefix) bool { return p.Addr().Is6() })
		}
		f.portsChangedLocked(ns, fl.master)
		f.lowerMTUChangedLocked(ns, fl)
	}
	if s.master != nil {
		old := fl.master
		fl.master = 0
		if master != nil {
			fl.master = master.index
		}
		f.portsChangedLocked(ns, old)
		f.portsChangedLocked(ns, fl.master)
	}
	if s.up != nil {
		f.setUpLocked(ns, fl, *s.up)
	}
}

// AddrAdd adds an address to a link; one already there is not an error.
func (f *Fake) AddrAdd(ctx context.Context, netns, link string, p netip.Prefix) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.beginLocked(ctx, "AddrAdd"); err != nil {
		return err
	}
	ns, err := f.netnsLocked(netns)
	if err != nil {
		return err
	}
	return f.sendLocked(ctx, func() error { return addAddr(ns, link, p) })
}

func addAddr(ns *fakeNetNS, link string, p netip.Prefix) error {
	fl := ns.byName(link)
	if fl == nil {
		return fmt.Errorf("addr %s: link %s: %w", p, link, unix.ENODEV)
	}
	if !p.IsValid() || p.Addr().Zone() != "" {
		return fmt.Errorf("addr %s dev %s: %w", p, link, unix.EINVAL)
	}
	if p.Addr().Is6() && ns.ipv6Off(fl) {
		return fmt.Errorf("addr %s dev %s: IPv6 is disabled on this device: %w", p, link, unix.EACCES)
	}
	if p.Addr().Is6() && fl.mtu < state.IPv6MinMTU && fl.kind != device.Loopback {
		return fmt.Errorf("addr %s dev %s: IPv6 below mtu %d: %w", p, link, state.IPv6MinMTU, unix.EINVAL)
	}
	for _, a := range fl.addrs {
		// The kernel knows an IPv6 address by itself alone, an IPv4 one
		// with its prefix length; either way, EEXIST is success to netlab.
		if a == p || (p.Addr().Is6() && a.Addr() == p.Addr()) {
			return nil
		}
	}
	fl.addrs = append(fl.addrs, p)
	state.SortAddrs(fl.addrs)
	return nil
}

// AddrDel removes an address; a link or address already gone is not an
// error. A link left without IPv4 addresses loses its IPv4 routes.
func (f *Fake) AddrDel(ctx context.Context, netns, link string, p netip.Prefix) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.beginLocked(ctx, "AddrDel"); err != nil {
		return err
	}
	ns := f.netns[netns]
	if ns == nil {
		return nil // the namespace is gone, and the address with it, as kernel.Linux has it
	}
	return f.sendLocked(ctx, func() error {
		delAddr(ns, link, p)
		return nil
	})
}

func delAddr(ns *fakeNetNS, link string, p netip.Prefix) {
	fl := ns.byName(link)
	if fl == nil {
		return
	}
	i := slices.Index(fl.addrs, p)
	if i < 0 {
		return
	}
	fl.addrs = slices.Delete(fl.addrs, i, i+1)
	if p.Addr().Is4() && !slices.ContainsFunc(fl.addrs, func(a netip.Prefix) bool { return a.Addr().Is4() }) {
		ns.flushRoutes(fl.index, func(r *fakeRoute) bool { return r.to.Addr().Is4() })
	}
}

// RouteReplace adds a route marked with state.RouteProtocol, or replaces
// the one with the same destination and metric.
func (f *Fake) RouteReplace(ctx context.Context, netns string, r state.Route) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.beginLocked(ctx, "RouteReplace"); err != nil {
		return err
	}
	ns, err := f.machineSafeLocked(netns, "RouteReplace")
	if err != nil {
		return err
	}
	return f.sendLocked(ctx, func() error {
		if err := ns.replaceRoute(r, state.RouteProtocol); err != nil {
			return fmt.Errorf("route %s: %w", r.Key(), err)
		}
		return nil
	})
}

// replaceRoute resolves a route's device as the kernel does and stores it.
func (ns *fakeNetNS) replaceRoute(r state.Route, proto int) error {
	if !r.To.IsValid() || r.To != r.To.Masked() {
		return fmt.Errorf("destination %s: %w", r.To, unix.EINVAL)
	}
	if r.Via.IsValid() && r.Via.Is4() != r.To.Addr().Is4() {
		return fmt.Errorf("gateway %s for %s: %w", r.Via, r.To, unix.EINVAL)
	}
	if r.Table == 254 {
		r.Table = 0 // main, as state.Route writes it
	}
	fr := &fakeRoute{to: r.To, via: r.Via, dev: r.Dev, metric: state.RouteMetric(r.To, r.Metric), table: r.Table, proto: proto}
	var dev *fakeLink
	if r.Dev != "" {
		if dev = ns.byName(r.Dev); dev == nil {
			return fmt.Errorf("dev %s: %w", r.Dev, unix.ENODEV)
		}
		if !dev.up {
			return fmt.Errorf("dev %s: nexthop device is not up: %w", r.Dev, unix.ENETDOWN)
		}
		if r.To.Addr().Is6() && dev.mtu < state.IPv6MinMTU && dev.kind != device.Loopback {
			return fmt.Errorf("dev %s: no IPv6 below mtu %d: %w", r.Dev, state.IPv6MinMTU, unix.ENODEV)
		}
	}
	switch {
	case r.Via.IsValid() && r.Via.Is6() && r.Via.IsLinkLocalUnicast():
		if dev == nil {
			return fmt.Errorf("link-local gateway %s needs a device: %w", r.Via, unix.EINVAL)
		}
	case r.Via.IsValid():
		gwDev := ns.onLink(r.Via, dev)
		if gwDev == nil {
			return fmt.Errorf("gateway %s: %w", r.Via, unix.ENETUNREACH)
		}
		dev = gwDev
	case dev == nil:
		return fmt.Errorf("route %s needs a gateway or a device: %w", r.To, unix.ENODEV)
	}
	fr.oif = dev.index
	for i, old := range ns.routes {
		if old.to == fr.to && old.metric == fr.metric && old.table == fr.table {
			ns.routes[i] = fr
			return nil
		}
	}
	ns.routes = append(ns.routes, fr)
	return nil
}

// onLink returns the up device (only dev, if given) with an address whose
// subnet holds gw, or nil.
func (ns *fakeNetNS) onLink(gw netip.Addr, dev *fakeLink) *fakeLink {
	for _, fl := range ns.sortedLinks() {
		if (dev != nil && fl != dev) || !fl.up {
			continue
		}
		for _, a := range fl.addrs {
			if a.Masked().Contains(gw) && a.Addr() != gw {
				return fl
			}
		}
	}
	return nil
}

// RouteDel deletes the route with r's destination, table and metric (with metric
// 0, the one of lowest metric, as the kernel does); one already gone is not
// an error.
func (f *Fake) RouteDel(ctx context.Context, netns string, r state.Route) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.beginLocked(ctx, "RouteDel"); err != nil {
		return err
	}
	ns, err := f.machineSafeLocked(netns, "RouteDel")
	if errors.Is(err, unix.ENOENT) {
		return nil // the namespace is gone, and the route with it, as kernel.Linux has it
	}
	if err != nil {
		return err
	}
	return f.sendLocked(ctx, func() error {
		ns.delRoute(r)
		return nil
	})
}

func (ns *fakeNetNS) delRoute(r state.Route) {
	del := -1
	for i, old := range ns.routes {
		if old.to == r.To && old.table == r.Table && (old.metric == r.Metric || (r.Metric == 0 && (del < 0 || old.metric < ns.routes[del].metric))) {
			del = i
		}
	}
	if del >= 0 {
		ns.routes = slices.Delete(ns.routes, del, del+1)
	}
}

// SysctlSet writes a net.* sysctl of a namespace.
func (f *Fake) SysctlSet(ctx context.Context, netns, key, value string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.beginLocked(ctx, "SysctlSet"); err != nil {
		return err
	}
	ns, err := f.machineSafeLocked(netns, "SysctlSet")
	if err != nil {
		return err
	}
	return f.sendLocked(ctx, func() error { return ns.setSysctl(key, value) })
}

// setSysctl writes a sysctl the namespace has; it reads back as the
// kernel prints it (state.SysctlValue). An integer sysctl takes only
// integers.
func (ns *fakeNetNS) setSysctl(key, value string) error {
	if !strings.HasPrefix(key, "net.") || strings.Contains(key, "/") || strings.Contains(key, "..") {
		return fmt.Errorf("invalid sysctl key %q", key)
	}
	def, ok := ns.sysctlDefault(key)
	if !ok {
		return fmt.Errorf("sysctl %s: %w", key, unix.ENOENT)
	}
	if sysctlMode(key) == kernel.SysctlReadOnly {
		return fmt.Errorf("sysctl %s: %w", key, unix.EACCES)
	}
	v := state.SysctlValue(value)
	if isInts(def) && !isInts(v) {
		return fmt.Errorf("sysctl %s = %q: %w", key, value, unix.EINVAL)
	}
	ns.sysctls[key] = v
	if dev, ok := strings.CutPrefix(key, "net.ipv6.conf."); ok {
		if dev, ok = strings.CutSuffix(dev, ".disable_ipv6"); ok {
			ns.disableIPv6Set(dev, v)
		}
	}
	return nil
}

// disableIPv6Set does what the kernel does on a write of dev's
// disable_ipv6: all's sets every link's and default's too.
func (ns *fakeNetNS) disableIPv6Set(dev, v string) {
	if dev == "all" {
		ns.sysctls["net.ipv6.conf.default.disable_ipv6"] = v
		for _, fl := range ns.sortedLinks() {
			ns.sysctls["net.ipv6.conf."+fl.name+".disable_ipv6"] = v
			ns.disableIPv6Changed(fl)
		}
		return
	}
	if fl := ns.byName(dev); fl != nil {
		ns.disableIPv6Changed(fl)
	}
}

// isInts reports whether a value read back is whole numbers only.
func isInts(v string) bool {
	for _, f := range strings.Fields(v) {
		if strings.TrimLeft(strings.TrimPrefix(f, "-"), "0123456789") != "" || strings.Trim(f, "-") == "" {
			return false
		}
	}
	return v != ""
}

// sysctlDefaults are the net.* sysctls a new namespace has, with the
// kernel's defaults: a part of the real kernel's list, as many as
// netlab's tests use and a few more. DEV stands for each device of the
// namespace, and for all (conf only) and default.
var sysctlDefaults = map[string]string{
	"net.core.somaxconn":                        "4096",
	"net.ipv4.icmp_echo_ignore_all":             "0",
	"net.ipv4.icmp_echo_ignore_broadcasts":      "1",
	"net.ipv4.ip_default_ttl":                   "64",
	"net.ipv4.ip_forward":                       "0",
	"net.ipv4.ip_local_port_range":              "32768 60999",
	"net.ipv4.ip_unprivileged_port_start":       "1024",
	"net.ipv4.ping_group_range":                 "1 0",
	"net.ipv4.tcp_congestion_control":           "cubic",
	"net.ipv4.tcp_available_congestion_control": "reno cubic",
	"net.ipv4.tcp_rmem":                         "4096 131072 6291456",
	"net.ipv4.tcp_syncookies":                   "1",
	"net.ipv4.tcp_wmem":                         "4096 16384 4194304",
	"net.ipv4.conf.DEV.accept_local":            "0",
	"net.ipv4.conf.DEV.accept_redirects":        "1",
	"net.ipv4.conf.DEV.arp_announce":            "0",
	"net.ipv4.conf.DEV.arp_ignore":              "0",
	"net.ipv4.conf.DEV.forwarding":              "0",
	"net.ipv4.conf.DEV.log_martians":            "0",
	"net.ipv4.conf.DEV.mc_forwarding":           "0",
	"net.ipv4.conf.DEV.proxy_arp":               "0",
	"net.ipv4.conf.DEV.route_localnet":          "0",
	"net.ipv4.conf.DEV.rp_filter":               "0",
	"net.ipv4.conf.DEV.send_redirects":          "1",
	"net.ipv4.neigh.DEV.base_reachable_time_ms": "30000",
	"net.ipv6.conf.DEV.accept_dad":              "1",
	"net.ipv6.conf.DEV.accept_ra":               "1",
	"net.ipv6.conf.DEV.autoconf":                "1",
	"net.ipv6.conf.DEV.disable_ipv6":            "0",
	"net.ipv6.conf.DEV.forwarding":              "0",
	"net.ipv6.conf.DEV.keep_addr_on_down":       "0",
	"net.ipv6.conf.DEV.proxy_ndp":               "0",
	"net.ipv6.neigh.DEV.base_reachable_time_ms": "30000",
	"net.netfilter.nf_conntrack_max":            "262144",
	"net.netfilter.nf_conntrack_acct":           "0", // counters (netlab conntrack)
	"net.core.rmem_max":                         "212992",
	"net.ipv4.route.flush":                      "",
}

// sysctlModes are the sysctls of sysctlDefaults that a namespace other
// than the root one may not both set and read back, as the kernel's file
// modes under /proc/sys say: SysctlSet of a read-only one fails with
// EACCES.
var sysctlModes = map[string]kernel.SysctlProblem{
	"net.core.rmem_max":                         kernel.SysctlReadOnly,
	"net.ipv4.route.flush":                      kernel.SysctlWriteOnly,
	"net.ipv4.tcp_available_congestion_control": kernel.SysctlReadOnly,
	"net.ipv4.conf.DEV.mc_forwarding":           kernel.SysctlReadOnly, // mode 0444: only a multicast routing daemon sets it
}

// sysctlModeOK is the entry of sysctlModes for key, a device's key found
// under DEV; ok is false for a key netlab may both set and read back.
func sysctlModeOK(key string) (p kernel.SysctlProblem, ok bool) {
	if p, ok := sysctlModes[key]; ok {
		return p, true
	}
	parts := strings.SplitN(key, ".", 5)
	if len(parts) == 5 && (parts[2] == "conf" || parts[2] == "neigh") {
		parts[3] = "DEV"
		p, ok = sysctlModes[strings.Join(parts, ".")]
	}
	return p, ok
}

// sysctlMode is sysctlModeOK without ok.
func sysctlMode(key string) kernel.SysctlProblem {
	p, _ := sysctlModeOK(key)
	return p
}

// sysctlDefault is the default of a sysctl the namespace has (ns nil: a
// fresh namespace, with lo only); ok is false for one it lacks.
func (ns *fakeNetNS) sysctlDefault(key string) (def string, ok bool) {
	if def, ok := sysctlDefaults[key]; ok {
		return def, true
	}
	parts := strings.SplitN(key, ".", 5)
	if len(parts) != 5 || (parts[2] != "conf" && parts[2] != "neigh") {
		return "", false
	}
	dev := parts[3]
	switch {
	case dev == "default", dev == "all" && parts[2] == "conf", dev == "lo":
	case ns != nil && ns.byName(dev) != nil:
	default:
		return "", false
	}
	parts[3] = "DEV"
	def, ok = sysctlDefaults[strings.Join(parts, ".")]
	return def, ok
}

// SysctlProblems finds the keys the namespace (netns "": a fresh one)
// has no sysctl for, and those of sysctlModes that it may not both set
// and read back.
func (f *Fake) SysctlProblems(ctx context.Context, netns string, keys []string) (map[string]kernel.SysctlProblem, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.beginLocked(ctx, "SysctlProblems"); err != nil {
		return nil, err
	}
	var ns *fakeNetNS
	if netns != "" {
		var err error
		if ns, err = f.netnsLocked(netns); err != nil {
			return nil, err
		}
	}
	problems := make(map[string]kernel.SysctlProblem)
	for _, key := range keys {
		if _, ok := ns.sysctlDefault(key); !ok {
			problems[key] = kernel.SysctlAbsent
		} else if p, ok := sysctlModeOK(key); ok {
			problems[key] = p
		}
	}
	return problems, nil
}

// SysctlTry writes each value in a fresh namespace of its own, as
// SysctlSet would, and reads it back.
func (f *Fake) SysctlTry(ctx context.Context, writes []kernel.SysctlWrite) ([]kernel.SysctlTrial, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.beginLocked(ctx, "SysctlTry"); err != nil {
		return nil, err
	}
	fresh := &fakeNetNS{links: map[int]*fakeLink{}, sysctls: map[string]string{}}
	out := make([]kernel.SysctlTrial, len(writes))
	for i, w := range writes {
		if err := fresh.setSysctl(w.Key, w.Value); err != nil {
			out[i].Err = err
			continue
		}
		// As /proc/sys prints it: a vector's fields are tab-separated.
		out[i].ReadBack = strings.Join(strings.Fields(fresh.sysctls[w.Key]), "\t")
	}
	return out, nil
}

// NFTableSet replaces the namespace's netlab nftables table with t in one
// transaction, or deletes it when t is nil.
func (f *Fake) NFTableSet(ctx context.Context, netns string, t *state.NFTable) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.beginLocked(ctx, "NFTableSet"); err != nil {
		return err
	}
	ns, err := f.machineSafeLocked(netns, "NFTableSet")
	if err != nil {
		return err
	}
	if err := nftRefused(t); err != nil {
		return err
	}
	return f.sendLocked(ctx, func() error {
		ns.nft = cloneNFT(t)
		return nil
	})
}
