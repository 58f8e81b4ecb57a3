package kerneltest

// The fake's state and what the kernel does by itself as it changes:
// ifindexes, default MTUs and MACs, routes and ports that go along.

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sort"

	"golang.org/x/sys/unix"

	"netlab/lab/device"
	"netlab/lab/kernel"
	"netlab/lab/state"
)

// A limit of the kernel's; the MTUs it accepts and gives new devices,
// the metrics, ports and addresses it fills in, are in lab/state's
// defaults.go, the one table netlab plans by.
const maxIfNameLen = 15 // IFNAMSIZ - 1

// fakeNetNS is one namespace. It and all it holds are guarded by Fake.mu:
// its methods are called with the lock held.
type fakeNetNS struct {
	name    string
	links   map[int]*fakeLink // by ifindex
	last    int               // last ifindex allocated
	routes  []*fakeRoute
	rules   []fakeRule // policy routing rules but the kernel's defaults: rules_fake.go
	sysctls map[string]string
	nft     *state.NFTable // netlab's table, as set; nil for none
	// conntrack is the connection-tracking table, as PutConntrack
	// filled it (conntrack_fake.go).
	conntrack []kernel.ConntrackEntry
}

type fakeLink struct {
	index  int
	name   string
	kind   device.Kind
	peerNS string // veth: the namespace of the other end
	peer   int    // veth: the ifindex of the other end, in peerNS
	master int    // ifindex of the master, 0 for none
	mtu    int
	mtuSet bool // set by the user rather than chosen by the kernel
	mac    string
	macSet bool
	up     bool
	stp    bool
	alias  string
	// stpSettings, port and neighbors are issue 18's: a bridge's STP
	// timers (nil: the kernel's defaults), a port's flags, the link's
	// permanent neighbour entries (all marked: netlab's).
	stpSettings *state.STPSettings
	port        state.PortFlags
	neighbors   []state.Neighbor
	// handNeighbors are entries added by hand without netlab's mark:
	// kept, never observed (kernel.Linux lists only marked ones).
	handNeighbors []state.Neighbor
	addrs         []netip.Prefix
	// dev holds a macvlan's, vxlan's, tun's or tap's settings; lowerNS
	// and lower are the namespace and ifindex of a macvlan's parent or a
	// vxlan's dev, which the link is deleted along with.
	dev    state.Device
	egress state.Impairment // netlab's root qdisc (caps_fake.go)
	// otherQdisc is a root qdisc of another handle, added by hand (seed_tc.go).
	otherQdisc string
	lowerNS    string
	lower      int
	// stats are the counters that Traffic moved.
	stats state.Counters
}

type fakeRoute struct {
	to     netip.Prefix
	via    netip.Addr
	dev    string // as given; "" when the kernel chose the device from via
	oif    int    // ifindex of the device
	metric uint32
	table  uint32 // 0: main
	proto  int
}

// machineSafeLocked is netnsLocked for the writes netlab never makes in
// the machine's own namespace: there it fails with EPERM.
func (f *Fake) machineSafeLocked(name, method string) (*fakeNetNS, error) {
	if name == state.HostNetNS {
		return nil, fmt.Errorf("%s in the machine's own namespace: netlab never changes its routes, sysctls or nftables: %w", method, unix.EPERM)
	}
	return f.netnsLocked(name)
}

// netnsLocked returns a namespace, or an error wrapping ENOENT, as
// kernel.Linux fails to open a namespace that is not there.
func (f *Fake) netnsLocked(name string) (*fakeNetNS, error) {
	ns := f.netns[name]
	if ns == nil {
		return nil, fmt.Errorf("open namespace %s: %w", name, unix.ENOENT)
	}
	return ns, nil
}

func (f *Fake) netnsNamesLocked() []string {
	names := make([]string, 0, len(f.netns))
	for name := range f.netns {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// addNetNSLocked creates an unmarked namespace holding lo, down.
func (f *Fake) addNetNSLocked(name string) *fakeNetNS {
	ns := &fakeNetNS{name: name, links: make(map[int]*fakeLink), sysctls: make(map[string]string)}
	f.addLinkLocked(ns, &fakeLink{name: "lo", kind: device.Loopback, mtu: state.LoopbackMTU, mac: "00:00:00:00:00:00"}, "", false)
	f.netns[name] = ns
	return ns
}

// removeUpperLocked removes the links whose lower device is fl.
func (f *Fake) removeUpperLocked(ns *fakeNetNS, fl *fakeLink) {
	for _, name := range f.netnsNamesLocked() {
		uns := f.netns[name]
		for _, u := range uns.sortedLinks() {
			if u.lowerNS == ns.name && u.lower == fl.index && uns.links[u.index] == u {
				f.removeLinkLocked(uns, u)
			}
		}
	}
}

// delNetNSLocked deletes a namespace, which takes along the other end of
// each veth it held, and the macvlans of other namespaces on its links.
func (f *Fake) delNetNSLocked(ns *fakeNetNS) {
	for _, fl := range ns.sortedLinks() {
		f.removeUpperLocked(ns, fl)
		if fl.kind == device.Veth && fl.peerNS != ns.name {
			if pns := f.netns[fl.peerNS]; pns != nil {
				if p := pns.links[fl.peer]; p != nil {
					f.removeLinkLocked(pns, p)
				}
			}
		}
	}
	delete(f.netns, ns.name)
}

// addLinkLocked gives a checked new link its ifindex, MTU and MAC, and
// adds it with its master and state.
func (f *Fake) addLinkLocked(ns *fakeNetNS, fl *fakeLink, master string, up bool) {
	ns.last++
	fl.index = ns.last
	switch max := f.maxMTULocked(fl); {
	case fl.mtu == 0 && fl.kind == device.MACVLAN && max != 0:
		fl.mtu = max // the parent's
	case fl.mtu == 0 && fl.kind == device.VXLAN && max != 0:
		fl.mtu = max // the dev's, less the overhead
	case fl.mtu == 0:
		fl.mtu = state.KindMTU(fl.kind)
	case fl.kind == device.VXLAN && max != 0 && fl.mtu > max:
		fl.mtu = max // the kernel caps what was asked, silently
	}
	if fl.mac == "" {
		f.macs++
		fl.mac = fmt.Sprintf("02:00:00:%02x:%02x:%02x", byte(f.macs>>16), byte(f.macs>>8), byte(f.macs))
	}
	ns.links[fl.index] = fl
	if master != "" {
		fl.master = ns.byName(master).index
		f.portsChangedLocked(ns, fl.master)
	}
	if up {
		f.setUpLocked(ns, fl, true)
	}
}

// addVethLocked adds a checked veth pair.
func (f *Fake) addVethLocked(ns *fakeNetNS, a *fakeLink, aMaster string, aUp bool, pns *fakeNetNS, b *fakeLink, bMaster string, bUp bool) {
	f.addLinkLocked(ns, a, aMaster, false)
	f.addLinkLocked(pns, b, bMaster, false)
	a.peerNS, a.peer = pns.name, b.index
	b.peerNS, b.peer = ns.name, a.index
	if aUp {
		f.setUpLocked(ns, a, true)
	}
	if bUp {
		f.setUpLocked(pns, b, true)
	}
}

func (f *Fake) peerLocked(fl *fakeLink) *fakeLink {
	if pns := f.netns[fl.peerNS]; pns != nil {
		return pns.links[fl.peer]
	}
	return nil
}

// delLinkLocked deletes a link and, for a veth, its peer.
func (f *Fake) delLinkLocked(ns *fakeNetNS, fl *fakeLink) {
	if fl.kind == device.Veth {
		if p := f.peerLocked(fl); p != nil {
			f.removeLinkLocked(f.netns[fl.peerNS], p)
		}
	}
	f.removeLinkLocked(ns, fl)
}

// removeLinkLocked removes one link, its routes and its ports, and the
// macvlans and vxlans that sit on it, in any namespace.
func (f *Fake) removeLinkLocked(ns *fakeNetNS, fl *fakeLink) {
	delete(ns.links, fl.index)
	f.removeUpperLocked(ns, fl)
	ns.flushRoutes(fl.index, nil)
	for _, port := range ns.links {
		if port.master == fl.index {
			port.master = 0
		}
	}
	f.portsChangedLocked(ns, fl.master)
}

// setUpLocked sets a link up or down, with what the kernel does along.
func (f *Fake) setUpLocked(ns *fakeNetNS, fl *fakeLink, up bool) {
	if fl.up == up {
		return
	}
	fl.up = up
	if !up {
		ns.flushRoutes(fl.index, nil)
		fl.neighbors, fl.handNeighbors = nil, nil // the kernel flushes a downed link's neighbours, permanent ones too
		fl.addrs = slices.DeleteFunc(fl.addrs, func(p netip.Prefix) bool { return p.Addr().Is6() })
		return
	}
	ns.kernelAddrs(fl)
}

// kernelAddrs gives an up link the addresses the kernel gives it: lo its
// loopback addresses, another link its IPv6 link-local one; none of
// IPv6 where a sysctl turns IPv6 off (ipv6Off).
func (ns *fakeNetNS) kernelAddrs(fl *fakeLink) {
	off := ns.ipv6Off(fl)
	if fl.kind == device.Loopback {
		for _, p := range state.LoopbackAddrs {
			if !slices.Contains(fl.addrs, p) && (p.Addr().Is4() || fl.mtu >= state.IPv6MinMTU && !off) {
				fl.addrs = append(fl.addrs, p)
			}
		}
	} else if mac, err := net.ParseMAC(fl.mac); err == nil && !off {
		if p, ok := state.LinkLocal(mac); ok && !slices.Contains(fl.addrs, p) {
			fl.addrs = append(fl.addrs, p)
		}
	}
	state.SortAddrs(fl.addrs)
}

// ipv6Off reports whether IPv6 is off on fl: its disable_ipv6 sysctl is
// not 0 (set by itself, or by a write of all's: setSysctl).
func (ns *fakeNetNS) ipv6Off(fl *fakeLink) bool {
	v, ok := ns.sysctls["net.ipv6.conf."+fl.name+".disable_ipv6"]
	return ok && v != "0"
}

// disableIPv6Changed does what the kernel does when a link's disable_ipv6
// changes: off, it drops the link's IPv6 addresses; on again, an up link
// gets the kernel's own back.
func (ns *fakeNetNS) disableIPv6Changed(fl *fakeLink) {
	if ns.ipv6Off(fl) {
		fl.addrs = slices.DeleteFunc(fl.addrs, func(p netip.Prefix) bool { return p.Addr().Is6() })
	} else if fl.up {
		ns.kernelAddrs(fl)
	}
}

// lowerMTUChangedLocked brings the macvlans on fl down to its MTU, as the
// kernel does when a parent's MTU drops below theirs (one that rises
// leaves them as they are, and so does any change to a vxlan's dev).
func (f *Fake) lowerMTUChangedLocked(ns *fakeNetNS, fl *fakeLink) {
	for _, name := range f.netnsNamesLocked() {
		for _, u := range f.netns[name].links {
			if u.kind == device.MACVLAN && u.lowerNS == ns.name && u.lower == fl.index && u.mtu > fl.mtu {
				u.mtu = fl.mtu
			}
		}
	}
}

// maxMTULocked is the most MTU a macvlan (its parent's) or a vxlan on a
// dev (the dev's, less the overhead of its family) takes; 0 for others.
func (f *Fake) maxMTULocked(fl *fakeLink) int {
	if fl.lower == 0 || (fl.kind != device.MACVLAN && fl.kind != device.VXLAN) {
		return 0
	}
	lns := f.netns[fl.lowerNS]
	if lns == nil || lns.links[fl.lower] == nil {
		return 0
	}
	mtu := lns.links[fl.lower].mtu
	if fl.kind == device.VXLAN {
		mtu = max(mtu-state.VXLANOverhead(fl.dev.VXLANFamilyAddr()), state.MinMTU)
	}
	return mtu
}

// portsChangedLocked makes a bridge whose MTU was never set take the
// smallest MTU of its ports (1500 with none), as the kernel does when a
// port joins or leaves.
func (f *Fake) portsChangedLocked(ns *fakeNetNS, bridge int) {
	br := ns.links[bridge]
	if br == nil || br.kind != device.Bridge || br.mtuSet {
		return
	}
	br.mtu = f.unsetMTULocked(ns, br)
}

// unsetMTULocked is the MTU the kernel would give fl had nobody set one:
// a bridge the smallest of its ports', a macvlan or vxlan what its lower
// device allows, anything else its kind's.
func (f *Fake) unsetMTULocked(ns *fakeNetNS, fl *fakeLink) int {
	if limit := f.maxMTULocked(fl); limit != 0 {
		return limit
	}
	mtu := 0
	if fl.kind == device.Bridge {
		for _, port := range ns.links {
			if port.master == fl.index && (mtu == 0 || port.mtu < mtu) {
				mtu = port.mtu
			}
		}
	}
	if mtu == 0 {
		mtu = state.KindMTU(fl.kind)
	}
	return mtu
}

// marked reports whether lo carries the marker of lab and node.
func (ns *fakeNetNS) marked(lab, node string) bool {
	lo := ns.byName("lo")
	return lo != nil && lo.alias == state.NodeMarker(lab, node)
}

func (ns *fakeNetNS) byName(name string) *fakeLink {
	for _, fl := range ns.links {
		if fl.name == name {
			return fl
		}
	}
	return nil
}

func (ns *fakeNetNS) sortedLinks() []*fakeLink {
	out := make([]*fakeLink, 0, len(ns.links))
	for _, fl := range ns.links {
		out = append(out, fl)
	}
	slices.SortFunc(out, func(a, b *fakeLink) int { return a.index - b.index })
	return out
}

// masterFor returns the link named master if fl may be its port: it must
// be a bridge, and neither fl itself nor lo nor another bridge may join it.
func (ns *fakeNetNS) masterFor(fl *fakeLink, master string) (*fakeLink, error) {
	m := ns.byName(master)
	switch {
	case m == nil:
		return nil, fmt.Errorf("master %s: %w", master, unix.ENODEV)
	case m.kind != device.Bridge:
		return nil, fmt.Errorf("master %s is a %s, not a bridge: %w", master, m.kind, unix.EOPNOTSUPP)
	case m == fl || fl.kind == device.Bridge:
		return nil, fmt.Errorf("master %s: a bridge cannot be a port of a bridge: %w", master, unix.ELOOP)
	case fl.kind == device.Loopback:
		return nil, fmt.Errorf("master %s: lo cannot be a port: %w", master, unix.EINVAL)
	}
	return m, nil
}

// flushRoutes removes the routes through a device that match (all if
// match is nil).
func (ns *fakeNetNS) flushRoutes(oif int, match func(*fakeRoute) bool) {
	ns.routes = slices.DeleteFunc(ns.routes, func(r *fakeRoute) bool {
		return r.oif == oif && (match == nil || match(r))
	})
}

// cloneID copies a tun's or tap's owner or group, so that what the fake
// holds and what it hands out share nothing.
func cloneID(id *uint32) *uint32 {
	if id == nil {
		return nil
	}
	v := *id
	return &v
}

// cloneNFT deep-copies a table.
func cloneNFT(t *state.NFTable) *state.NFTable {
	if t == nil {
		return nil
	}
	c := &state.NFTable{}
	for _, ch := range t.Chains {
		cc := *ch
		cc.Rules = nil
		for _, r := range ch.Rules {
			rc := *r
			rc.State = slices.Clone(r.State)
			cc.Rules = append(cc.Rules, &rc)
		}
		c.Chains = append(c.Chains, &cc)
	}
	return c
}
