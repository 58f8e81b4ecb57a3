// Package kerneltest holds what tests of netlab need in place of the
// kernel: Fake, a kernel.Kernel that lives in memory, with a transcript of
// its contents in the ip(8) vocabulary of plan.Change.Cmds and injectable
// errors.
package kerneltest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"netlab/lab/kernel"
	"netlab/lab/plan"
	"netlab/lab/state"
)

// AnyWrite, given to FailOn as the method, makes the n-th write call fail,
// whatever its method.
const AnyWrite = "*"

// A limit of the kernel's; the MTUs it accepts and gives new devices,
// the metrics, ports and addresses it fills in, are in lab/state's
// defaults.go, the one table netlab plans by.
const maxIfNameLen = 15 // IFNAMSIZ - 1

// Route protocols as ip(8) names them; a route added by hand is "boot".
var protoNames = map[string]int{"kernel": unix.RTPROT_KERNEL, "boot": unix.RTPROT_BOOT, "static": unix.RTPROT_STATIC}

// writeMethods are the methods of kernel.Kernel that change the kernel.
var writeMethods = map[string]bool{
	"NetNSAdd": true, "NetNSDel": true, "LinkAdd": true, "LinkDel": true, "LinkSet": true,
	"AddrAdd": true, "AddrDel": true, "RouteReplace": true, "RouteDel": true, "SysctlSet": true,
	"NFTableSet": true,
}

// Fake is a kernel.Kernel that holds namespaces, links, addresses, routes
// and sysctls in memory, with the semantics netlab relies on from the real
// one:
//
//   - NetNSAdd of a namespace that exists marks it again if it carries the
//     node's marker, and fails with *kernel.ForeignError if it does not;
//     NetNSDel refuses an unmarked namespace the same way.
//   - Ifindexes are allocated per namespace and never reused; a veth's two
//     ends point at each other's ifindex, in their own namespaces.
//   - LinkAdd of a name that exists fails with an error wrapping
//     unix.EEXIST; a master must exist in the same namespace and be a
//     bridge. Veth, bridge (without STP), macvlan, vxlan, tun and tap can
//     be created, as with kernel.Linux; a macvlan's parent (in
//     l.ParentNetNS) and a vxlan's dev must exist, and deleting either
//     deletes the device on it.
//   - The root namespace (state.HostNetNS) always exists; LinkDel there
//     refuses a link without netlab's marker. Its routes, sysctls and
//     nftables are the machine's, which netlab promises never to change:
//     RouteReplace, RouteDel, SysctlSet and NFTableSet there fail with
//     EPERM, so that a test catches a plan that would.
//   - A MAC given to a device, or accepted by a source-mode macvlan, must
//     be unicast and not all zero (EADDRNOTAVAIL); a tun takes none
//     (EOPNOTSUPP).
//   - Deletes of missing links, addresses and routes succeed. Deleting a
//     veth end deletes its peer; deleting a namespace deletes the peer ends
//     of the veths it held; deleting a bridge releases its ports.
//   - A device's routes go with it, and when it is set down; an IPv4 route
//     goes when its device loses its last IPv4 address. Setting a device
//     down drops its IPv6 addresses (keep_addr_on_down is 0 by default). A
//     route needs its device up, and its gateway in a subnet of an up
//     device. An IPv6 route added with metric 0 gets state.IPv6RouteMetric.
//     Below state.IPv6MinMTU a device takes no IPv6 address (EINVAL; lo
//     does) nor IPv6 route (ENODEV), and loses the addresses it had when
//     its MTU is set there.
//   - lo gets 127.0.0.1/8 and ::1/128 (at state.IPv6MinMTU or more) when
//     set up, other devices an IPv6 link-local address; MACs not given are
//     generated; a bridge whose MTU was never set follows the smallest MTU
//     of its ports.
//   - A namespace has the sysctls of sysctlDefaults (a device's once it
//     exists); SysctlSet of another fails with ENOENT, as does reading
//     it. A sysctl reads as absent until it is written (the real kernel
//     shows every key from the start, with its default value), and then
//     as the kernel prints it back (state.SysctlValue).
//   - NFTableSet replaces netlab's nftables table whole, in one
//     transaction; Observe shows its chains and the tags of its rules, as
//     kernel.Linux reads them.
//
// Every operation is atomic: one that fails changes nothing. Fake is safe
// for concurrent use.
type Fake struct {
	mu     sync.Mutex
	netns  map[string]*fakeNetNS // by name
	calls  map[string]int        // calls of each method
	writes int                   // calls of write methods
	faults []fault
	macs   int // MACs generated so far
}

var _ kernel.Kernel = (*Fake)(nil)

type fault struct {
	method string
	at     int // the call count of method (or writes, for AnyWrite) that fails
	err    error
}

// fakeNetNS is one namespace. It and all it holds are guarded by Fake.mu:
// its methods are called with the lock held.
type fakeNetNS struct {
	name    string
	links   map[int]*fakeLink // by ifindex
	last    int               // last ifindex allocated
	routes  []*fakeRoute
	sysctls map[string]string
	nft     *state.NFTable // netlab's table, as set; nil for none
}

type fakeLink struct {
	index  int
	name   string
	kind   string
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
	addrs  []netip.Prefix
	// dev holds a macvlan's, vxlan's, tun's or tap's settings; lowerNS
	// and lower are the namespace and ifindex of a macvlan's parent or a
	// vxlan's dev, which the link is deleted along with.
	dev     state.Device
	lowerNS string
	lower   int
}

type fakeRoute struct {
	to     netip.Prefix
	via    netip.Addr
	dev    string // as given; "" when the kernel chose the device from via
	oif    int    // ifindex of the device
	metric uint32
	proto  int
}

// NewFake returns a kernel with no namespaces.
//
// The machine's root namespace (state.HostNetNS) exists from the start,
// with lo and eth0 up, which are the machine's: the transcript leaves out
// all of it but the links netlab marked there.
func NewFake() *Fake {
	f := &Fake{netns: make(map[string]*fakeNetNS), calls: make(map[string]int)}
	host := f.addNetNSLocked(state.HostNetNS)
	f.setUpLocked(host, host.byName("lo"), true)
	eth0 := &fakeLink{name: "eth0", kind: "device"}
	f.addLinkLocked(host, eth0, "", true)
	return f
}

// HostLinks lists the links of the root namespace with the lab's marker.
func (f *Fake) HostLinks(ctx context.Context, lab string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.beginLocked(ctx, "HostLinks"); err != nil {
		return nil, err
	}
	var out []string
	for _, fl := range f.netns[state.HostNetNS].sortedLinks() {
		if l, _, ok := state.ParseLinkMarker(fl.alias); ok && l == lab {
			out = append(out, fl.name)
		}
	}
	return out, nil
}

// observeHostLocked reads a host node as kernel.Linux does: the root
// namespace's links that carry the lab's marker or a declared name.
func (f *Fake) observeHostLocked(lab string, want *state.Node) *state.Node {
	ns := f.netns[state.HostNetNS]
	n := state.NewNode(want.Name, state.HostNetNS)
	n.Host = true
	for _, fl := range ns.links {
		l := f.observeLinkLocked(ns, fl, lab)
		if l.Owned || want.Links[l.Name] != nil {
			n.Links[l.Name] = l
		}
	}
	return n
}

// Writes returns how many write calls (every method but Observe, Labs and
// Close) the fake has had, whether they succeeded or failed.
func (f *Fake) Writes() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.writes
}

// Calls returns how many calls of the method the fake has had.
func (f *Fake) Calls(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

// FailOn makes the n-th call (1-based, counted from now) of the method
// fail with an error wrapping err, without changing anything. The method
// is a method name of kernel.Kernel, such as "LinkAdd", or AnyWrite for
// the n-th write call of any method.
func (f *Fake) FailOn(method string, err error, n int) {
	if method != AnyWrite && !writeMethods[method] && method != "Observe" && method != "Labs" && method != "Close" && method != "SysctlProblems" && method != "SysctlTry" {
		panic("kerneltest: FailOn: unknown method " + method)
	}
	if n < 1 {
		panic("kerneltest: FailOn: n must be 1 or more")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	at := f.calls[method] + n
	if method == AnyWrite {
		at = f.writes + n
	}
	f.faults = append(f.faults, fault{method: method, at: at, err: err})
}

// beginLocked counts a call and returns the error injected for it, if any.
func (f *Fake) beginLocked(ctx context.Context, method string) error {
	f.calls[method]++
	write := writeMethods[method]
	if write {
		f.writes++
	}
	for i, ft := range f.faults {
		if (ft.method == method && ft.at == f.calls[method]) || (write && ft.method == AnyWrite && ft.at == f.writes) {
			f.faults = slices.Delete(f.faults, i, i+1)
			return fmt.Errorf("kerneltest: injected into %s: %w", method, ft.err)
		}
	}
	return ctx.Err()
}

// Close does nothing: the fake holds no handles.
func (f *Fake) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.beginLocked(context.Background(), "Close")
}

// Observe reads the lab's namespaces as kernel.Linux does: fresh copies,
// foreign namespaces with Foreign set and nothing else, and veth peer
// claims checked by state.ResolvePeers.
func (f *Fake) Observe(ctx context.Context, lab string, want *state.State) (*state.State, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.beginLocked(ctx, "Observe"); err != nil {
		return nil, err
	}
	s := state.New(lab)
	for _, name := range f.netnsNamesLocked() {
		l, node, ok := state.SplitNetNSName(name)
		if !ok || l != lab {
			continue
		}
		ns := f.netns[name]
		if !ns.marked(lab, node) {
			s.Nodes[node] = &state.Node{Name: node, NetNS: name, Foreign: true, Links: map[string]*state.Link{}, Sysctls: map[string]string{}}
			continue
		}
		n := state.NewNode(node, name)
		for _, fl := range ns.links {
			n.Links[fl.name] = f.observeLinkLocked(ns, fl, lab)
		}
		for _, r := range ns.routes {
			sr := state.Route{To: r.to, Via: r.via, Metric: r.metric, Owned: r.proto == state.RouteProtocol}
			if dev := ns.links[r.oif]; dev != nil {
				sr.Dev = dev.name
			}
			n.Routes = append(n.Routes, sr)
		}
		state.SortRoutes(n.Routes)
		if want != nil && want.Nodes[node] != nil {
			for key := range want.Nodes[node].Sysctls {
				if v, ok := ns.sysctls[key]; ok {
					n.Sysctls[key] = v
				}
			}
		}
		n.NFT = observeNFT(ns.nft)
		s.Nodes[node] = n
	}
	if want != nil {
		for _, name := range want.NodeNames() {
			if wn := want.Nodes[name]; wn.Host {
				s.Nodes[name] = f.observeHostLocked(lab, wn)
			}
		}
	}
	state.ResolvePeers(s)
	state.ResolveParents(s)
	return s, nil
}

func (f *Fake) observeLinkLocked(ns *fakeNetNS, fl *fakeLink, lab string) *state.Link {
	l := &state.Link{
		Name:      fl.name,
		Kind:      fl.kind,
		MTU:       fl.mtu,
		MAC:       fl.mac,
		Up:        fl.up,
		STP:       fl.stp,
		Addrs:     slices.Clone(fl.addrs),
		Alias:     fl.alias,
		Index:     fl.index,
		OperState: f.operStateLocked(fl),
	}
	if m := ns.links[fl.master]; m != nil {
		l.Master = m.name
	}
	if markLab, peer, ok := state.ParseLinkMarker(fl.alias); ok && markLab == lab {
		l.Owned = true
		switch fl.kind {
		case "macvlan":
			l.Parent = peer
		default:
			l.Peer = peer
		}
	}
	if fl.kind == "veth" {
		l.PeerIndex = fl.peer
	}
	f.observeDeviceLocked(ns, fl, l)
	state.SortAddrs(l.Addrs)
	return l
}

// observeDeviceLocked copies a device's settings into l as kernel.Linux
// reads them: a macvlan's parent as an ifindex and whether it is in
// another namespace, a vxlan's dev by name.
func (f *Fake) observeDeviceLocked(ns *fakeNetNS, fl *fakeLink, l *state.Link) {
	parent := l.Parent
	l.Device = fl.dev
	l.Parent, l.ParentNetNS = parent, ""
	l.SourceMACs = slices.Clone(fl.dev.SourceMACs)
	l.FDB = slices.Clone(fl.dev.FDB)
	l.TunOwner, l.TunGroup = cloneID(fl.dev.TunOwner), cloneID(fl.dev.TunGroup)
	switch fl.kind {
	case "macvlan":
		l.ParentIndex, l.ParentNetNSID = fl.lower, -1
		if fl.lowerNS != ns.name {
			l.ParentNetNSID = 0
		}
	case "vxlan":
		l.Dev = ""
		if d := ns.links[fl.lower]; d != nil && fl.lower != 0 {
			l.Dev = d.name
		}
	}
}

func (f *Fake) operStateLocked(fl *fakeLink) string {
	switch {
	case fl.kind == "loopback":
		return "unknown"
	case !fl.up:
		return "down"
	case fl.kind == "veth":
		if p := f.peerLocked(fl); p == nil || !p.up {
			return "lowerlayerdown"
		}
	}
	return "up"
}

// Labs lists the labs that have at least one marked namespace.
func (f *Fake) Labs(ctx context.Context) ([]kernel.LabInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.beginLocked(ctx, "Labs"); err != nil {
		return nil, err
	}
	byLab := make(map[string][]string)
	for _, name := range f.netnsNamesLocked() {
		lab, node, ok := state.SplitNetNSName(name)
		if ok && f.netns[name].marked(lab, node) {
			byLab[lab] = append(byLab[lab], node)
		}
	}
	labs := make([]kernel.LabInfo, 0, len(byLab))
	for lab, nodes := range byLab {
		labs = append(labs, kernel.LabInfo{Name: lab, Nodes: nodes})
	}
	sort.Slice(labs, func(i, j int) bool { return labs[i].Name < labs[j].Name })
	return labs, nil
}

// NetNSAdd creates and marks a node's namespace, or marks again one that
// carries the node's marker.
func (f *Fake) NetNSAdd(ctx context.Context, lab, node string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.beginLocked(ctx, "NetNSAdd"); err != nil {
		return err
	}
	name := state.NetNSName(lab, node)
	ns := f.netns[name]
	if ns == nil {
		ns = f.addNetNSLocked(name)
		for _, sc := range state.NetNSSysctls {
			ns.sysctls[sc.Key] = sc.Value
		}
	} else if !ns.marked(lab, node) {
		return &kernel.ForeignError{NetNS: name}
	}
	lo := ns.byName("lo")
	lo.alias = state.NodeMarker(lab, node)
	f.setUpLocked(ns, lo, true)
	return nil
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
	ns := f.netns[name]
	if ns == nil {
		return nil
	}
	if !ns.marked(lab, node) {
		return &kernel.ForeignError{NetNS: name}
	}
	f.delNetNSLocked(ns)
	return nil
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
	case l.Kind == "veth":
		if peer == nil {
			return fmt.Errorf("link %s: veth without a peer: %w", l.Name, unix.EINVAL)
		}
	case l.Kind == "bridge" && l.STP:
		return fmt.Errorf("link %s: stp: %w", l.Name, errors.ErrUnsupported)
	case l.Kind == "bridge", l.Kind == "tun", l.Kind == "tap":
	case l.Kind == "macvlan", l.Kind == "vxlan":
	default:
		return fmt.Errorf("link %s: kind %s: %w", l.Name, l.Kind, errors.ErrUnsupported)
	}
	a, err := newLink(ns, l, l.Kind)
	if err != nil {
		return err
	}
	if err := f.lowerLocked(ns, a, l); err != nil {
		return err
	}
	if limit := f.maxMTULocked(a); l.Kind == "macvlan" && limit != 0 && a.mtu > limit {
		return fmt.Errorf("link %s: mtu %d above its parent's %d: %w", l.Name, a.mtu, limit, unix.EINVAL)
	}
	if l.Kind != "veth" {
		f.addLinkLocked(ns, a, l.Master, l.Up)
		return nil
	}
	pns, err := f.netnsLocked(peerNS)
	if err != nil {
		return err
	}
	b, err := newLink(pns, peer, "veth")
	if err != nil {
		return err
	}
	if pns == ns && peer.Name == l.Name {
		return fmt.Errorf("link %s: peer has the same name: %w", l.Name, unix.EEXIST)
	}
	f.addVethLocked(ns, a, l.Master, l.Up, pns, b, peer.Master, peer.Up)
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
	if e, ok := a.dev.KernelFDB(); ok && l.Kind == "vxlan" && !slices.Contains(a.dev.FDB, e) {
		// The kernel's own entry for the remote or group.
		a.dev.FDB = append(a.dev.FDB, e)
		state.SortFDB(a.dev.FDB)
	}
	a.dev.TunOwner, a.dev.TunGroup = cloneID(l.TunOwner), cloneID(l.TunGroup)
	a.dev.ParentIndex, a.dev.ParentNetNSID = 0, 0
	lowerNS, lower := ns, ""
	switch l.Kind {
	case "macvlan":
		_, name, _ := strings.Cut(l.Parent, ":")
		lower = name
		if l.ParentNetNS != "" && l.ParentNetNS != ns.name {
			pns, err := f.netnsLocked(l.ParentNetNS)
			if err != nil {
				return fmt.Errorf("link %s: parent %s: %w", l.Name, l.Parent, err)
			}
			lowerNS = pns
		}
	case "vxlan":
		lower = l.Dev
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
func newLink(ns *fakeNetNS, l *state.Link, kind string) (*fakeLink, error) {
	if err := checkIfName(l.Name); err != nil {
		return nil, err
	}
	if ns.byName(l.Name) != nil {
		return nil, fmt.Errorf("link %s in %s: %w", l.Name, ns.name, unix.EEXIST)
	}
	fl := &fakeLink{name: l.Name, kind: kind, alias: l.Alias, stp: l.STP}
	if l.MTU != 0 {
		if l.MTU < state.MinMTU || l.MTU > kindMaxMTU(kind) {
			return nil, fmt.Errorf("link %s: mtu %d: %w", l.Name, l.MTU, unix.EINVAL)
		}
		fl.mtu, fl.mtuSet = l.MTU, true
	}
	if l.MAC != "" {
		if kind == "tun" {
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
	if fl.kind == "loopback" {
		return fmt.Errorf("link %s: delete: %w", name, unix.EOPNOTSUPP)
	}
	if _, _, ok := state.ParseLinkMarker(fl.alias); netns == state.HostNetNS && !ok {
		return &kernel.ForeignError{NetNS: netns, Name: name}
	}
	f.delLinkLocked(ns, fl)
	return nil
}

// LinkSet changes the named attributes of a link to those in l.
func (f *Fake) LinkSet(ctx context.Context, netns string, l *state.Link, attrs []string) error {
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
		case "master":
			set.master = &l.Master
		case "mtu":
			set.mtu = &l.MTU
		case "mac":
			set.mac = &l.MAC
		case "alias":
			set.alias = &l.Alias
		case "up":
			set.up = &l.Up
		case "source-macs":
			if fl.kind != "macvlan" {
				return fmt.Errorf("link %s: source macs of a %s: %w", l.Name, fl.kind, unix.EOPNOTSUPP)
			}
			for _, mac := range l.SourceMACs {
				if _, err := parseMAC(mac); err != nil {
					return fmt.Errorf("link %s: source-macs: %w", l.Name, err)
				}
			}
		case "fdb":
			if fl.kind != "vxlan" {
				return fmt.Errorf("link %s: fdb of a %s: %w", l.Name, fl.kind, unix.EOPNOTSUPP)
			}
		default:
			return fmt.Errorf("link %s: set %s: %w", l.Name, a, errors.ErrUnsupported)
		}
	}
	if err := f.linkSetLocked(ns, fl, set); err != nil {
		return fmt.Errorf("link %s: %w", l.Name, err)
	}
	if slices.Contains(attrs, "source-macs") {
		fl.dev.SourceMACs = slices.Clone(l.SourceMACs)
	}
	if slices.Contains(attrs, "fdb") {
		fl.dev.FDB = slices.Clone(l.FDB)
	}
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
func kindMaxMTU(kind string) int {
	switch kind {
	case "tap":
		return state.MaxTapMTU
	case "loopback":
		return math.MaxInt32
	}
	return state.MaxMTU
}

// linkSetLocked checks every change first, then makes them all.
func (f *Fake) linkSetLocked(ns *fakeNetNS, fl *fakeLink, s linkSet) error {
	var master *fakeLink
	if s.master != nil && *s.master != "" {
		m, err := ns.masterFor(fl, *s.master)
		if err != nil {
			return err
		}
		master = m
	}
	if s.mtu != nil && (*s.mtu < state.MinMTU || *s.mtu > kindMaxMTU(fl.kind)) {
		return fmt.Errorf("mtu %d: %w", *s.mtu, unix.EINVAL)
	}
	if limit := f.maxMTULocked(fl); s.mtu != nil && limit != 0 && *s.mtu > limit {
		return fmt.Errorf("mtu %d of a %s above its lower device's %d: %w", *s.mtu, fl.kind, limit, unix.EINVAL)
	}
	var mac string
	if s.mac != nil && fl.kind == "tun" {
		return fmt.Errorf("mac: a tun has no Ethernet address: %w", unix.EOPNOTSUPP)
	}
	if s.mac != nil {
		var err error
		if mac, err = parseMAC(*s.mac); err != nil {
			return err
		}
	}
	if s.stp != nil && fl.kind != "bridge" {
		return fmt.Errorf("stp_state on %s %s: %w", fl.kind, fl.name, unix.EOPNOTSUPP)
	}
	if s.name != nil {
		if err := checkIfName(*s.name); err != nil {
			return err
		}
		if other := ns.byName(*s.name); other != nil && other != fl {
			return fmt.Errorf("rename to %s: %w", *s.name, unix.EEXIST)
		}
	}
	if s.name != nil {
		fl.name = *s.name
	}
	if s.alias != nil {
		fl.alias = *s.alias
	}
	if s.mac != nil {
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
	return nil
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
	return addAddr(ns, link, p)
}

func addAddr(ns *fakeNetNS, link string, p netip.Prefix) error {
	fl := ns.byName(link)
	if fl == nil {
		return fmt.Errorf("addr %s: link %s: %w", p, link, unix.ENODEV)
	}
	if !p.IsValid() || p.Addr().Zone() != "" {
		return fmt.Errorf("addr %s dev %s: %w", p, link, unix.EINVAL)
	}
	if p.Addr().Is6() && fl.mtu < state.IPv6MinMTU && fl.kind != "loopback" {
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
	ns, err := f.netnsLocked(netns)
	if err != nil {
		return err
	}
	delAddr(ns, link, p)
	return nil
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
	if err := ns.replaceRoute(r, state.RouteProtocol); err != nil {
		return fmt.Errorf("route %s: %w", r.Key(), err)
	}
	return nil
}

// replaceRoute resolves a route's device as the kernel does and stores it.
func (ns *fakeNetNS) replaceRoute(r state.Route, proto int) error {
	if !r.To.IsValid() || r.To != r.To.Masked() {
		return fmt.Errorf("destination %s: %w", r.To, unix.EINVAL)
	}
	if r.Via.IsValid() && r.Via.Is4() != r.To.Addr().Is4() {
		return fmt.Errorf("gateway %s for %s: %w", r.Via, r.To, unix.EINVAL)
	}
	fr := &fakeRoute{to: r.To, via: r.Via, dev: r.Dev, metric: state.RouteMetric(r.To, r.Metric), proto: proto}
	var dev *fakeLink
	if r.Dev != "" {
		if dev = ns.byName(r.Dev); dev == nil {
			return fmt.Errorf("dev %s: %w", r.Dev, unix.ENODEV)
		}
		if !dev.up {
			return fmt.Errorf("dev %s: nexthop device is not up: %w", r.Dev, unix.ENETDOWN)
		}
		if r.To.Addr().Is6() && dev.mtu < state.IPv6MinMTU && dev.kind != "loopback" {
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
		if old.to == fr.to && old.metric == fr.metric {
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

// RouteDel deletes the route with r's destination and metric (with metric
// 0, the one of lowest metric, as the kernel does); one already gone is not
// an error.
func (f *Fake) RouteDel(ctx context.Context, netns string, r state.Route) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.beginLocked(ctx, "RouteDel"); err != nil {
		return err
	}
	ns, err := f.machineSafeLocked(netns, "RouteDel")
	if err != nil {
		return err
	}
	ns.delRoute(r)
	return nil
}

func (ns *fakeNetNS) delRoute(r state.Route) {
	del := -1
	for i, old := range ns.routes {
		if old.to == r.To && (old.metric == r.Metric || (r.Metric == 0 && (del < 0 || old.metric < ns.routes[del].metric))) {
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
	return ns.setSysctl(key, value)
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
	if sysctlModes[key] == kernel.SysctlReadOnly {
		return fmt.Errorf("sysctl %s: %w", key, unix.EACCES)
	}
	v := state.SysctlValue(value)
	if isInts(def) && !isInts(v) {
		return fmt.Errorf("sysctl %s = %q: %w", key, value, unix.EINVAL)
	}
	ns.sysctls[key] = v
	return nil
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
	"net.ipv4.tcp_rmem":                         "4096 131072 6291456",
	"net.ipv4.tcp_syncookies":                   "1",
	"net.ipv4.tcp_wmem":                         "4096 16384 4194304",
	"net.ipv4.conf.DEV.accept_local":            "0",
	"net.ipv4.conf.DEV.accept_redirects":        "1",
	"net.ipv4.conf.DEV.arp_announce":            "0",
	"net.ipv4.conf.DEV.arp_ignore":              "0",
	"net.ipv4.conf.DEV.forwarding":              "0",
	"net.ipv4.conf.DEV.log_martians":            "0",
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
	"net.core.rmem_max":                         "212992",
	"net.ipv4.route.flush":                      "",
}

// sysctlModes are the sysctls of sysctlDefaults that a namespace other
// than the root one may not both set and read back, as the kernel's file
// modes under /proc/sys say: SysctlSet of a read-only one fails with
// EACCES.
var sysctlModes = map[string]kernel.SysctlProblem{
	"net.core.rmem_max":    kernel.SysctlReadOnly,
	"net.ipv4.route.flush": kernel.SysctlWriteOnly,
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
		} else if p, ok := sysctlModes[key]; ok {
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
		out[i].ReadBack = fresh.sysctls[w.Key]
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
	ns.nft = cloneNFT(t)
	return nil
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

// observeNFT is a table as the kernel shows it: chains, and rules known
// only by their tag (the comment netlab gives them).
func observeNFT(t *state.NFTable) *state.NFTable {
	if t == nil {
		return nil
	}
	o := &state.NFTable{}
	for _, ch := range t.Chains {
		oc := &state.NFChain{Name: ch.Name, Type: ch.Type, Hook: ch.Hook, Priority: ch.Priority, Policy: ch.Policy}
		for _, r := range ch.Rules {
			oc.Rules = append(oc.Rules, &state.NFRule{Tag: r.Tag})
		}
		o.Chains = append(o.Chains, oc)
	}
	state.SortChains(o.Chains)
	return o
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
	f.addLinkLocked(ns, &fakeLink{name: "lo", kind: "loopback", mtu: state.LoopbackMTU, mac: "00:00:00:00:00:00"}, "", false)
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
		if fl.kind == "veth" && fl.peerNS != ns.name {
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
	case fl.mtu == 0 && fl.kind == "macvlan" && max != 0:
		fl.mtu = max // the parent's
	case fl.mtu == 0 && fl.kind == "vxlan" && max != 0:
		fl.mtu = max // the dev's, less the overhead
	case fl.mtu == 0:
		fl.mtu = state.KindMTU(fl.kind)
	case fl.kind == "vxlan" && max != 0 && fl.mtu > max:
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
	if fl.kind == "veth" {
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
		fl.addrs = slices.DeleteFunc(fl.addrs, func(p netip.Prefix) bool { return p.Addr().Is6() })
		return
	}
	if fl.kind == "loopback" {
		for _, p := range state.LoopbackAddrs {
			if !slices.Contains(fl.addrs, p) && (p.Addr().Is4() || fl.mtu >= state.IPv6MinMTU) {
				fl.addrs = append(fl.addrs, p)
			}
		}
	} else if mac, err := net.ParseMAC(fl.mac); err == nil {
		if p, ok := state.LinkLocal(mac); ok && !slices.Contains(fl.addrs, p) {
			fl.addrs = append(fl.addrs, p)
		}
	}
	state.SortAddrs(fl.addrs)
}

// lowerMTUChangedLocked brings the macvlans on fl down to its MTU, as the
// kernel does when a parent's MTU drops below theirs (one that rises
// leaves them as they are, and so does any change to a vxlan's dev).
func (f *Fake) lowerMTUChangedLocked(ns *fakeNetNS, fl *fakeLink) {
	for _, name := range f.netnsNamesLocked() {
		for _, u := range f.netns[name].links {
			if u.kind == "macvlan" && u.lowerNS == ns.name && u.lower == fl.index && u.mtu > fl.mtu {
				u.mtu = fl.mtu
			}
		}
	}
}

// maxMTULocked is the most MTU a macvlan (its parent's) or a vxlan on a
// dev (the dev's, less the overhead of its family) takes; 0 for others.
func (f *Fake) maxMTULocked(fl *fakeLink) int {
	if fl.lower == 0 || (fl.kind != "macvlan" && fl.kind != "vxlan") {
		return 0
	}
	lns := f.netns[fl.lowerNS]
	if lns == nil || lns.links[fl.lower] == nil {
		return 0
	}
	mtu := lns.links[fl.lower].mtu
	if fl.kind == "vxlan" {
		mtu = max(mtu-state.VXLANOverhead(fl.dev.VXLANFamilyAddr()), state.MinMTU)
	}
	return mtu
}

// portsChangedLocked makes a bridge whose MTU was never set take the
// smallest MTU of its ports (1500 with none), as the kernel does when a
// port joins or leaves.
func (f *Fake) portsChangedLocked(ns *fakeNetNS, bridge int) {
	br := ns.links[bridge]
	if br == nil || br.kind != "bridge" || br.mtuSet {
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
	if fl.kind == "bridge" {
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
	case m.kind != "bridge":
		return nil, fmt.Errorf("master %s is a %s, not a bridge: %w", master, m.kind, unix.EOPNOTSUPP)
	case m == fl || fl.kind == "bridge":
		return nil, fmt.Errorf("master %s: a bridge cannot be a port of a bridge: %w", master, unix.ELOOP)
	case fl.kind == "loopback":
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

// String returns the kernel's contents as the sorted ip(8) commands that
// would build them, one a line (an nft script spans several). The commands of each lab's marked
// namespaces are those of plan.Diff of the contents against nothing, so
// that after an up from empty, String equals the plan's commands. What is
// not netlab's is written in the same vocabulary: unmarked namespaces,
// links without an alias (given an empty, quoted one), routes of another
// protocol (proto boot), and veth pairs between two labs. What the kernel
// makes by itself (lo's loopback addresses, IPv6 link-local addresses,
// generated MACs, default MTUs, the device of a route given by gateway) is
// left out.
func (f *Fake) String() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	group := make(map[string]string) // namespace -> lab ("" for an unmarked namespace)
	for name, ns := range f.netns {
		if lab, node, ok := state.SplitNetNSName(name); ok && ns.marked(lab, node) {
			group[name] = lab
		}
	}
	// A link of the root namespace is a lab's when it carries its marker.
	labOf := func(netns string, fl *fakeLink) string {
		if netns != state.HostNetNS {
			return group[netns]
		}
		if l, _, ok := state.ParseLinkMarker(fl.alias); ok {
			return l
		}
		return ""
	}
	inLab := func(ns *fakeNetNS, fl *fakeLink) bool {
		lab := labOf(ns.name, fl)
		if fl.kind != "veth" || lab == "" {
			return lab != ""
		}
		p := f.peerLocked(fl)
		return p != nil && labOf(fl.peerNS, p) == lab
	}
	// nodeOf names the node of a namespace: a host node by the name the
	// veth ends of its lab give it ("host" if none does).
	nodeOf := func(netns, lab string) string {
		if _, node, ok := state.SplitNetNSName(netns); ok {
			return node
		}
		for _, name := range f.netnsNamesLocked() {
			for _, fl := range f.netns[name].sortedLinks() {
				if l, peer, ok := state.ParseLinkMarker(fl.alias); ok && l == lab && fl.kind == "veth" && fl.peerNS == netns && name != netns {
					if node, _, ok := strings.Cut(peer, ":"); ok {
						return node
					}
				}
			}
		}
		return "host"
	}
	var lines []string
	labs := make(map[string]*state.State)
	for _, name := range f.netnsNamesLocked() {
		ns := f.netns[name]
		lab := group[name]
		if name == state.HostNetNS {
			for _, fl := range ns.sortedLinks() {
				lab := labOf(name, fl)
				if !inLab(ns, fl) {
					continue
				}
				if labs[lab] == nil {
					labs[lab] = state.New(lab)
				}
				node := nodeOf(name, lab)
				n := labs[lab].Nodes[node]
				if n == nil {
					n = state.NewNode(node, name)
					n.Host = true
					labs[lab].Nodes[node] = n
				}
				l := f.transcriptLinkLocked(ns, fl)
				if fl.kind == "veth" {
					l.Peer = nodeOf(fl.peerNS, lab) + ":" + f.peerLocked(fl).name
				}
				n.Links[l.Name] = l
			}
			continue
		}
		if lab == "" {
			lines = append(lines, f.foreignLinesLocked(ns)...)
			continue
		}
		s := labs[lab]
		if s == nil {
			s = state.New(lab)
			labs[lab] = s
		}
		_, node, _ := state.SplitNetNSName(name)
		n := state.NewNode(node, name)
		for _, fl := range ns.sortedLinks() {
			if !inLab(ns, fl) {
				continue
			}
			l := f.transcriptLinkLocked(ns, fl)
			if fl.kind == "veth" {
				l.Peer = nodeOf(fl.peerNS, lab) + ":" + f.peerLocked(fl).name
			}
			n.Links[l.Name] = l
		}
		for _, r := range ns.routes {
			if r.proto == state.RouteProtocol {
				n.Routes = append(n.Routes, state.Route{To: r.to, Via: r.via, Dev: r.dev, Metric: r.metric, Owned: true})
			} else {
				lines = append(lines, routeLine(name, r))
			}
		}
		state.SortRoutes(n.Routes)
		maps.Copy(n.Sysctls, ns.sysctls)
		n.NFT = cloneNFT(ns.nft)
		s.Nodes[node] = n
	}
	for _, s := range labs {
		for _, c := range plan.Diff(s, nil, plan.Options{}).Changes {
			lines = append(lines, c.Cmds()...)
		}
	}
	// Veth pairs that are not inside one lab, once, from the end whose
	// namespace and name sort first.
	for _, name := range f.netnsNamesLocked() {
		ns := f.netns[name]
		for _, fl := range ns.sortedLinks() {
			if fl.kind != "veth" || inLab(ns, fl) {
				continue
			}
			p := f.peerLocked(fl)
			if fl.peerNS < name || (fl.peerNS == name && p.name < fl.name) {
				continue
			}
			pns := f.netns[fl.peerNS]
			a, b := f.transcriptLinkLocked(ns, fl), f.transcriptLinkLocked(pns, p)
			c := &plan.Change{Action: plan.Create, Object: plan.Link, NetNS: name, Name: a.Name, Link: a, PeerNS: pns.name, PeerLink: b}
			lines = append(lines, c.Cmds()...)
			lines = append(lines, addrLines(name, a)...)
			lines = append(lines, addrLines(pns.name, b)...)
		}
	}
	sort.Strings(lines)
	if len(lines) == 0 {
		return ""
	}
	return strings.Join(lines, "\n") + "\n"
}

// transcriptLinkLocked is a link as a desired state would declare it.
func (f *Fake) transcriptLinkLocked(ns *fakeNetNS, fl *fakeLink) *state.Link {
	l := &state.Link{Name: fl.name, Kind: fl.kind, Up: fl.up, STP: fl.stp, Alias: fl.alias, Owned: true, Device: fl.dev}
	if fl.kind == "macvlan" {
		l.Parent, l.ParentNetNS = "", ""
		if pns := f.netns[fl.lowerNS]; pns != nil && pns.links[fl.lower] != nil {
			l.ParentNetNS = pns.name
			l.Parent = fl.dev.Parent
		}
	}
	// An MTU set to what the kernel gives anyway reads as unset, as in
	// a dump, except a vxlan's on a dev, which netlab always sets.
	if fl.mtuSet && (fl.mtu != f.unsetMTULocked(ns, fl) || fl.kind == "vxlan" && fl.lower != 0) {
		l.MTU = fl.mtu
	}
	if fl.macSet {
		l.MAC = fl.mac
	}
	if m := ns.links[fl.master]; m != nil {
		l.Master = m.name
	}
	for _, p := range fl.addrs {
		if !state.KernelAddr(fl.kind, p) {
			l.Addrs = append(l.Addrs, p)
		}
	}
	return l
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

// foreignLinesLocked writes an unmarked namespace and what is in it,
// except the veths that leave it.
func (f *Fake) foreignLinesLocked(ns *fakeNetNS) []string {
	lines := []string{"ip netns add " + ns.name}
	for _, fl := range ns.sortedLinks() {
		l := f.transcriptLinkLocked(ns, fl)
		switch {
		case fl.kind == "loopback":
			var attrs []plan.AttrChange
			if fl.alias != "" {
				attrs = append(attrs, plan.AttrChange{Name: "alias"})
			}
			if l.MTU != 0 {
				attrs = append(attrs, plan.AttrChange{Name: "mtu"})
			}
			if l.MAC != "" {
				attrs = append(attrs, plan.AttrChange{Name: "mac"})
			}
			if fl.up {
				attrs = append(attrs, plan.AttrChange{Name: "up"})
			}
			if len(attrs) > 0 {
				c := &plan.Change{Action: plan.Update, Object: plan.Link, NetNS: ns.name, Name: l.Name, Link: l, Attrs: attrs}
				lines = append(lines, c.Cmds()...)
			}
			lines = append(lines, addrLines(ns.name, l)...)
		case fl.kind == "veth":
			// with the pairs that leave a lab
		default:
			c := &plan.Change{Action: plan.Create, Object: plan.Link, NetNS: ns.name, Name: l.Name, Link: l}
			lines = append(lines, c.Cmds()...)
			lines = append(lines, addrLines(ns.name, l)...)
		}
	}
	for _, r := range ns.routes {
		lines = append(lines, routeLine(ns.name, r))
	}
	for _, key := range slices.Sorted(maps.Keys(ns.sysctls)) {
		c := &plan.Change{Action: plan.Create, Object: plan.Sysctl, NetNS: ns.name, Name: key, Value: ns.sysctls[key]}
		lines = append(lines, c.Cmds()...)
	}
	if ns.nft != nil {
		c := &plan.Change{Action: plan.Create, Object: plan.NFTables, NetNS: ns.name, Name: state.NFTableName, NFT: ns.nft}
		lines = append(lines, c.Cmds()...)
	}
	return lines
}

func addrLines(netns string, l *state.Link) []string {
	var lines []string
	for _, p := range l.Addrs {
		c := &plan.Change{Action: plan.Create, Object: plan.Addr, NetNS: netns, Name: p.String(), LinkName: l.Name, Prefix: p}
		lines = append(lines, c.Cmds()...)
	}
	return lines
}

// routeLine writes a route with its own protocol.
func routeLine(netns string, r *fakeRoute) string {
	sr := state.Route{To: r.to, Via: r.via, Dev: r.dev, Metric: r.metric}
	c := &plan.Change{Action: plan.Create, Object: plan.Route, NetNS: netns, Name: sr.Key(), Route: sr}
	line := strings.TrimSuffix(c.Cmds()[0], fmt.Sprintf(" proto %d", state.RouteProtocol))
	return line + " proto " + protoName(r.proto)
}

func protoName(proto int) string {
	for name, p := range protoNames {
		if p == proto {
			return name
		}
	}
	return fmt.Sprint(proto)
}

// Seed runs ip(8) commands by hand, as someone at a shell would: to set up
// what a test needs (a foreign namespace, a link netlab did not make), or
// to change the kernel behind netlab's back (drift). Hand commands are not
// counted as writes, no fault applies to them, and unlike netlab's own
// deletes they fail on what is missing, so that a mistyped test fails.
// Each argument may hold several lines; empty lines and # comments are
// skipped. Seed stops at the first command that fails. It understands the
// vocabulary of plan.Change.Cmds and String, and a little more:
//
//	ip netns add|del NETNS
//	ip netns exec NETNS sysctl [-q] [-w] KEY=VALUE
//	ip -n NETNS link add [name] NAME type KIND [peer name PEER [netns PEERNS]] [stp_state 0|1]
//	ip -n NETNS link set [dev] NAME [name NEW] [alias A] [address MAC] [mtu N]
//	                          [master M | nomaster] [up | down] [type bridge stp_state 0|1]
//	ip -n NETNS link del [dev] NAME
//	ip -n NETNS addr add|del PREFIX dev NAME [nodad]
//	ip [-6] -n NETNS route add|replace|del TO [via GW] [dev NAME] [metric N] [proto P]
//
// A route added by hand has proto boot unless it says otherwise; a link
// made by hand has no alias until one is set.
func (f *Fake) Seed(lines ...string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, text := range lines {
		for line := range strings.Lines(text) {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			args, err := shellWords(line)
			if err == nil {
				err = f.handLocked(args)
			}
			if err != nil {
				return fmt.Errorf("seed %q: %w", line, err)
			}
		}
	}
	return nil
}

// MustSeed is Seed for tests: it fails tb if a command fails.
func (f *Fake) MustSeed(tb testing.TB, lines ...string) {
	tb.Helper()
	if err := f.Seed(lines...); err != nil {
		tb.Fatal(err)
	}
}

// shellWords splits a line as sh does, for the quoting shellQuote and
// ip(8) users write: '...', "..." and backslash.
func shellWords(line string) ([]string, error) {
	var words []string
	var b strings.Builder
	inWord := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, b.String())
				b.Reset()
				inWord = false
			}
		case c == '\'':
			end := strings.IndexByte(line[i+1:], '\'')
			if end < 0 {
				return nil, errors.New("unterminated '")
			}
			b.WriteString(line[i+1 : i+1+end])
			i += end + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(line) && line[i] != '"'; i++ {
				if line[i] == '\\' && i+1 < len(line) {
					i++
				}
				b.WriteByte(line[i])
			}
			if i >= len(line) {
				return nil, errors.New(`unterminated "`)
			}
			inWord = true
		case c == '\\' && i+1 < len(line):
			i++
			b.WriteByte(line[i])
			inWord = true
		default:
			b.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, b.String())
	}
	return words, nil
}

// words is the rest of a command being parsed.
type words []string

func (w *words) next() (string, bool) {
	if len(*w) == 0 {
		return "", false
	}
	s := (*w)[0]
	*w = (*w)[1:]
	return s, true
}

// value returns the argument of a keyword.
func (w *words) value(keyword string) (string, error) {
	s, ok := w.next()
	if !ok {
		return "", fmt.Errorf("%s needs a value", keyword)
	}
	return s, nil
}

// eachPair calls fn for each KEYWORD VALUE pair left in w, stopping at
// the first error.
func (w *words) eachPair(fn func(kw, v string) error) error {
	for {
		kw, ok := w.next()
		if !ok {
			return nil
		}
		v, err := w.value(kw)
		if err != nil {
			return err
		}
		if err := fn(kw, v); err != nil {
			return err
		}
	}
}

func (f *Fake) handLocked(args []string) error {
	w := words(args)
	tool, _ := w.next()
	if tool != "ip" && tool != "bridge" {
		return errors.New("not an ip or bridge command")
	}
	var netns string
	v6 := false
	for len(w) > 0 && strings.HasPrefix(w[0], "-") {
		opt, _ := w.next()
		switch opt {
		case "-n", "-netns":
			var err error
			if netns, err = w.value(opt); err != nil {
				return err
			}
		case "-6":
			v6 = true
		case "-4":
		default:
			return fmt.Errorf("unknown option %s", opt)
		}
	}
	object, _ := w.next()
	if object == "netns" && tool == "ip" {
		return f.handNetNSLocked(w)
	}
	if netns == "" {
		netns = state.HostNetNS // no -n: the machine's own namespace
	}
	ns, err := f.netnsLocked(netns)
	if err != nil {
		return err
	}
	verb, _ := w.next()
	if tool == "bridge" {
		if object != "fdb" {
			return fmt.Errorf("unknown bridge object %q", object)
		}
		return handFDB(ns, verb, w)
	}
	switch object {
	case "tuntap":
		return f.handTuntapLocked(ns, verb, w)
	case "link", "l":
		return f.handLinkLocked(ns, verb, w)
	case "addr", "address", "a":
		return handAddr(ns, verb, w)
	case "route", "r":
		return handRoute(ns, verb, v6, w)
	}
	return fmt.Errorf("unknown object %q", object)
}

func (f *Fake) handNetNSLocked(w words) error {
	verb, _ := w.next()
	name, ok := w.next()
	if !ok {
		return errors.New("netns needs a name")
	}
	switch verb {
	case "add":
		if f.netns[name] != nil {
			return fmt.Errorf("namespace %s: %w", name, unix.EEXIST)
		}
		f.addNetNSLocked(name)
		return nil
	case "del", "delete":
		ns, err := f.netnsLocked(name)
		if err != nil {
			return err
		}
		f.delNetNSLocked(ns)
		return nil
	case "exec":
		ns, err := f.netnsLocked(name)
		if err != nil {
			return err
		}
		if s, _ := w.next(); s != "sysctl" {
			return errors.New("ip netns exec runs only sysctl here")
		}
		for len(w) > 0 && strings.HasPrefix(w[0], "-") {
			w.next()
		}
		kv, _ := w.next()
		key, value, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("sysctl %q: want KEY=VALUE", kv)
		}
		return ns.setSysctl(key, value)
	}
	return fmt.Errorf("unknown netns command %q", verb)
}

func (f *Fake) handLinkLocked(ns *fakeNetNS, verb string, w words) error {
	name, ok := w.next()
	if ok && (name == "dev" || name == "name") {
		// The explicit form plan.Change.Cmds writes for a name that could
		// read as a keyword: "link set dev up", "link add name h".
		name, ok = w.next()
	}
	if !ok {
		return errors.New("link needs a name")
	}
	switch verb {
	case "add", "a":
		return f.handLinkAddLocked(ns, name, w)
	case "del", "delete", "d":
		fl := ns.byName(name)
		if fl == nil {
			return fmt.Errorf("link %s: %w", name, unix.ENODEV)
		}
		if fl.kind == "loopback" {
			return fmt.Errorf("link %s: %w", name, unix.EOPNOTSUPP)
		}
		f.delLinkLocked(ns, fl)
		return nil
	case "set", "s":
		fl := ns.byName(name)
		if fl == nil {
			return fmt.Errorf("link %s: %w", name, unix.ENODEV)
		}
		var s linkSet
		for {
			kw, ok := w.next()
			if !ok {
				break
			}
			switch kw {
			case "up", "down":
				up := kw == "up"
				s.up = &up
			case "nomaster":
				none := ""
				s.master = &none
			case "name", "alias", "address", "master":
				v, err := w.value(kw)
				if err != nil {
					return err
				}
				switch kw {
				case "name":
					s.name = &v
				case "alias":
					s.alias = &v
				case "address":
					s.mac = &v
				case "master":
					s.master = &v
				}
			case "mtu":
				v, err := w.value(kw)
				if err != nil {
					return err
				}
				var mtu int
				if _, err := fmt.Sscan(v, &mtu); err != nil {
					return fmt.Errorf("mtu %q: %w", v, unix.EINVAL)
				}
				s.mtu = &mtu
			case "type":
				switch kind, _ := w.next(); kind {
				case "bridge":
				case "macvlan":
					if fl.kind != "macvlan" {
						return fmt.Errorf("link %s is a %s: %w", fl.name, fl.kind, unix.EOPNOTSUPP)
					}
					return handMACVLANSet(fl, w)
				default:
					return fmt.Errorf("link set type %s: only bridge and macvlan are understood", kind)
				}
			case "stp_state":
				v, err := w.value(kw)
				if err != nil {
					return err
				}
				stp := v != "0"
				s.stp = &stp
			default:
				return fmt.Errorf("link set: unknown argument %q", kw)
			}
		}
		return f.linkSetLocked(ns, fl, s)
	}
	return fmt.Errorf("unknown link command %q", verb)
}

func (f *Fake) handLinkAddLocked(ns *fakeNetNS, name string, w words) error {
	var kind, peerName, peerNS, lower string
	stp := false
	dev := state.Device{Learning: true, Port: state.VXLANKernelPort} // the kernel's defaults
	for {
		kw, ok := w.next()
		if !ok {
			break
		}
		if kw == "nolearning" || kw == "learning" {
			dev.Learning = kw == "learning"
			continue
		}
		v, err := w.value(kw)
		if err != nil {
			return err
		}
		switch kw {
		case "link":
			lower = v
		case "mode":
			dev.Mode = v
		case "id":
			if _, err := fmt.Sscan(v, &dev.VNI); err != nil {
				return fmt.Errorf("id %q: %w", v, unix.EINVAL)
			}
		case "dstport":
			if _, err := fmt.Sscan(v, &dev.Port); err != nil {
				return fmt.Errorf("dstport %q: %w", v, unix.EINVAL)
			}
		case "remote", "group", "local":
			a, err := netip.ParseAddr(v)
			if err != nil {
				return fmt.Errorf("%s %q: %w", kw, v, unix.EINVAL)
			}
			*map[string]*netip.Addr{"remote": &dev.Remote, "group": &dev.Group, "local": &dev.Local}[kw] = a
		case "dev":
			dev.Dev = v
		case "type":
			kind = v
		case "peer":
			if v != "name" {
				return errors.New("write peer name PEER")
			}
			if peerName, err = w.value("peer name"); err != nil {
				return err
			}
		case "netns":
			peerNS = v
		case "stp_state":
			stp = v != "0"
		default:
			return fmt.Errorf("link add: unknown argument %q", kw)
		}
	}
	if kind == "" || kind == "loopback" {
		return fmt.Errorf("link add %s: kind %q: %w", name, kind, unix.EINVAL)
	}
	if peerNS == "1" {
		peerNS = state.HostNetNS // ip takes a PID: PID 1's is the root namespace
	}
	if kind == "macvlan" || kind == "vxlan" {
		return f.handUpperAddLocked(ns, name, kind, lower, peerNS, dev)
	}
	a, err := newLink(ns, &state.Link{Name: name, STP: stp}, kind)
	if err != nil {
		return err
	}
	if kind != "veth" {
		f.addLinkLocked(ns, a, "", false)
		return nil
	}
	if peerName == "" {
		return errors.New("link add type veth needs peer name PEER")
	}
	pns := ns
	if peerNS != "" {
		if pns, err = f.netnsLocked(peerNS); err != nil {
			return err
		}
	}
	if pns == ns && peerName == name {
		return fmt.Errorf("link %s: peer has the same name: %w", name, unix.EEXIST)
	}
	b, err := newLink(pns, &state.Link{Name: peerName}, "veth")
	if err != nil {
		return err
	}
	f.addVethLocked(ns, a, "", false, pns, b, "", false)
	return nil
}

// handUpperAddLocked makes a macvlan on lower (in ns) placed in the
// namespace netnsArg names, or a vxlan in ns, as ip link add does.
func (f *Fake) handUpperAddLocked(ns *fakeNetNS, name, kind, lower, netnsArg string, dev state.Device) error {
	target := ns
	if netnsArg != "" {
		var err error
		if target, err = f.netnsLocked(netnsArg); err != nil {
			return err
		}
	}
	l := &state.Link{Name: name, Kind: kind, Device: dev}
	if kind == "macvlan" {
		if lower == "" {
			return fmt.Errorf("link add %s type macvlan needs link PARENT: %w", name, unix.EINVAL)
		}
		if l.Mode == "" {
			l.Mode = "vepa" // the kernel's default mode
		}
		_, node, _ := state.SplitNetNSName(ns.name)
		l.Parent, l.ParentNetNS = node+":"+lower, ns.name
		l.Port, l.Learning = 0, false
	}
	a, err := newLink(target, l, kind)
	if err != nil {
		return err
	}
	if err := f.lowerLocked(target, a, l); err != nil {
		return err
	}
	f.addLinkLocked(target, a, "", false)
	return nil
}

// handMACVLANSet changes a macvlan as `ip link set NAME type macvlan`
// does: mode MODE, or macaddr set|flush.
func handMACVLANSet(fl *fakeLink, w words) error {
	kw, _ := w.next()
	switch kw {
	case "mode":
		m, err := w.value(kw)
		if err != nil {
			return err
		}
		fl.dev.Mode = m
		return nil
	case "macaddr":
		op, _ := w.next()
		switch op {
		case "flush":
			fl.dev.SourceMACs = nil
		case "set":
			fl.dev.SourceMACs = nil
			for {
				m, ok := w.next()
				if !ok {
					break
				}
				mac, err := parseMAC(m)
				if err != nil {
					return err
				}
				fl.dev.SourceMACs = append(fl.dev.SourceMACs, mac)
			}
			slices.Sort(fl.dev.SourceMACs)
		default:
			return fmt.Errorf("macaddr %q: only set and flush are understood", op)
		}
		return nil
	}
	return fmt.Errorf("link set type macvlan %q: only mode and macaddr are understood", kw)
}

// handTuntapLocked is `ip tuntap add dev NAME mode tun|tap [user U] [group G]`.
func (f *Fake) handTuntapLocked(ns *fakeNetNS, verb string, w words) error {
	if verb != "add" {
		return fmt.Errorf("tuntap %q: only add is understood", verb)
	}
	var name, mode string
	var dev state.Device
	err := w.eachPair(func(kw, v string) error {
		switch kw {
		case "dev":
			name = v
		case "mode":
			mode = v
		case "user", "group":
			var id uint32
			if _, err := fmt.Sscan(v, &id); err != nil {
				return fmt.Errorf("%s %q: %w", kw, v, unix.EINVAL)
			}
			if kw == "user" {
				dev.TunOwner = &id
			} else {
				dev.TunGroup = &id
			}
		default:
			return fmt.Errorf("tuntap add: unknown argument %q", kw)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if mode != "tun" && mode != "tap" {
		return fmt.Errorf("tuntap add: mode %q: %w", mode, unix.EINVAL)
	}
	a, err := newLink(ns, &state.Link{Name: name, Kind: mode}, mode)
	if err != nil {
		return err
	}
	a.dev = dev
	f.addLinkLocked(ns, a, "", false)
	return nil
}

// handFDB is `bridge fdb append|del MAC dev NAME dst IP [via DEV]` on a vxlan.
func handFDB(ns *fakeNetNS, verb string, w words) error {
	mac, err := w.value("fdb " + verb)
	if err != nil {
		return err
	}
	if mac, err = normalMAC(mac); err != nil {
		return err
	}
	var name string
	var dst netip.Addr
	err = w.eachPair(func(kw, v string) error {
		var err error
		switch kw {
		case "dev":
			name = v
		case "dst":
			if dst, err = netip.ParseAddr(v); err != nil {
				return fmt.Errorf("dst %q: %w", v, unix.EINVAL)
			}
		case "via":
			// The underlay device of the entry, which the fake does not
			// keep: the kernel's own entry has the vxlan's dev.
		default:
			return fmt.Errorf("fdb: unknown argument %q", kw)
		}
		return nil
	})
	if err != nil {
		return err
	}
	fl := ns.byName(name)
	if fl == nil {
		return fmt.Errorf("fdb dev %s: %w", name, unix.ENODEV)
	}
	if fl.kind != "vxlan" || !dst.IsValid() {
		return fmt.Errorf("fdb on %s: only vxlan entries with dst are understood: %w", name, unix.EOPNOTSUPP)
	}
	e := state.FDBEntry{MAC: mac, Dst: dst}
	switch verb {
	case "append", "add":
		if !slices.Contains(fl.dev.FDB, e) {
			fl.dev.FDB = append(fl.dev.FDB, e)
			state.SortFDB(fl.dev.FDB)
		}
	case "del":
		fl.dev.FDB = slices.DeleteFunc(fl.dev.FDB, func(x state.FDBEntry) bool { return x == e })
	default:
		return fmt.Errorf("fdb %q: only append and del are understood", verb)
	}
	return nil
}

// normalMAC parses any MAC, the all-zero one included.
func normalMAC(s string) (string, error) {
	mac, err := net.ParseMAC(s)
	if err != nil || len(mac) != 6 {
		return "", fmt.Errorf("mac %q: %w", s, unix.EINVAL)
	}
	return mac.String(), nil
}

func handAddr(ns *fakeNetNS, verb string, w words) error {
	s, _ := w.next()
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return err
	}
	var dev string
	for {
		kw, ok := w.next()
		if !ok {
			break
		}
		switch kw {
		case "dev":
			if dev, err = w.value(kw); err != nil {
				return err
			}
		case "nodad":
		default:
			return fmt.Errorf("addr: unknown argument %q", kw)
		}
	}
	fl := ns.byName(dev)
	if fl == nil {
		return fmt.Errorf("addr %s: dev %q: %w", p, dev, unix.ENODEV)
	}
	switch verb {
	case "add", "a":
		return addAddr(ns, dev, p)
	case "del", "delete", "d":
		if !slices.Contains(fl.addrs, p) {
			return fmt.Errorf("addr %s dev %s: %w", p, dev, unix.EADDRNOTAVAIL)
		}
		delAddr(ns, dev, p)
		return nil
	}
	return fmt.Errorf("unknown addr command %q", verb)
}

func handRoute(ns *fakeNetNS, verb string, v6 bool, w words) error {
	to, _ := w.next()
	r := state.Route{}
	proto := unix.RTPROT_BOOT
	err := w.eachPair(func(kw, v string) error {
		var err error
		switch kw {
		case "via":
			if r.Via, err = netip.ParseAddr(v); err != nil {
				return err
			}
		case "dev":
			r.Dev = v
		case "metric":
			if _, err := fmt.Sscan(v, &r.Metric); err != nil {
				return fmt.Errorf("metric %q: %w", v, unix.EINVAL)
			}
		case "proto":
			var ok bool
			if proto, ok = protoNames[v]; !ok {
				if _, err := fmt.Sscan(v, &proto); err != nil {
					return fmt.Errorf("proto %q: %w", v, unix.EINVAL)
				}
			}
		default:
			return fmt.Errorf("route: unknown argument %q", kw)
		}
		return nil
	})
	if err != nil {
		return err
	}
	switch {
	case to == "default" && (v6 || r.Via.Is6()):
		r.To = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
	case to == "default":
		r.To = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	case strings.Contains(to, "/"):
		p, err := netip.ParsePrefix(to)
		if err != nil {
			return err
		}
		r.To = p
	default:
		a, err := netip.ParseAddr(to)
		if err != nil {
			return err
		}
		r.To = netip.PrefixFrom(a, a.BitLen())
	}
	metric := state.RouteMetric(r.To, r.Metric)
	exists := slices.ContainsFunc(ns.routes, func(old *fakeRoute) bool {
		return old.to == r.To && (old.metric == metric || (r.Metric == 0 && verb != "add" && verb != "replace"))
	})
	switch verb {
	case "add", "a":
		if exists {
			return fmt.Errorf("route %s: %w", r.Key(), unix.EEXIST)
		}
		return ns.replaceRoute(r, proto)
	case "replace":
		return ns.replaceRoute(r, proto)
	case "del", "delete", "d":
		if !exists {
			return fmt.Errorf("route %s: %w", r.Key(), unix.ESRCH)
		}
		ns.delRoute(r)
		return nil
	}
	return fmt.Errorf("unknown route command %q", verb)
}

// NetNSList lists the namespaces of one lab with whether each is marked.
func (f *Fake) NetNSList(ctx context.Context, lab string) ([]kernel.NetNSInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.beginLocked(ctx, "NetNSList"); err != nil {
		return nil, err
	}
	var out []kernel.NetNSInfo
	for _, name := range f.netnsNamesLocked() {
		l, node, ok := state.SplitNetNSName(name)
		if !ok || l != lab {
			continue
		}
		out = append(out, kernel.NetNSInfo{Name: name, Node: node, Marked: f.netns[name].marked(lab, node)})
	}
	return out, nil
}
