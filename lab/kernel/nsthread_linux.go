package kernel

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// An nsThread is a goroutine that locks itself to its OS thread to move
// from namespace to namespace: Observe reads each node on one, entering
// its namespace once and making its sockets there. Otherwise each socket
// enters and leaves the namespace on a thread of its own (the netlink
// library's route socket, every nftables request, every sysctl read):
// at 1000 nodes that was a third of a plan's time in the kernel.
//
// A socket stays in the namespace it was made in, whatever thread uses
// it, so the goroutine leaves the namespace and unlocks (release) once
// its sockets are made, and reads through them unlocked. A locked
// goroutine that waits (on a socket, a channel, a mutex) is woken by
// handing its processor to its own thread, two context switches each
// time: at 1000 nodes that was ten thousand switches a plan.
//
// Every thread that no nsThread holds is in the namespace the process
// started in: a thread is unlocked only once it is back there. So one
// note of that namespace serves each relock. A thread that cannot move
// back stays locked, so that the runtime ends it with its goroutine
// rather than reuse it in a lab's namespace.
type nsThread struct {
	orig   netns.NsHandle
	moved  bool
	locked bool
}

// startNSThread locks the calling goroutine to its thread and notes the
// thread's namespace.
func startNSThread() (*nsThread, error) {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("get current namespace: %w", err)
	}
	return &nsThread{orig: orig, locked: true}, nil
}

// enter moves the thread into the namespace at fd, locking the goroutine
// to a thread again if release unlocked it.
func (t *nsThread) enter(fd netns.NsHandle) error {
	return t.move(func() error {
		if err := netns.Set(fd); err != nil {
			return fmt.Errorf("enter namespace: %w", err)
		}
		return nil
	})
}

// move moves the thread to another namespace by to (a setns, an
// unshare). The thread counts as moved even when to fails, so that stop
// always sets it back where it started.
func (t *nsThread) move(to func() error) error {
	if !t.locked {
		runtime.LockOSThread() // a thread not held by an nsThread: in t.orig
		t.locked = true
	}
	t.moved = true
	return to()
}

// release moves the thread back where it started and unlocks the
// goroutine, which keeps t for its next enter. On an error the thread
// stays locked where it is, and the goroutine must end without using t
// again, so that the runtime ends the thread with it.
func (t *nsThread) release() error {
	if t.moved {
		if err := netns.Set(t.orig); err != nil {
			return fmt.Errorf("%w: %w", errThreadStuck, err)
		}
		t.moved = false
	}
	if t.locked {
		runtime.UnlockOSThread()
		t.locked = false
	}
	return nil
}

// errThreadStuck is why a thread could not leave a lab's namespace.
var errThreadStuck = errors.New("leave namespace")

// stop moves the thread back and unlocks it. A thread that cannot move
// back stays locked, and the error says so: the thread ends with its
// goroutine.
func (t *nsThread) stop() error {
	defer t.orig.Close()
	return t.release()
}

// connIn returns the open namespace of that name, as conn does, with t
// moved into it; a namespace without a socket yet gets it from the
// thread, without entering the namespace again.
func (k *Linux) connIn(t *nsThread, name string) (*nsConn, error) {
	var h *netlink.Handle
	k.mu.Lock()
	c, err := k.nsFileLocked(name)
	if err == nil {
		h = c.h
	}
	k.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if err := t.enter(c.fd); err != nil {
		return nil, err
	}
	if h != nil {
		return c, nil
	}
	h, err = netlink.NewHandle(unix.NETLINK_ROUTE) // in the thread's namespace: name's
	if err != nil {
		return nil, fmt.Errorf("netlink socket in %s: %w", name, err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.keepHandleLocked(name, c, h)
}

// nftHere is an nftables connection of the calling thread's namespace,
// one socket for all its requests; the caller closes it (CloseLasting).
func nftHere() (*nftables.Conn, error) {
	conn, err := nftables.New(nftables.AsLasting())
	if err != nil {
		return nil, fmt.Errorf("nftables: %w", err)
	}
	return conn, nil
}

// readSysctlsHere reads the sysctls keys of the calling thread's
// namespace. A key the kernel does not have, or will not let root read
// (an action such as net.ipv4.route.flush), is left out: SysctlProblems
// names it to the user before anything is changed, where a failed read
// would stop every plan. A key that reads as EIO is one with no value
// yet (net.ipv6.conf.*.stable_secret until it is written): it is left
// out too, so the plan sets it.
func readSysctlsHere(keys []string) (map[string]string, error) {
	out := make(map[string]string, len(keys))
	asked := make(map[[2]int32]map[uint16]string) // netconf by family and device, asked once
	for _, key := range keys {
		if e, ok := netconfKey(key); ok {
			at := [2]int32{int32(e.family), e.ifindex}
			conf, done := asked[at]
			if !done {
				conf, _ = netconfHere(e.family, e.ifindex) // an error: /proc/sys says why
				asked[at] = conf
			}
			if v, ok := conf[e.attr]; ok {
				out[key] = v
				continue
			}
		}
		v, ok, err := readSysctl(key)
		if err != nil {
			return nil, err
		}
		if ok {
			out[key] = v
		}
	}
	return out, nil
}

// readSysctl reads one sysctl of the calling thread's namespace; ok is
// false for a key the kernel does not have there (or will not show).
func readSysctl(key string) (value string, ok bool, err error) {
	path, err := sysctlPath(key)
	if err != nil {
		return "", false, err
	}
	data, err := os.ReadFile(path)
	if isMissingSysctl(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("sysctl %s: %w", key, err)
	}
	return strings.TrimSpace(string(data)), true, nil
}
