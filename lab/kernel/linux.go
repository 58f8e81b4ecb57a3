package kernel

import (
	"fmt"
	"sync"
	"sync/atomic"

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

	// etcNetNSDir is where the hosts files are, EtcNetNSDir unless an
	// Option said otherwise.
	etcNetNSDir string
	started     startedProcs // the processes ProcessStart started

	// loReads counts the markers read over netlink (lo's alias), for
	// the tests that hold down to one read per namespace.
	loReads atomic.Int64
}

// An Option changes a parameter of the real kernel from its default.
type Option func(*Linux)

// WithEtcNetNSDir keeps the hosts files of HostsSet, HostsFiles and
// Observe in dir instead of EtcNetNSDir: a test's own directory. (The
// launcher still binds EtcNetNSDir's files in a node.)
func WithEtcNetNSDir(dir string) Option { return func(k *Linux) { k.etcNetNSDir = dir } }

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
}

// NewLinux returns the real kernel.
func NewLinux(opts ...Option) *Linux {
	k := &Linux{conns: make(map[string]*nsConn), etcNetNSDir: EtcNetNSDir}
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
	if err != nil {
		return nil, err
	}
	if c.h == nil {
		h, err := netlink.NewHandleAt(c.fd, unix.NETLINK_ROUTE)
		if err != nil {
			return nil, fmt.Errorf("netlink socket in %s: %w", name, err)
		}
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
	path, err := netnsPath(name)
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
	fd, err := openNetNS(name)
	if err != nil {
		return nil, err
	}
	c := &nsConn{fd: fd}
	k.conns[name] = c
	return c, nil
}

// close releases the namespace file and its socket.
func (c *nsConn) close() {
	if c.h != nil {
		c.h.Close()
	}
	c.fd.Close()
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
	c := &nsConn{fd: fd, h: h, host: true}
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
