package kernel

import (
	"fmt"
	"runtime"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// InNetNS runs fn on an OS thread that is inside the namespace at fd, and
// returns its error. The thread is locked for the duration and switched
// back afterwards; if switching back fails the thread is never unlocked,
// so the runtime ends it rather than reuse it in the wrong namespace. fn
// must not start goroutines that expect the namespace.
func InNetNS(fd netns.NsHandle, fn func() error) error {
	return onSwitchedThread(func() error {
		if err := netns.Set(fd); err != nil {
			return fmt.Errorf("enter namespace: %w", err)
		}
		return nil
	}, fn)
}

// InFreshNetNS runs fn on an OS thread inside a new, empty namespace of
// its own, as a node's is when it has just been made, and returns its
// error. Nothing else holds the namespace, so the kernel frees it once
// the thread has switched back; a thread that cannot switch back is
// never unlocked, and dies.
func InFreshNetNS(fn func() error) error {
	return onSwitchedThread(func() error {
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("new namespace: %w", err)
		}
		return nil
	}, fn)
}

// onSwitchedThread runs fn on a locked OS thread that enter has moved to
// another namespace, then moves the thread back. A thread that enter
// could not move is unlocked and serves on; one that cannot be moved back
// stays locked, so the runtime ends it with its goroutine.
func onSwitchedThread(enter, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("get current namespace: %w", err)
			return
		}
		defer orig.Close()
		if err := enter(); err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		ferr := fn()
		if err := netns.Set(orig); err != nil {
			errc <- fmt.Errorf("leave namespace: %w", err) // thread stays locked and dies
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}
