package kernel

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"netlab/lab/state"
)

// Linux is the real kernel, through netlink. It keeps one netlink handle
// and one namespace file per namespace it has touched; Close releases them.
type Linux struct {
	mu    sync.Mutex
	conns map[string]*nsConn // by namespace name; guarded by mu
}

// nsConn is an open namespace: its file and a netlink socket inside it.
type nsConn struct {
	fd netns.NsHandle
	h  *netlink.Handle
}

// NewLinux returns the real kernel.
func NewLinux() *Linux { return &Linux{conns: make(map[string]*nsConn)} }

var _ Kernel = (*Linux)(nil)

// conn returns the open namespace of that name, opening it if needed.
// A namespace held open from before is used only while it is still the one
// mounted at that name: one deleted (and perhaps made again) by someone
// else since is let go, so that netlab neither works in a namespace nobody
// can see any more nor keeps it alive.
func (k *Linux) conn(name string) (*nsConn, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if name == state.HostNetNS {
		return k.hostConnLocked()
	}
	path, err := netnsPath(name)
	if err != nil {
		return nil, err
	}
	if c, ok := k.conns[name]; ok {
		if mountedAt(c.fd, path) {
			return c, nil
		}
		c.h.Close()
		c.fd.Close()
		delete(k.conns, name)
	}
	fd, err := openNetNS(name)
	if err != nil {
		return nil, err
	}
	h, err := netlink.NewHandleAt(fd, unix.NETLINK_ROUTE)
	if err != nil {
		fd.Close()
		return nil, fmt.Errorf("netlink socket in %s: %w", name, err)
	}
	c := &nsConn{fd: fd, h: h}
	k.conns[name] = c
	return c, nil
}

// startNetNS is the namespace netlab started in, opened while the
// package is initialised: that runs on the main thread before any
// goroutine can have switched a thread to another namespace.
var startNetNS, startNetNSErr = netns.Get()

// hostConnLocked opens the machine's root namespace: that of PID 1, or,
// where PID 1 is out of reach (a container, a sandbox), the one netlab
// started in. Never the calling thread's, which may be inside another.
func (k *Linux) hostConnLocked() (*nsConn, error) {
	if c, ok := k.conns[state.HostNetNS]; ok {
		return c, nil
	}
	fd, err := netns.GetFromPath("/proc/1/ns/net")
	if err != nil && IsPerm(err) && startNetNSErr == nil {
		var dup int
		if dup, err = unix.FcntlInt(uintptr(startNetNS), unix.F_DUPFD_CLOEXEC, 0); err == nil {
			fd = netns.NsHandle(dup)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open the root namespace: %w", err)
	}
	h, err := netlink.NewHandleAt(fd, unix.NETLINK_ROUTE)
	if err != nil {
		fd.Close()
		return nil, fmt.Errorf("netlink socket in the root namespace: %w", err)
	}
	c := &nsConn{fd: fd, h: h}
	k.conns[state.HostNetNS] = c
	return c, nil
}

// mountedAt reports whether the namespace file fd is the one mounted at
// path.
func mountedAt(fd netns.NsHandle, path string) bool {
	var open, mounted unix.Stat_t
	if unix.Fstat(int(fd), &open) != nil || unix.Stat(path, &mounted) != nil {
		return false
	}
	return open.Dev == mounted.Dev && open.Ino == mounted.Ino
}

// forget closes an open namespace, before it is deleted.
func (k *Linux) forget(name string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if c, ok := k.conns[name]; ok {
		c.h.Close()
		c.fd.Close()
		delete(k.conns, name)
	}
}

// Close releases every namespace file and netlink socket.
func (k *Linux) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	for name, c := range k.conns {
		c.h.Close()
		c.fd.Close()
		delete(k.conns, name)
	}
	return nil
}

// NetNSAdd creates and marks a node's namespace. The marker is set from
// inside the new namespace before it gets its name (see createNetNS).
func (k *Linux) NetNSAdd(ctx context.Context, lab, node string) error {
	name := state.NetNSName(lab, node)
	marker := state.NodeMarker(lab, node)
	err := createNetNS(name, func() error { return markLo(nil, marker) })
	if IsExist(err) {
		owned, merr := k.marked(name, lab, node)
		if merr != nil || !owned {
			return &ForeignError{NetNS: name}
		}
		// Ours already (a second NetNSAdd): make sure lo is up.
		c, cerr := k.conn(name)
		if cerr != nil {
			return cerr
		}
		return markLo(c.h, marker)
	}
	if err != nil {
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	return nil
}

// markLo sets lo's alias to marker and brings it up, through h, or through
// a netlink socket of the calling thread's namespace when h is nil.
func markLo(h *netlink.Handle, marker string) error {
	if h == nil {
		nh, err := netlink.NewHandle(unix.NETLINK_ROUTE)
		if err != nil {
			return fmt.Errorf("netlink socket: %w", err)
		}
		defer nh.Close()
		h = nh
	}
	lo, err := h.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("find lo: %w", err)
	}
	if lo.Attrs().Alias != marker {
		if err := h.LinkSetAlias(lo, marker); err != nil {
			return fmt.Errorf("mark lo: %w", err)
		}
	}
	if lo.Attrs().Flags&net.FlagUp == 0 {
		if err := h.LinkSetUp(lo); err != nil {
			return fmt.Errorf("set lo up: %w", err)
		}
	}
	return nil
}

// marked reports whether the namespace carries the marker of lab and node.
func (k *Linux) marked(name, lab, node string) (bool, error) {
	c, err := k.conn(name)
	if err != nil {
		return false, err
	}
	lo, err := c.h.LinkByName("lo")
	if err != nil {
		return false, err
	}
	return lo.Attrs().Alias == state.NodeMarker(lab, node), nil
}

// NetNSDel deletes a namespace, but only one that netlab marked.
func (k *Linux) NetNSDel(ctx context.Context, name string) error {
	if name == state.HostNetNS {
		return fmt.Errorf("delete namespace: the machine's root namespace is never deleted: %w", unix.EPERM)
	}
	lab, node, ok := state.SplitNetNSName(name)
	if !ok {
		return fmt.Errorf("delete namespace %q: not a netlab name", name)
	}
	if path, perr := netnsPath(name); perr == nil && isStub(path) {
		return deleteNetNS(name) // an interrupted create's empty mount point
	}
	owned, err := k.marked(name, lab, node)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("delete namespace %s: %w", name, err)
	}
	if !owned {
		return &ForeignError{NetNS: name}
	}
	k.forget(name)
	if err := deleteNetNS(name); err != nil {
		return fmt.Errorf("delete namespace %s: %w", name, err)
	}
	return nil
}

// NetNSList lists the namespace files of one lab, each with whether it
// carries the lab's marker; an interrupted create's empty mount point is
// listed as a stub. Markers are read in parallel: each needs a netlink
// socket inside its namespace, and the sockets' set-up dominates.
func (k *Linux) NetNSList(ctx context.Context, lab string) ([]NetNSInfo, error) {
	names, err := listNetNS()
	if err != nil {
		return nil, err
	}
	var out []NetNSInfo
	for _, name := range names {
		if l, node, ok := state.SplitNetNSName(name); ok && l == lab {
			out = append(out, NetNSInfo{Name: name, Node: node})
		}
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, observeParallel)
	for i := range out {
		info := &out[i]
		path, err := netnsPath(info.Name)
		if err != nil {
			continue
		}
		if isStub(path) {
			info.Stub = true
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if owned, err := k.marked(info.Name, lab, info.Node); err == nil {
				info.Marked = owned
			}
		}()
	}
	wg.Wait()
	return out, nil
}

// Labs lists the labs whose marked namespaces are present.
func (k *Linux) Labs(ctx context.Context) ([]LabInfo, error) {
	names, err := listNetNS()
	if err != nil {
		return nil, err
	}
	byLab := make(map[string][]string)
	for _, name := range names {
		lab, node, ok := state.SplitNetNSName(name)
		if !ok {
			continue
		}
		if owned, err := k.marked(name, lab, node); err == nil && owned {
			byLab[lab] = append(byLab[lab], node)
		}
	}
	labs := make([]LabInfo, 0, len(byLab))
	for lab, nodes := range byLab {
		sort.Strings(nodes)
		labs = append(labs, LabInfo{Name: lab, Nodes: nodes})
	}
	sort.Slice(labs, func(i, j int) bool { return labs[i].Name < labs[j].Name })
	return labs, nil
}

// HostLinks lists the links in the machine's root namespace that carry
// the lab's marker.
func (k *Linux) HostLinks(ctx context.Context, lab string) ([]string, error) {
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
// link, so the marker needs a message of its own).
func (k *Linux) LinkAdd(ctx context.Context, netnsName string, l *state.Link, peerNS string, peer *state.Link) error {
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
	case "veth":
		if pc, err = k.conn(peerNS); err != nil {
			return err
		}
		peerTmp = tempName()
		v := &netlink.Veth{LinkAttrs: attrs, PeerName: peerTmp, PeerNamespace: netlink.NsFd(pc.fd)}
		if peer.MTU != 0 {
			v.PeerMTU = uint32(peer.MTU)
		}
		if peer.MAC != "" {
			if v.PeerHardwareAddr, err = net.ParseMAC(peer.MAC); err != nil {
				return fmt.Errorf("link %s: mac: %w", peer.Name, err)
			}
		}
		nl = v
	case "bridge":
		if l.STP {
			return fmt.Errorf("link %s: stp: %w", l.Name, errors.ErrUnsupported)
		}
		nl = &netlink.Bridge{LinkAttrs: attrs}
	case "macvlan":
		pc := c
		if l.ParentNetNS != "" && l.ParentNetNS != netnsName {
			if pc, err = k.conn(l.ParentNetNS); err != nil {
				return fmt.Errorf("link %s: parent %s: %w", l.Name, l.Parent, err)
			}
		}
		if err := addMACVLAN(c, pc, attrs, l); err != nil {
			return fmt.Errorf("link %s: %w", l.Name, err)
		}
		return finishLink(c, tmp, l)
	case "vxlan":
		if err := addVXLAN(c, attrs, l); err != nil {
			return fmt.Errorf("link %s: %w", l.Name, err)
		}
		if err := finishLink(c, tmp, l); err != nil {
			return err
		}
		nl, err := c.h.LinkByName(l.Name)
		if err != nil {
			return fmt.Errorf("link %s: find: %w", l.Name, err)
		}
		if err := syncFDB(c, nl, l); err != nil {
			return fmt.Errorf("link %s: %w", l.Name, err)
		}
		return nil
	case "tun", "tap":
		if err := addTun(c, tmp, l); err != nil {
			return fmt.Errorf("link %s: %w", l.Name, err)
		}
		// The ioctls set no MTU or MAC: finishLink's messages do.
		if err := setCreateAttrs(c, tmp, l); err != nil {
			return fmt.Errorf("link %s: %w", l.Name, err)
		}
		return finishLink(c, tmp, l)
	default:
		return fmt.Errorf("link %s: kind %s: %w", l.Name, l.Kind, errors.ErrUnsupported)
	}
	if err := c.h.LinkAdd(nl); err != nil {
		return fmt.Errorf("link %s: add %s: %w", l.Name, l.Kind, err)
	}
	if err := finishLink(c, tmp, l); err != nil {
		return err
	}
	if peer != nil {
		if err := finishLink(pc, peerTmp, peer); err != nil {
			return err
		}
	}
	return nil
}

// setCreateAttrs gives a device made without netlink its MTU and MAC.
func setCreateAttrs(c *nsConn, name string, l *state.Link) error {
	nl, err := c.h.LinkByName(name)
	if err != nil {
		return fmt.Errorf("find new link: %w", err)
	}
	if l.MTU != 0 {
		if err := c.h.LinkSetMTU(nl, l.MTU); err != nil {
			return fmt.Errorf("set mtu: %w", err)
		}
	}
	if l.MAC != "" {
		mac, err := net.ParseMAC(l.MAC)
		if err != nil {
			return fmt.Errorf("mac: %w", err)
		}
		if err := c.h.LinkSetHardwareAddr(nl, mac); err != nil {
			return fmt.Errorf("set mac: %w", err)
		}
	}
	return nil
}

// finishLink marks a new link, gives it its real name, and sets its master
// and state.
func finishLink(c *nsConn, tmp string, l *state.Link) error {
	nl, err := c.h.LinkByName(tmp)
	if err != nil {
		return fmt.Errorf("link %s: find new link: %w", l.Name, err)
	}
	if err := c.h.LinkSetAlias(nl, l.Alias); err != nil {
		return fmt.Errorf("link %s: set alias: %w", l.Name, err)
	}
	if err := c.h.LinkSetName(nl, l.Name); err != nil {
		return fmt.Errorf("link %s: rename: %w", l.Name, err)
	}
	if l.Master != "" {
		if err := setMaster(c, nl, l.Master); err != nil {
			return fmt.Errorf("link %s: %w", l.Name, err)
		}
	}
	if l.Up {
		if err := c.h.LinkSetUp(nl); err != nil {
			return fmt.Errorf("link %s: set up: %w", l.Name, err)
		}
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
func (k *Linux) LinkSet(ctx context.Context, netnsName string, l *state.Link, attrs []string) error {
	c, nl, err := k.link(netnsName, l.Name)
	if err != nil {
		return fmt.Errorf("link %s: %w", l.Name, err)
	}
	for _, a := range attrs {
		switch a {
		case "master":
			if l.Master == "" {
				err = c.h.LinkSetNoMaster(nl)
			} else {
				err = setMaster(c, nl, l.Master)
			}
		case "mtu":
			err = c.h.LinkSetMTU(nl, l.MTU)
		case "mac":
			var mac net.HardwareAddr
			if mac, err = net.ParseMAC(l.MAC); err == nil {
				err = c.h.LinkSetHardwareAddr(nl, mac)
			}
		case "alias":
			err = c.h.LinkSetAlias(nl, l.Alias)
		case "up":
			if l.Up {
				err = c.h.LinkSetUp(nl)
			} else {
				err = c.h.LinkSetDown(nl)
			}
		case "source-macs":
			err = setSourceMACs(c, nl, l.SourceMACs)
		case "fdb":
			err = syncFDB(c, nl, l)
		default:
			err = errors.ErrUnsupported
		}
		if err != nil {
			return fmt.Errorf("link %s: set %s: %w", l.Name, a, err)
		}
	}
	return nil
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// AddrAdd adds an address; one already there is not an error.
func (k *Linux) AddrAdd(ctx context.Context, netnsName, link string, p netip.Prefix) error {
	c, nl, err := k.link(netnsName, link)
	if err != nil {
		return fmt.Errorf("addr %s: link %s: %w", p, link, err)
	}
	a := &netlink.Addr{IPNet: ipNet(p)}
	if p.Addr().Is6() {
		a.Flags = unix.IFA_F_NODAD
	}
	if err := c.h.AddrAdd(nl, a); err != nil && !IsExist(err) {
		return fmt.Errorf("addr %s dev %s: add: %w", p, link, err)
	}
	return nil
}

// AddrDel removes an address; one already gone is not an error.
func (k *Linux) AddrDel(ctx context.Context, netnsName, link string, p netip.Prefix) error {
	c, nl, err := k.link(netnsName, link)
	if err != nil {
		if isLinkNotFound(err) || IsNotFound(err) { // the link or its namespace is gone
			return nil
		}
		return fmt.Errorf("addr %s: link %s: %w", p, link, err)
	}
	if err := c.h.AddrDel(nl, &netlink.Addr{IPNet: ipNet(p)}); err != nil && !IsNotFound(err) {
		return fmt.Errorf("addr %s dev %s: delete: %w", p, link, err)
	}
	return nil
}

func (k *Linux) nlRoute(c *nsConn, r state.Route) (*netlink.Route, error) {
	nr := &netlink.Route{
		Dst:      ipNet(r.To),
		Priority: int(r.Metric),
		Protocol: netlink.RouteProtocol(state.RouteProtocol),
		Table:    unix.RT_TABLE_MAIN,
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

// RouteReplace adds or replaces a route.
func (k *Linux) RouteReplace(ctx context.Context, netnsName string, r state.Route) error {
	c, err := k.conn(netnsName)
	if err != nil {
		return err
	}
	nr, err := k.nlRoute(c, r)
	if err != nil {
		return fmt.Errorf("route %s: %w", r.Key(), err)
	}
	if err := c.h.RouteReplace(nr); err != nil {
		return fmt.Errorf("route %s: replace: %w", r.Key(), err)
	}
	return nil
}

// RouteDel deletes a route; one already gone is not an error.
func (k *Linux) RouteDel(ctx context.Context, netnsName string, r state.Route) error {
	c, err := k.conn(netnsName)
	if err != nil {
		if IsNotFound(err) { // the namespace is gone, and the route with it
			return nil
		}
		return err
	}
	nr := &netlink.Route{Dst: ipNet(r.To), Priority: int(r.Metric), Table: unix.RT_TABLE_MAIN}
	if err := c.h.RouteDel(nr); err != nil && !IsNotFound(err) {
		return fmt.Errorf("route %s: delete: %w", r.Key(), err)
	}
	return nil
}

// sysctlPath maps a validated net.* key to its file under /proc/sys.
func sysctlPath(key string) (string, error) {
	if !strings.HasPrefix(key, "net.") || strings.Contains(key, "/") || strings.Contains(key, "..") {
		return "", fmt.Errorf("invalid sysctl key %q", key)
	}
	return filepath.Join("/proc/sys", strings.ReplaceAll(key, ".", "/")), nil
}

// SysctlSet writes a sysctl inside a namespace.
func (k *Linux) SysctlSet(ctx context.Context, netnsName, key, value string) error {
	c, err := k.conn(netnsName)
	if err != nil {
		return err
	}
	path, err := sysctlPath(key)
	if err != nil {
		return err
	}
	err = InNetNS(c.fd, func() error { return os.WriteFile(path, []byte(value), 0o644) })
	if err != nil {
		return fmt.Errorf("sysctl %s: %w", key, err)
	}
	return nil
}

// SysctlMissing lists the keys without a file under /proc/sys in the
// namespace, or in a fresh one for netns "". /proc/sys/net shows the
// sysctls of the reading thread's namespace.
func (k *Linux) SysctlMissing(ctx context.Context, netnsName string, keys []string) ([]string, error) {
	var missing []string
	check := func() error {
		for _, key := range keys {
			path, err := sysctlPath(key)
			if err != nil {
				return err
			}
			st, err := os.Stat(path)
			switch {
			case errors.Is(err, os.ErrNotExist), err == nil && st.IsDir():
				missing = append(missing, key)
			case err != nil:
				return fmt.Errorf("sysctl %s: %w", key, err)
			}
		}
		return nil
	}
	if netnsName == "" {
		if err := InFreshNetNS(check); err != nil {
			return nil, fmt.Errorf("look up sysctls in a new namespace: %w", err)
		}
		return missing, nil
	}
	c, err := k.conn(netnsName)
	if err != nil {
		return nil, err
	}
	if err := InNetNS(c.fd, check); err != nil {
		return nil, fmt.Errorf("look up sysctls: %w", err)
	}
	return missing, nil
}

// readSysctls reads the given keys inside a namespace; a key the kernel
// does not have is left out.
func readSysctls(c *nsConn, keys []string) (map[string]string, error) {
	out := make(map[string]string, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	err := InNetNS(c.fd, func() error {
		for _, key := range keys {
			path, err := sysctlPath(key)
			if err != nil {
				return err
			}
			data, err := os.ReadFile(path)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				return fmt.Errorf("sysctl %s: %w", key, err)
			}
			out[key] = strings.TrimSpace(string(data))
		}
		return nil
	})
	return out, err
}
