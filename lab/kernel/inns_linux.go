package kernel

import (
	"errors"
	"fmt"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// InNetNS runs fn on an OS thread that is inside the namespace at fd, and
// returns its error. The thread is locked for the duration and switched
// back afterwards; if switching back fails the thread is never unlocked,
// so the runtime ends it rather than reuse it in the wrong namespace. fn
// must not start goroutines that expect the namespace.
func InNetNS(fd netns.NsHandle, fn func() error) error {
	return onSwitchedThread(func(t *nsThread) error { return t.enter(fd) }, fn)
}

// InFreshNetNS runs fn on an OS thread inside a new, empty namespace of
// its own, as a node's is when it has just been made, and returns its
// error. Nothing else holds the namespace, so the kernel frees it once
// the thread has switched back; a thread that cannot switch back is
// never unlocked, and dies.
func InFreshNetNS(fn func() error) error {
	return onSwitchedThread(func(t *nsThread) error {
		return t.move(func() error {
			if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
				return fmt.Errorf("new namespace: %w", err)
			}
			return nil
		})
	}, fn)
}

// onSwitchedThread runs fn on an nsThread of its own that enter has moved
// to another namespace, then moves the thread back (nsThread.stop).
func onSwitchedThread(enter func(*nsThread) error, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		t, err := startNSThread()
		if err != nil {
			errc <- err
			return
		}
		err = enter(t)
		if err == nil {
			err = fn()
		}
		errc <- errors.Join(err, t.stop())
	}()
	return <-errc
}
