package kernel

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"netlab/lab/state"
)

// Linux is the real kernel, through netlink. It keeps one netlink handle
// and one namespace file per namespace it has touched; Close releases them.
type Linux struct {
	mu    sync.Mutex
	conns map[string]*nsConn // by namespace name; guarded by mu

	// etcNetNSDir is where the hosts files are, EtcNetNSDir unless an
	// Option said otherwise.
	etcNetNSDir string
	// netnsDir is where the named namespaces are bind-mounted, NetNSDir
	// unless an Option said otherwise; prepareNetNSDir makes it a shared
	// mount point once (netnsDirOnce, netnsDirErr).
	netnsDir     string
	netnsDirOnce sync.Once
	netnsDirErr  error
	// ids maps a rootless netlab's user between the lab file's ids and
	// the kernel's (WithOutsideIDs); the zero value maps nothing.
	ids     idMap
	started startedProcs // the processes ProcessStart started
	// startedIsMachine makes the namespace netlab started in the
	// machine's own (state.HostNetNS), not PID 1's (WithStartAsMachine).
	startedIsMachine bool

	// loReads counts the markers read over netlink (lo's alias), for
	// the tests that hold down to one read per namespace.
	loReads atomic.Int64

	hostsMu         sync.Mutex
	lastMachineName machineName // guarded by hostsMu
}

// An Option changes a parameter of the real kernel from its default.
type Option func(*Linux)

// WithEtcNetNSDir keeps the hosts files of HostsSet, HostsFiles and
// Observe, and the files the launcher lays over a node's /etc, in dir
// instead of EtcNetNSDir: a rootless netlab's own directory, or a test's.
func WithEtcNetNSDir(dir string) Option { return func(k *Linux) { k.etcNetNSDir = dir } }

// WithNetNSDir keeps the named namespaces in dir instead of NetNSDir: a
// rootless netlab's own directory, which only its holder's mount
// namespace sees (see lab/rootless), or a test's.
func WithNetNSDir(dir string) Option { return func(k *Linux) { k.netnsDir = dir } }

// WithStartAsMachine makes the namespace netlab started in the machine's
// own (state.HostNetNS), rather than PID 1's: a machine of a lab spread
// over several (netlab up --machine) is wherever netlab is run, which on
// a real machine is the root namespace, and on a machine simulated in a
// namespace of its own (as the tests do) that namespace. NetNSDel then
// also deletes a node's links to other machines first (delCrossVXLANs).
func WithStartAsMachine() Option { return func(k *Linux) { k.startedIsMachine = true } }

// WithOutsideIDs says that this netlab is root of a user namespace that
// maps the user uid, group gid (a rootless netlab's): a tun's or tap's
// owner and group, which the lab file gives as the machine's ids, are
// this user's 0 to the kernel, and are read back as the machine's.
func WithOutsideIDs(uid, gid uint32) Option {
	return func(k *Linux) { k.ids = idMap{set: true, uid: uid, gid: gid} }
}

// idMap translates a tun's owner and group between the machine's ids
// (the lab file's) and those of the user namespace netlab runs in.
type idMap struct {
	set      bool
	uid, gid uint32
}

// inside returns l with its owner and group as the kernel takes them
// here: the user's own ids become 0. Any other id has no name inside the
// namespace; validation refuses it before (a rootless lab's tap belongs
// to its user), and the kernel would refuse it here.
func (m idMap) inside(l *state.Link) *state.Link {
	if !m.set || l.TunOwner == nil && l.TunGroup == nil {
		return l
	}
	c := *l
	c.TunOwner, c.TunGroup = swapID(l.TunOwner, m.uid, 0), swapID(l.TunGroup, m.gid, 0)
	return &c
}

// outside turns the owners and groups read from the kernel back into
// the machine's ids.
func (m idMap) outside(links map[int]*state.Link) {
	if !m.set {
		return
	}
	for _, l := range links {
		l.TunOwner, l.TunGroup = swapID(l.TunOwner, 0, m.uid), swapID(l.TunGroup, 0, m.gid)
	}
}

// swapID returns id, or to when id is from.
func swapID(id *uint32, from, to uint32) *uint32 {
	if id != nil && *id == from {
		return &to
	}
	return id
}

// nsConn is an open namespace: its file and a netlink socket inside it.
// The socket is made when first needed (conn): down reads the marker
// and deletes the namespace through the file alone (nsFile).
type nsConn struct {
	fd   netns.NsHandle
	h    *netlink.Handle // nil until conn makes it; guarded by Linux.mu until then
	host bool            // the machine's root namespace

	// alias is lo's alias, the marker, as last read through h (known
	// set); guarded by Linux.mu. It stays true of this namespace for as
	// long as the conn lives, which is only while the same namespace is
	// mounted at its name (see conn).
	alias string
	known bool

	// raw is a second route socket in the namespace, for the requests
	// the netlink library has no call for (setLinkAttrs); made at the
	// first, guarded by rawMu.
	rawMu sync.Mutex
	raw   *nl.SocketHandle

	// dump is a netlink socket of LinkCounters' own in the namespace,
	// made at its first call; -1 until then. seq numbers its requests.
	// Both guarded by dumpMu.
	dumpMu sync.Mutex
	dump   int
	seq    uint32
}

// setLinkAttrs renames the link at index, sets its alias, brings it up
// (when up) and enslaves it to the link at master (when not 0), in one
// RTM_NEWLINK; index 0 finds the link by name instead, which it keeps.
// The kernel's do_setlink applies the name first, then the alias, the
// flags and the master, and stops at the first it refuses: a name in
// the way leaves the link as it was, under its temporary name.
// Equivalent to: ip link set dev TMP name NAME alias ALIAS up master M
func (c *nsConn) setLinkAttrs(index int, name, alias string, master int, up bool) error {
	req := nl.NewNetlinkRequest(unix.RTM_NEWLINK, unix.NLM_F_ACK)
	msg := nl.NewIfInfomsg(unix.AF_UNSPEC)
	msg.Index = int32(index)
	if up {
		msg.Flags = unix.IFF_UP
		msg.Change = unix.IFF_UP
	}
	req.AddData(msg)
	req.AddData(nl.NewRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated(name)))
	req.AddData(nl.NewRtAttr(unix.IFLA_IFALIAS, []byte(alias)))
	if master != 0 {
		req.AddData(nl.NewRtAttr(unix.IFLA_MASTER, nl.Uint32Attr(uint32(master))))
	}
	_, err := c.execute(req, 0)
	return err
}

// rawSocket returns c's raw route socket, opening it at the first call.
func (c *nsConn) rawSocket() (*nl.SocketHandle, error) { return c.openRaw(false) }

// execute sends req on c's raw route socket (rawSocket) and returns
// the answers of type answer, as req.Execute does.
func (c *nsConn) execute(req *nl.NetlinkRequest, answer uint16) ([][]byte, error) {
	sock, err := c.rawSocket()
	if err != nil {
		return nil, err
	}
	req.Sockets = map[int]*nl.SocketHandle{unix.NETLINK_ROUTE: sock}
	return req.Execute(unix.NETLINK_ROUTE, answer)
}

// rawSocketHere makes c's raw route socket, if it has none, in the
// namespace the calling thread is in: Observe's nsThread, which is in c's
// namespace already, so that the neighbour and bridge-port dumps cost no
// namespace switch of their own (rawSocket's) at each node.
func (c *nsConn) rawSocketHere() error {
	_, err := c.openRaw(true)
	return err
}

// openRaw returns c's raw route socket, opening it at the first call: in
// the calling thread's namespace when here (the caller's word that it is
// c's), else in c's, the thread switched there and back.
func (c *nsConn) openRaw(here bool) (*nl.SocketHandle, error) {
	c.rawMu.Lock()
	defer c.rawMu.Unlock()
	if c.raw != nil {
		return c.raw, nil
	}
	newNS, curNS := netns.None(), netns.None()
	if !here {
		cur, err := netns.Get()
		if err != nil {
			return nil, fmt.Errorf("netlink socket: %w", err)
		}
		defer cur.Close()
		newNS, curNS = c.fd, cur
	}
	s, err := nl.GetNetlinkSocketAt(newNS, curNS, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netlink socket: %w", err)
	}
	c.raw = &nl.SocketHandle{Socket: s}
	return c.raw, nil
}

// NewLinux returns the real kernel.
func NewLinux(opts ...Option) *Linux {
	k := &Linux{conns: make(map[string]*nsConn), etcNetNSDir: EtcNetNSDir, netnsDir: NetNSDir}
	for _, o := range opts {
		o(k)
	}
	return k
}

var _ Kernel = (*Linux)(nil)

// machineSafe refuses, with EPERM and before any message, the writes
// netlab never makes in the machine's own namespace: its routes, sysctls
// and nftables. The planner plans none there; this keeps any other
// caller from changing the machine, and is what the fake does.
func machineSafe(netnsName, what string) error {
	if netnsName == state.HostNetNS {
		return fmt.Errorf("%s in the machine's own namespace: netlab never changes its routes, sysctls or nftables: %w", what, unix.EPERM)
	}
	return nil
}

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
	c, err := k.nsFileLocked(name)
	if err != nil || c.h != nil {
		return c, err
	}
	// The socket is made without the lock: Observe and up open a
	// thousand namespaces from several goroutines, and each socket
	// enters its namespace and leaves it again.
	k.mu.Unlock()
	h, err := netlink.NewHandleAt(c.fd, unix.NETLINK_ROUTE)
	k.mu.Lock()
	if err != nil {
		return nil, fmt.Errorf("netlink socket in %s: %w", name, err)
	}
	return k.keepHandleLocked(name, c, h)
}

// keepHandleLocked gives c, the open namespace name, the socket h, unless
// another goroutine gave it one meanwhile (then h is closed); a c let go
// meanwhile (forget, or the name remounted) is an error. k.mu is held.
func (k *Linux) keepHandleLocked(name string, c *nsConn, h *netlink.Handle) (*nsConn, error) {
	switch {
	case k.conns[name] != c:
		h.Close()
		return nil, fmt.Errorf("namespace %s: let go while its socket was made: %w", name, os.ErrNotExist)
	case c.h != nil:
		h.Close()
	default:
		c.h = h
	}
	return c, nil
}

// nsFile is conn without the netlink socket: the open namespace file,
// with the marker last read in it, for what needs no more (the identity
// of the namespace, its marker, its delete).
func (k *Linux) nsFile(name string) (*nsConn, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if name == state.HostNetNS {
		return k.hostConnLocked()
	}
	return k.nsFileLocked(name)
}

// nsFileLocked is nsFile with k.mu held.
func (k *Linux) nsFileLocked(name string) (*nsConn, error) {
	path, err := k.netnsPath(name)
	if err != nil {
		return nil, err
	}
	if c, ok := k.conns[name]; ok {
		if mountedAt(c.fd, path) {
			return c, nil
		}
		c.close()
		delete(k.conns, name)
	}
	fd, err := k.openNetNS(name)
	if err != nil {
		return nil, err
	}
	c := &nsConn{fd: fd, dump: -1}
	k.conns[name] = c
	return c, nil
}

// close releases the namespace file and its sockets.
func (c *nsConn) close() {
	if c.h != nil {
		c.h.Close()
	}
	c.rawMu.Lock()
	if c.raw != nil {
		c.raw.Close()
		c.raw = nil
	}
	c.rawMu.Unlock()
	c.dumpMu.Lock()
	if c.dump >= 0 {
		unix.Close(c.dump)
		c.dump = -1
	}
	c.dumpMu.Unlock()
	c.fd.Close()
}

// startNetNS is the namespace netlab started in, opened while the
// package is initialised: that runs on the main thread before any
// goroutine can have switched a thread to another namespace.
var startNetNS, startNetNSErr = netns.Get()

// hostConnLocked opens the machine's root namespace: that of PID 1, or,
// where PID 1 is out of reach (a container, a sandbox) or
// WithStartAsMachine says so, the one netlab started in. Never the
// calling thread's, which may be inside another.
func (k *Linux) hostConnLocked() (*nsConn, error) {
	if c, ok := k.conns[state.HostNetNS]; ok {
		return c, nil
	}
	var fd netns.NsHandle
	var err error
	if k.startedIsMachine {
		fd, err = dupStartNetNS()
	} else if fd, err = netns.GetFromPath("/proc/1/ns/net"); err != nil && IsPerm(err) {
		fd, err = dupStartNetNS()
	}
	if err != nil {
		return nil, fmt.Errorf("open the root namespace: %w", err)
	}
	h, err := netlink.NewHandleAt(fd, unix.NETLINK_ROUTE)
	if err != nil {
		fd.Close()
		return nil, fmt.Errorf("netlink socket in the root namespace: %w", err)
	}
	c := &nsConn{fd: fd, h: h, host: true, dump: -1}
	k.conns[state.HostNetNS] = c
	return c, nil
}

// dupStartNetNS opens again the namespace netlab started in.
func dupStartNetNS() (netns.NsHandle, error) {
	if startNetNSErr != nil {
		return netns.None(), startNetNSErr
	}
	dup, err := unix.FcntlInt(uintptr(startNetNS), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return netns.None(), err
	}
	return netns.NsHandle(dup), nil
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
		c.close()
		delete(k.conns, name)
	}
}

// Close releases every namespace file and netlink socket.
func (k *Linux) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	for name, c := range k.conns {
		c.close()
		delete(k.conns, name)
	}
	return nil
}

// applyWorkers is how many namespaces the real kernel makes, or hosts
// files it writes, at once. Making a namespace is mostly the kernel's
// setup of its subsystems, under locks taken for read, so two cores make
// them faster side by side; more than that only queue on the locks that
// do serialize (RTNL for lo, the mount lock for the name).
const applyWorkers = 4

// ApplyWorkers says how many changes of one kind Linux takes at once
// (Concurrent).
func (k *Linux) ApplyWorkers() int { return applyWorkers }
