package kernel

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"netlab/lab/state"
)

// watchResync is how often Watch looks for namespaces of the lab that
// appeared or went away without a directory event it could act on (a
// namespace file is created first and mounted a moment later).
const watchResync = 2 * time.Second

// Watch reports changes to a running lab as they happen: links,
// addresses and routes added, removed or changed in any of its namespaces
// (netlink notifications, one subscription per namespace), and namespaces
// of the lab created or deleted (inotify on the namespace directory). The
// channel receives one value per burst of changes: a reader that is busy
// misses none, it sees one value for all of them. Counters are not
// reported: poll Observe for those.
//
// When ctx ends, Watch closes every socket and file it opened and then
// the channel. It does not hold a namespace open longer than it is
// mounted: a namespace deleted by hand is let go at once, so that the
// kernel can destroy it (and the veth ends it held).
func (k *Linux) Watch(ctx context.Context, lab string) (<-chan struct{}, error) {
	w := &watcher{k: k, lab: lab, out: make(chan struct{}, 1), subs: make(map[string]*nsWatch)}
	dir, err := watchDir(k.netnsDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("watch %s: %w", k.netnsDir, err)
	}
	w.sync()
	go w.run(ctx, dir)
	return w.out, nil
}

// watcher is the state of one Watch. subs is used only by the goroutine
// of run (and by Watch before it starts).
type watcher struct {
	k    *Linux // whose directory of namespaces is watched
	lab  string
	out  chan struct{}
	subs map[string]*nsWatch // by namespace name
	wg   sync.WaitGroup      // the goroutines that forward notifications
}

// nsWatch is the subscriptions in one namespace, and which namespace it
// was (device and inode of the namespace file).
type nsWatch struct {
	dev, ino uint64
	sock     *os.File // the subscription; closing it ends its goroutine
}

// notify records a change without blocking.
func (w *watcher) notify() {
	select {
	case w.out <- struct{}{}:
	default:
	}
}

func (w *watcher) run(ctx context.Context, dir *os.File) {
	dirEvents := make(chan struct{}, 1)
	if dir != nil {
		go func() {
			buf := make([]byte, 4096)
			for {
				n, err := dir.Read(buf)
				if err != nil {
					return // closed
				}
				// Other labs' namespaces come and go in the same
				// directory (a thousand at a time): those are no change
				// of this lab's.
				if !namesLab(buf[:n], w.lab) {
					continue
				}
				select {
				case dirEvents <- struct{}{}:
				default:
				}
			}
		}()
	}
	tick := time.NewTicker(watchResync)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			if dir != nil {
				dir.Close()
			}
			for name, s := range w.subs {
				s.sock.Close()
				delete(w.subs, name)
			}
			w.wg.Wait()
			close(w.out)
			return
		case <-dirEvents:
			w.sync()
			w.notify()
		case <-tick.C:
			if w.sync() {
				w.notify()
			}
		}
	}
}

// sync subscribes in each mounted namespace of the lab not yet watched and
// drops the subscriptions of namespaces gone (or replaced by a new one of
// the same name). It reports whether anything changed.
func (w *watcher) sync() bool {
	names, _ := w.k.listNetNS()
	seen := make(map[string]bool)
	changed := false
	for _, name := range names {
		if l, _, ok := state.SplitNetNSName(name); !ok || l != w.lab {
			continue
		}
		path, err := w.k.netnsPath(name)
		if err != nil || !isNetNSMount(path) {
			continue
		}
		var st unix.Stat_t
		if unix.Stat(path, &st) != nil {
			continue
		}
		if s := w.subs[name]; s != nil {
			if s.dev == st.Dev && s.ino == st.Ino {
				seen[name] = true
				continue
			}
			s.sock.Close() // a new namespace of the same name
			delete(w.subs, name)
			changed = true
		}
		s, err := w.subscribe(name)
		if err != nil {
			continue // gone meanwhile, or not ours to read: next sync
		}
		w.subs[name] = s
		seen[name] = true
		changed = true
	}
	for name, s := range w.subs {
		if !seen[name] {
			s.sock.Close()
			delete(w.subs, name)
			changed = true
		}
	}
	return changed
}

// subscribe opens link, address and route notifications inside the
// named namespace: one netlink socket there, member of the groups of
// links, addresses and routes of both families. The namespace file is
// closed again at once; the socket alone keeps the subscription.
func (w *watcher) subscribe(netnsName string) (*nsWatch, error) {
	fd, err := w.k.openNetNS(netnsName)
	if err != nil {
		return nil, err
	}
	defer fd.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(fd), &st); err != nil {
		return nil, err
	}
	var sock int
	err = InNetNS(fd, func() error {
		var err error
		sock, err = unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_ROUTE)
		if err != nil {
			return fmt.Errorf("netlink socket: %w", err)
		}
		groups := uint32(unix.RTMGRP_LINK | unix.RTMGRP_IPV4_IFADDR | unix.RTMGRP_IPV6_IFADDR | unix.RTMGRP_IPV4_ROUTE | unix.RTMGRP_IPV6_ROUTE)
		if err := unix.Bind(sock, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: groups}); err != nil {
			unix.Close(sock)
			return fmt.Errorf("netlink subscribe: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s := &nsWatch{dev: st.Dev, ino: st.Ino, sock: os.NewFile(uintptr(sock), "netlink:"+netnsName)}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		w.forward(s.sock)
	}()
	return s, nil
}

// forward turns each notification read from sock into one to the
// watcher, until sock is closed. The messages are not decoded (that one
// came is all the UI needs), so a small buffer does: a longer message is
// cut, which is no loss here. A thousand namespaces watched cost a
// thousand goroutines parked in the poller with a buffer each, not a
// thread, nor the 64 KiB buffer the netlink library reads with.
func (w *watcher) forward(sock *os.File) {
	buf := make([]byte, 512)
	for {
		_, err := sock.Read(buf)
		switch {
		case err == nil:
			w.notify()
		case errors.Is(err, unix.ENOBUFS):
			w.notify() // notifications were lost: any may have been a change
		default:
			return // closed
		}
	}
}

// watchDir returns an inotify file that becomes readable when a name is
// added to or removed from dir. Reading it blocks in the runtime's poller,
// so closing it ends a pending read.
func watchDir(dir string) (*os.File, error) {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil, err
	}
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_CREATE|unix.IN_DELETE|unix.IN_MOVED_FROM|unix.IN_MOVED_TO); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), "inotify:"+dir), nil
}

// namesLab reports whether one of the inotify events in buf names a
// namespace of lab (LAB.NODE). A read returns whole events.
func namesLab(buf []byte, lab string) bool {
	for len(buf) >= unix.SizeofInotifyEvent {
		ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[0]))
		end := unix.SizeofInotifyEvent + int(ev.Len)
		if end > len(buf) {
			return true // cut short: better a refresh too many
		}
		name := strings.TrimRight(string(buf[unix.SizeofInotifyEvent:end]), "\x00")
		if l, _, ok := state.SplitNetNSName(name); ok && l == lab {
			return true
		}
		if ev.Mask&unix.IN_Q_OVERFLOW != 0 {
			return true // events were lost: any may have been the lab's
		}
		buf = buf[end:]
	}
	return false
}
