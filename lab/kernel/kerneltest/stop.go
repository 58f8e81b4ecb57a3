package kerneltest

// Stopping inside an operation. kernel.Linux does most writes in several
// messages (a link is created under a temporary name, marked, renamed,
// given its master and set up; a namespace is a stub file before it is a
// namespace), and it honours a cancelled ctx between them. The fake's
// writes send the same messages (sendLocked), so that a test can stop an
// up inside any of them, by ctx or with StopAt, and see what a netlab
// interrupted there leaves.

import (
	"context"
	"errors"
	"fmt"

	"netlab/lab/state"
)

// ErrStopped is the error of the call StopAt stops, and of every call after
// it until Restart: the netlab that made them is gone.
var ErrStopped = errors.New("kerneltest: stopped, as a netlab killed there")

// StopAt makes the n-th call (1-based, counted from now) of the method, or
// of any write with AnyWrite, stop after its step-th kernel message, as a
// netlab killed (SIGKILL) there would: what the messages so far made
// stays, the call fails with ErrStopped, and so does every call after it,
// reads too, until Restart. A call of fewer messages than step is made
// whole and stops nothing; Stopped tells which happened.
func (f *Fake) StopAt(method string, n, step int) {
	if method != AnyWrite && !writeMethods[method] {
		panic("kerneltest: StopAt: not a write method: " + method)
	}
	if n < 1 || step < 1 {
		panic("kerneltest: StopAt: n and step must be 1 or more")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	at := f.calls[method] + n
	if method == AnyWrite {
		at = f.writes + n
	}
	f.stops = append(f.stops, fault{method: method, at: at, step: step})
}

// Stopped reports whether a StopAt has stopped the fake.
func (f *Fake) Stopped() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stopped
}

// Restart lets calls through again after a stop, as a new netlab on the
// same kernel; the stops not yet reached are dropped.
func (f *Fake) Restart() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopped, f.stops = false, nil
}

// sendLocked sends one kernel message of the call under way: it fails with
// ctx's error, sending nothing, once ctx is cancelled, else makes the
// message's change (msg, whose error is the call's), and stops the fake
// after it if StopAt asked for a stop there.
func (f *Fake) sendLocked(ctx context.Context, msg func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := msg(); err != nil {
		return err
	}
	f.sent++
	if f.sent == f.stopAfter {
		f.stopped = true
		return fmt.Errorf("after message %d: %w", f.sent, ErrStopped)
	}
	return nil
}

// made is the context of the messages that follow a link's creation in
// netns, as kernel.Linux has it: in the machine's own namespace a link
// once created is finished whatever ctx says, for up and down see only
// marked links there.
func made(ctx context.Context, netns string) context.Context {
	if netns == state.HostNetNS {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

// tempNameLocked is a new temporary link name, as kernel.Linux gives a
// link until it is marked.
func (f *Fake) tempNameLocked() string {
	f.temps++
	return fmt.Sprintf("%s%010x", state.TempLinkPrefix, f.temps)
}
