package kernel

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"netlab/lab/name"
	"netlab/lab/state"
)

// NetNSDir is root's directory of named namespaces, where iproute2 keeps
// them, so that `ip netns` and netlab see the same namespaces. A rootless
// netlab keeps its own (WithNetNSDir).
const NetNSDir = "/run/netns"

// prepareNetNSDir makes k.netnsDir a shared mount point, as iproute2
// does before its first namespace, so that namespace mounts propagate to
// other mount namespaces (ip netns exec makes one per command).
func (k *Linux) prepareNetNSDir() error {
	k.netnsDirOnce.Do(func() {
		dir := k.netnsDir
		err := os.MkdirAll(dir, 0o755)
		if err == nil && unix.Mount("", dir, "none", unix.MS_SHARED|unix.MS_REC, "") != nil {
			// Not a mount point yet: bind it onto itself, then share it.
			if err = unix.Mount(dir, dir, "none", unix.MS_BIND|unix.MS_REC, ""); err != nil {
				err = fmt.Errorf("bind %s: %w", dir, err)
			} else if err = unix.Mount("", dir, "none", unix.MS_SHARED|unix.MS_REC, ""); err != nil {
				err = fmt.Errorf("share %s: %w", dir, err)
			}
		}
		k.netnsDirErr = err
	})
	return k.netnsDirErr
}

// netnsPath returns the bind-mount path of a namespace name in k's
// directory of namespaces.
func (k *Linux) netnsPath(netnsName string) (string, error) {
	return netnsPathIn(k.netnsDir, netnsName)
}

// netnsPathIn returns the bind-mount path of a namespace name in dir: the
// one place a namespace name becomes a path. It takes only names built of
// names that pass the name rule: LAB.NODE (state.NetNSName), or a bare
// name (a test's namespace), so a name from the command line or a kernel
// dump that could lead anywhere else is refused here whatever the caller
// checked.
func netnsPathIn(dir, netnsName string) (string, error) {
	lab, node, ok := state.SplitNetNSName(netnsName)
	valid := ok && name.Problem(lab) == "" && name.Problem(node) == "" || name.Problem(netnsName) == ""
	if !valid {
		return "", fmt.Errorf("invalid namespace name %q: netlab names its namespaces LAB.NODE, of valid lab and node names", netnsName)
	}
	return filepath.Join(dir, netnsName), nil
}

// NetNSExists returns nil when the namespace has a file in k's directory, and
// otherwise why not (an invalid name, or the error of stat).
func (k *Linux) NetNSExists(netnsName string) error {
	path, err := k.netnsPath(netnsName)
	if err != nil {
		return err
	}
	_, err = os.Stat(path)
	return err
}

// errNotNetNS is the error of openNetNS for a file that is no namespace.
var errNotNetNS = errors.New("not a namespace")

// openNetNS opens the named namespace of k's directory.
func (k *Linux) openNetNS(netnsName string) (netns.NsHandle, error) {
	return openNetNSIn(k.netnsDir, netnsName)
}

// openNetNSIn opens the named namespace of dir: the one place netlab opens a
// namespace file by name. NetNSDir is not netlab's own directory, so
// whatever is there is input: the open follows no symbolic link and does
// not wait for a writer on a FIFO (O_NOFOLLOW|O_NONBLOCK; a planted FIFO
// made netlab ls hang), and a file that is not a namespace, such as a
// mount point whose namespace was just unmounted, fails with errNotNetNS.
// One that does not exist fails with an error for which
// errors.Is(err, os.ErrNotExist) holds.
func openNetNSIn(dir, netnsName string) (netns.NsHandle, error) {
	path, err := netnsPathIn(dir, netnsName)
	if err != nil {
		return -1, err
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if errors.Is(err, unix.ELOOP) {
		return -1, fmt.Errorf("open namespace %s: %s is a symbolic link: %w", netnsName, path, errNotNetNS)
	}
	if err != nil {
		return -1, fmt.Errorf("open namespace %s: %w", netnsName, &os.PathError{Op: "open", Path: path, Err: err})
	}
	var fs unix.Statfs_t
	if err := unix.Fstatfs(fd, &fs); err != nil || fs.Type != nsfsMagic {
		unix.Close(fd)
		return -1, fmt.Errorf("open namespace %s: %s: %w", netnsName, path, errNotNetNS)
	}
	return netns.NsHandle(fd), nil
}

// nsfsMagic is the file system type of a namespace file (NSFS_MAGIC).
const nsfsMagic = 0x6e736673

// isNetNSMount reports whether path is a namespace bind mount.
func isNetNSMount(path string) bool {
	var fs unix.Statfs_t
	return unix.Statfs(path, &fs) == nil && fs.Type == nsfsMagic
}

// isStub reports whether path is an empty regular file: the mount point
// of a namespace whose creation was interrupted before the bind mount.
func isStub(path string) bool {
	fi, err := os.Lstat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Size() == 0 && !isNetNSMount(path)
}

// exists reports whether anything, even a dangling link, is at path.
func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// createNetNS creates a new network namespace, runs mark inside it, and
// only then bind-mounts it in k's directory under its name: a namespace is visible under
// its name only once it carries netlab's marker, so a netlab killed at any
// point leaves either a marked namespace or none (at most an empty mount
// point file, a stub, which the next create reuses).
//
// The namespace is made by a dedicated, locked OS thread that unshares
// into it and is then thrown away (its goroutine exits without unlocking,
// so the runtime ends the thread): no thread that serves other goroutines
// ever changes namespace.
func (k *Linux) createNetNS(name string, mark func() error) error {
	if err := k.prepareNetNSDir(); err != nil {
		return err
	}
	path, err := k.netnsPath(name)
	if err != nil {
		return err
	}
	switch {
	case isNetNSMount(path):
		return fmt.Errorf("%s: %w", path, unix.EEXIST)
	case isStub(path):
		// Left by an interrupted create: mount over it.
	default:
		f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o444)
		if err != nil {
			if errors.Is(err, os.ErrExist) {
				return fmt.Errorf("%s exists and is not a namespace: %w", path, unix.EEXIST)
			}
			return err
		}
		f.Close()
	}
	errc := make(chan error, 1)
	go func() {
		t, err := startNSThread()
		if err != nil {
			errc <- err
			return
		}
		// Then back where it started, so that the runtime reuses the
		// thread rather than make one for each namespace; a thread that
		// cannot go back stays locked and ends with this goroutine.
		defer t.stop()
		err = t.move(func() error { return unix.Unshare(unix.CLONE_NEWNET) })
		if err != nil {
			errc <- fmt.Errorf("unshare: %w", err)
			return
		}
		if err := mark(); err != nil {
			errc <- err
			return
		}
		src := fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid())
		if err := unix.Mount(src, path, "none", unix.MS_BIND, ""); err != nil {
			errc <- fmt.Errorf("bind %s: %w", path, err)
			return
		}
		errc <- nil
	}()
	if err := <-errc; err != nil {
		os.Remove(path)
		return err
	}
	return nil
}

// deleteNetNS unmounts and removes a named namespace. The kernel frees the
// namespace, and every link in it, once nothing holds it any more.
func (k *Linux) deleteNetNS(name string) error {
	path, err := k.netnsPath(name)
	if err != nil {
		return err
	}
	if isStub(path) {
		return os.Remove(path)
	}
	return unmountNetNS(path)
}

// unmountNetNS unmounts the namespace mounted at path and removes the
// mount point.
func unmountNetNS(path string) error {
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// listNetNS returns the names in k's directory of namespaces.
func (k *Linux) listNetNS() ([]string, error) {
	entries, err := os.ReadDir(k.netnsDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names, nil
}

// NetNSAdd creates and marks a node's namespace. The marker is set from
// inside the new namespace before it gets its name (see createNetNS), so
// the create is one step that ctx cannot cut: nothing of it is visible
// before its end.
func (k *Linux) NetNSAdd(ctx context.Context, lab, node string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	name := state.NetNSName(lab, node)
	marker := state.NodeMarker(lab, node)
	// The thread that makes the namespace is in it: its file and sockets
	// are made there, kept for the links, addresses and routes that
	// follow, which would otherwise enter it again for each socket.
	var made *nsConn
	err := k.createNetNS(name, func() error {
		if err := noDAD(); err != nil {
			return err
		}
		c, err := connHere()
		if err != nil {
			return err
		}
		if err := c.markNewLo(marker); err != nil {
			c.close()
			return err
		}
		made = c
		return nil
	})
	if err != nil && made != nil {
		made.close() // marked, but not mounted
	}
	if err == nil {
		k.keepConn(name, made, marker)
		return nil
	}
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
		if err := ctx.Err(); err != nil {
			return err
		}
		return markLo(c, marker)
	}
	if err != nil {
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	return nil
}

// noDAD sets state.NetNSSysctls in the calling thread's namespace: IPv6
// duplicate address detection off for every device made there later, as
// nodad does for the lab's own addresses. A link-local address stays
// tentative for a second or two otherwise, and a router cannot send a
// neighbor solicitation without one, so IPv6 through it failed for that
// long after up. A kernel without IPv6 has no such key.
// Equivalent to: ip netns exec NETNS sysctl -qw KEY=VALUE, for each
func noDAD() error {
	for _, sc := range state.NetNSSysctls {
		path, err := sysctlPath(sc.Key)
		if err != nil {
			return err
		}
		err = os.WriteFile(path, []byte(sc.Value), 0o644)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("new namespace: sysctl %s: %w", sc.Key, err)
		}
	}
	return nil
}

// connHere opens the calling thread's namespace as an nsConn, its route
// sockets made in it.
func connHere() (*nsConn, error) {
	fd, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open new namespace: %w", err)
	}
	c := &nsConn{fd: netns.NsHandle(fd), dump: -1}
	if c.h, err = netlink.NewHandle(unix.NETLINK_ROUTE); err != nil {
		c.close()
		return nil, fmt.Errorf("netlink socket: %w", err)
	}
	s, err := nl.GetNetlinkSocketAt(netns.None(), netns.None(), unix.NETLINK_ROUTE) // here
	if err != nil {
		c.close()
		return nil, fmt.Errorf("netlink socket: %w", err)
	}
	c.raw = &nl.SocketHandle{Socket: s}
	return c, nil
}

// markNewLo sets lo's alias to marker and brings it up in a namespace
// just made, in one message: lo is down and has no alias there. It is
// found by its name (index 0), which the message keeps.
// Equivalent to: ip link set lo alias MARKER up
func (c *nsConn) markNewLo(marker string) error {
	if err := c.setLinkAttrs(0, "lo", marker, 0, true); err != nil {
		return fmt.Errorf("mark lo and set it up: %w", err)
	}
	return nil
}

// keepConn keeps c, the namespace just made and mounted at name, whose
// lo carries marker, in place of any conn of that name.
func (k *Linux) keepConn(name string, c *nsConn, marker string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if old, ok := k.conns[name]; ok {
		old.close()
	}
	c.alias, c.known = marker, true
	k.conns[name] = c
}

// markLo sets lo's alias to marker and brings it up in c's namespace,
// where either may be missing (a namespace of netlab's made again).
func markLo(c *nsConn, marker string) error {
	lo, err := c.h.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("find lo: %w", err)
	}
	if lo.Attrs().Alias == marker && lo.Attrs().Flags&net.FlagUp != 0 {
		return nil
	}
	if err := c.setLinkAttrs(lo.Attrs().Index, "lo", marker, 0, true); err != nil {
		return fmt.Errorf("mark lo and set it up: %w", err)
	}
	return nil
}

// marked reports whether the namespace carries the marker of lab and node,
// read now.
func (k *Linux) marked(name, lab, node string) (bool, error) {
	alias, err := k.loAlias(name, true)
	return err == nil && alias == state.NodeMarker(lab, node), err
}

// markedKnown is marked answered by the marker read last through the
// namespace held open under that name, when there is one: proof enough
// that it is the lab's, since the kernel lets go of a namespace that is
// no longer the one mounted at the name (conn). Down asks it of each
// namespace at each step; one read per namespace serves them all.
func (k *Linux) markedKnown(name, lab, node string) (bool, error) {
	alias, err := k.loAlias(name, false)
	return err == nil && alias == state.NodeMarker(lab, node), err
}

// aliasChanged forgets the marker last read through c: an alias set
// through it may have been lo's.
func (k *Linux) aliasChanged(c *nsConn) {
	k.mu.Lock()
	c.known = false
	k.mu.Unlock()
}

// loAlias returns lo's alias in the namespace: read now when fresh or
// not read yet through the namespace's open file, else as last read.
func (k *Linux) loAlias(name string, fresh bool) (string, error) {
	c, err := k.nsFile(name)
	if err != nil {
		return "", err
	}
	k.mu.Lock()
	alias, known := c.alias, c.known
	k.mu.Unlock()
	if known && !fresh {
		return alias, nil
	}
	aliases, errs := k.readAliases([]*nsConn{c})
	return aliases[0], errs[0]
}

// readAliases reads lo's alias in each open namespace of cs (see
// marker_linux.go) and keeps it with it.
func (k *Linux) readAliases(cs []*nsConn) ([]string, []error) {
	// Copies of the files, made under k.mu: a conn forgotten meanwhile
	// closes its own, whose number could then name another file.
	fds := make([]netns.NsHandle, len(cs))
	dupErrs := make([]error, len(cs))
	k.mu.Lock()
	for i, c := range cs {
		fd, err := unix.FcntlInt(uintptr(c.fd), unix.F_DUPFD_CLOEXEC, 0)
		fds[i], dupErrs[i] = netns.NsHandle(fd), err
	}
	k.mu.Unlock()
	defer func() {
		for i, fd := range fds {
			if dupErrs[i] == nil {
				fd.Close()
			}
		}
	}()
	k.loReads.Add(int64(len(cs)))
	aliases, errs := readAliases(fds)
	k.mu.Lock()
	defer k.mu.Unlock()
	for i, c := range cs {
		if dupErrs[i] != nil {
			aliases[i], errs[i] = "", fmt.Errorf("namespace file: %w", dupErrs[i])
			continue
		}
		if errs[i] == nil {
			c.alias, c.known = aliases[i], true
		}
	}
	return aliases, errs
}

// NetNSDel deletes a namespace, but only one that netlab marked.
func (k *Linux) NetNSDel(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if name == state.HostNetNS {
		return fmt.Errorf("delete namespace: the machine's root namespace is never deleted: %w", unix.EPERM)
	}
	lab, node, ok := state.SplitNetNSName(name)
	if !ok {
		return fmt.Errorf("delete namespace %q: not a netlab name", name)
	}
	path, err := k.netnsPath(name)
	if err != nil {
		return fmt.Errorf("delete namespace: %w", err)
	}
	owned, err := k.markedKnown(name, lab, node)
	if errors.Is(err, errNotNetNS) && isStub(path) {
		return os.Remove(path) // an interrupted create's empty mount point
	}
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("delete namespace %s: %w", name, err)
	}
	if !owned {
		return &ForeignError{NetNS: name}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if k.startedIsMachine {
		if err := k.delCrossVXLANs(name); err != nil {
			return fmt.Errorf("delete namespace %s: %w", name, err)
		}
	}
	k.forget(name)
	if err := unmountNetNS(path); err != nil {
		return fmt.Errorf("delete namespace %s: %w", name, err)
	}
	return nil
}

// delCrossVXLANs deletes the namespace's vxlans whose UDP socket is in
// another namespace: a link between machines, made in the machine's own
// namespace (addVXLAN). The kernel frees an unmounted namespace, and the
// links in it, later, on a work queue; until then such a vxlan still
// holds its VNI and port in the machine's namespace, and an up right
// after down (or after a node is removed and added back) failed to make
// it again with EEXIST. A link deleted is freed at once. Only a netlab
// working on a machine of a lab over several (WithStartAsMachine) looks:
// a dump of every namespace tripled the down of a 1000-node lab.
// Equivalent to: ip -n NETNS link del NAME, for each vxlan with a link-netnsid
func (k *Linux) delCrossVXLANs(name string) error {
	c, err := k.conn(name)
	if err != nil {
		return err
	}
	links, err := retryDump("list links", c.h.LinkList)
	if err != nil {
		return err
	}
	for _, l := range links {
		if vx, ok := l.(*netlink.Vxlan); ok && vx.Attrs().NetNsID >= 0 {
			if err := c.h.LinkDel(l); err != nil && !IsNotFound(err) {
				return fmt.Errorf("delete vxlan %s: %w", l.Attrs().Name, err)
			}
		}
	}
	return nil
}

// NetNSList lists the namespace files of one lab, each with whether it
// carries the lab's marker; an interrupted create's empty mount point is
// listed as a stub. Markers are read on a few threads at once.
func (k *Linux) NetNSList(ctx context.Context, lab string) ([]NetNSInfo, error) {
	return k.netnsList(ctx, lab, true)
}

// netnsList is NetNSList with each marker read now when fresh, and
// otherwise as read last through the namespace's open file (down lists
// them, and then asks for their processes).
func (k *Linux) netnsList(ctx context.Context, lab string, fresh bool) ([]NetNSInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	names, err := k.listNetNS()
	if err != nil {
		return nil, err
	}
	var out []NetNSInfo
	for _, name := range names {
		if l, node, ok := state.SplitNetNSName(name); ok && l == lab {
			out = append(out, NetNSInfo{Name: name, Node: node})
		}
	}
	var read []*nsConn
	var readIdx []int
	for i := range out {
		info := &out[i]
		path, err := k.netnsPath(info.Name)
		if err != nil {
			continue
		}
		// The open tells a namespace from anything else; only what is
		// none is looked at again.
		c, err := k.nsFile(info.Name)
		if errors.Is(err, errNotNetNS) {
			info.Stub = isStub(path)
		}
		if err != nil {
			continue
		}
		k.mu.Lock()
		alias, known := c.alias, c.known
		k.mu.Unlock()
		if known && !fresh {
			info.Marked = alias == state.NodeMarker(lab, info.Node)
			continue
		}
		read = append(read, c)
		readIdx = append(readIdx, i)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	aliases, errs := k.readAliases(read)
	for j, i := range readIdx {
		out[i].Marked = errs[j] == nil && aliases[j] == state.NodeMarker(lab, out[i].Node)
	}
	return out, nil
}

// Labs lists the labs whose marked namespaces are present.
func (k *Linux) Labs(ctx context.Context) ([]LabInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	names, err := k.listNetNS()
	if err != nil {
		return nil, err
	}
	var cs []*nsConn
	var found [][2]string // lab and node of each of cs
	for _, name := range names {
		lab, node, ok := state.SplitNetNSName(name)
		if !ok {
			continue
		}
		if c, err := k.nsFile(name); err == nil {
			cs = append(cs, c)
			found = append(found, [2]string{lab, node})
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	aliases, errs := k.readAliases(cs)
	byLab := make(map[string][]string)
	for i, f := range found {
		if errs[i] == nil && aliases[i] == state.NodeMarker(f[0], f[1]) {
			byLab[f[0]] = append(byLab[f[0]], f[1])
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
