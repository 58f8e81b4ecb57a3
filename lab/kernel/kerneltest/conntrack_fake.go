package kerneltest

// The connection-tracking tables of the fake's namespaces: what a test
// puts there (PutConntrack) stands for the connections traffic would
// have made; Conntrack lists them and ConntrackFlush empties the table,
// as kernel.Linux does through ctnetlink.

import (
	"context"
	"fmt"
	"slices"

	"golang.org/x/sys/unix"

	"netlab/lab/kernel"
	"netlab/lab/state"
)

// PutConntrack adds entries to the conntrack table of the namespace
// netns, as the connections of traffic would. The table goes with its
// namespace. It panics when there is no such namespace, or for the
// machine's, whose table netlab never reads.
func (f *Fake) PutConntrack(netns string, entries ...kernel.ConntrackEntry) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ns := f.netns[netns]
	if ns == nil || netns == state.HostNetNS {
		panic("kerneltest: PutConntrack: no lab namespace " + netns)
	}
	ns.conntrack = append(ns.conntrack, entries...)
}

// Conntrack lists the namespace's entries in the order they were put.
// Like kernel.Linux it refuses the machine's namespace with EPERM, and a
// namespace that is not there with ENOENT.
func (f *Fake) Conntrack(ctx context.Context, netns string) ([]kernel.ConntrackEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.beginLocked(ctx, "Conntrack"); err != nil {
		return nil, err
	}
	ns, err := f.conntrackNetNSLocked(netns, "Conntrack")
	if err != nil {
		return nil, err
	}
	return slices.Clone(ns.conntrack), nil
}

// ConntrackFlush empties the namespace's table, with the refusals of
// Conntrack.
func (f *Fake) ConntrackFlush(ctx context.Context, netns string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.beginLocked(ctx, "ConntrackFlush"); err != nil {
		return err
	}
	ns, err := f.conntrackNetNSLocked(netns, "ConntrackFlush")
	if err != nil {
		return err
	}
	ns.conntrack = nil
	return nil
}

func (f *Fake) conntrackNetNSLocked(netns, method string) (*fakeNetNS, error) {
	if netns == state.HostNetNS {
		return nil, fmt.Errorf("%s in the machine's own namespace: netlab reads and flushes only the conntrack tables of a lab's namespaces: %w", method, unix.EPERM)
	}
	return f.netnsLocked(netns)
}
