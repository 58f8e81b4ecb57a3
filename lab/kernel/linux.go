package kernel

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
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
	fd, err := netns.GetFromPath(path)
	if err != nil {
		return nil, fmt.Errorf("open namespace %s: %w", name, err)
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
