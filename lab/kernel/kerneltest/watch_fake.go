package kerneltest

import (
	"context"
	"net/netip"
	"sync"

	"netlab/lab/kernel"
	"netlab/lab/state"
)

// Watched is a kernel.Kernel (the Fake, usually) that is also a
// kernel.Watcher: every write through it, and every call of Changed,
// notifies the channels Watch returned, one value per burst as the real
// watcher sends. A change made to the wrapped kernel directly (Seed, as
// a user's ip command) is seen only after Changed, where the real
// watcher hears the kernel's own notification; the lab argument of Watch
// is not looked at: every change notifies every watch.
type Watched struct {
	kernel.Kernel
	mu   sync.Mutex
	outs map[chan struct{}]bool
}

var (
	_ kernel.Kernel        = (*Watched)(nil)
	_ kernel.Watcher       = (*Watched)(nil)
	_ kernel.CounterReader = (*Watched)(nil)
)

// NewWatched wraps k.
func NewWatched(k kernel.Kernel) *Watched {
	return &Watched{Kernel: k, outs: make(map[chan struct{}]bool)}
}

// Watch returns a channel notified of every change, closed once ctx ends.
func (w *Watched) Watch(ctx context.Context, lab string) (<-chan struct{}, error) {
	ch := make(chan struct{}, 1)
	w.mu.Lock()
	w.outs[ch] = true
	w.mu.Unlock()
	context.AfterFunc(ctx, func() {
		w.mu.Lock()
		delete(w.outs, ch)
		w.mu.Unlock()
		close(ch)
	})
	return ch, nil
}

// Changed notifies every watch, as the kernel's notification of a change
// made behind netlab's back does.
func (w *Watched) Changed() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for ch := range w.outs {
		select {
		case ch <- struct{}{}:
		default: // a value is pending: the reader will see this change too
		}
	}
}

// written notifies after a write, and passes its error on.
func (w *Watched) written(err error) error {
	w.Changed()
	return err
}

func (w *Watched) NetNSAdd(ctx context.Context, lab, node string) error {
	return w.written(w.Kernel.NetNSAdd(ctx, lab, node))
}

func (w *Watched) NetNSDel(ctx context.Context, netns string) error {
	return w.written(w.Kernel.NetNSDel(ctx, netns))
}

func (w *Watched) LinkAdd(ctx context.Context, netns string, l *state.Link, peerNS string, peer *state.Link) error {
	return w.written(w.Kernel.LinkAdd(ctx, netns, l, peerNS, peer))
}

func (w *Watched) LinkDel(ctx context.Context, netns, name string) error {
	return w.written(w.Kernel.LinkDel(ctx, netns, name))
}

func (w *Watched) LinkSet(ctx context.Context, netns string, l *state.Link, attrs []state.LinkAttr) error {
	return w.written(w.Kernel.LinkSet(ctx, netns, l, attrs))
}

func (w *Watched) AddrAdd(ctx context.Context, netns, link string, p netip.Prefix) error {
	return w.written(w.Kernel.AddrAdd(ctx, netns, link, p))
}

func (w *Watched) AddrDel(ctx context.Context, netns, link string, p netip.Prefix) error {
	return w.written(w.Kernel.AddrDel(ctx, netns, link, p))
}

func (w *Watched) RouteReplace(ctx context.Context, netns string, r state.Route) error {
	return w.written(w.Kernel.RouteReplace(ctx, netns, r))
}

func (w *Watched) RouteDel(ctx context.Context, netns string, r state.Route) error {
	return w.written(w.Kernel.RouteDel(ctx, netns, r))
}

func (w *Watched) SysctlSet(ctx context.Context, netns, key, value string) error {
	return w.written(w.Kernel.SysctlSet(ctx, netns, key, value))
}

func (w *Watched) NFTableSet(ctx context.Context, netns string, t *state.NFTable) error {
	return w.written(w.Kernel.NFTableSet(ctx, netns, t))
}

// LinkCounters is the wrapped kernel's, which must be a
// kernel.CounterReader (the Fake is).
func (w *Watched) LinkCounters(ctx context.Context, netns []string) (map[string][]kernel.LinkCounters, error) {
	return w.Kernel.(kernel.CounterReader).LinkCounters(ctx, netns)
}

// RuleCounters is the wrapped kernel's, as LinkCounters.
func (w *Watched) RuleCounters(ctx context.Context, netns []string) (map[string][]kernel.RuleCounter, error) {
	return w.Kernel.(kernel.CounterReader).RuleCounters(ctx, netns)
}
