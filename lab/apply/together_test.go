package apply_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"netlab/lab/apply"
	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/plan"
	"netlab/lab/reconcile"
	"netlab/lab/state"
)

// concurrentFake is the fake kernel as a Concurrent one: each NetNSAdd
// waits (up to 200 ms) until another is under way too, so that a test
// sees whether namespaces are made side by side.
type concurrentFake struct {
	*kerneltest.Fake
	workers int

	mu      sync.Mutex
	running int
	peak    int
	arrived chan struct{}
}

func (k *concurrentFake) ApplyWorkers() int { return k.workers }

func (k *concurrentFake) NetNSAdd(ctx context.Context, lab, node string) error {
	k.mu.Lock()
	k.running++
	k.peak = max(k.peak, k.running)
	k.mu.Unlock()
	select {
	case k.arrived <- struct{}{}: // another one is waiting: both go
	case <-k.arrived:
	case <-time.After(200 * time.Millisecond):
	}
	err := k.Fake.NetNSAdd(ctx, lab, node)
	k.mu.Lock()
	k.running--
	k.mu.Unlock()
	return err
}

var _ kernel.Concurrent = (*concurrentFake)(nil)

// oneTo is 1, 2, ..., n: each change's number once, in plan order.
func oneTo(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i + 1
	}
	return out
}

// TestApplyMakesNamespacesTogether: on a Concurrent kernel the plan's
// namespaces are made several at once, progress and AfterChange still
// come in plan order, once each, and the lab ends as one by one would
// make it: a second plan is empty.
func TestApplyMakesNamespacesTogether(t *testing.T) {
	l := mustLab(t, "tog", starLab("tog", 8, 0))
	k := &concurrentFake{Fake: kerneltest.NewFake(), workers: 3, arrived: make(chan struct{})}
	planned, err := reconcile.Plan(context.Background(), k, l, reconcile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var progress, after []int
	res, err := apply.Apply(context.Background(), k, planned.Plan, apply.Options{
		Progress:    func(i, total int, c *plan.Change) { progress = append(progress, i) },
		AfterChange: func(i int) { after = append(after, i) },
	})
	if err != nil {
		t.Fatal(err)
	}
	n := len(planned.Plan.Changes)
	if res.Applied != n {
		t.Errorf("Applied = %d, want %d", res.Applied, n)
	}
	want := oneTo(n)
	if !slices.Equal(progress, want) || !slices.Equal(after, want) {
		t.Errorf("progress %v, after-change %v; want each of 1..%d once, in order", progress, after, n)
	}
	if k.peak < 2 || k.peak > 3 {
		t.Errorf("at most %d namespaces were made at once, want 2 or 3 (3 workers)", k.peak)
	}
	if p := planFake(t, k, l, reconcile.Options{}); !p.Empty() {
		t.Errorf("the plan after apply is not empty: %s", p.Summary())
	}
}

// TestApplyTogetherStopsAtAFailure: a namespace the kernel refuses stops
// the run: no change after the run starts, the error names a namespace
// change, and the next up finishes the lab.
func TestApplyTogetherStopsAtAFailure(t *testing.T) {
	l := mustLab(t, "tog", starLab("tog", 8, 0))
	k := &concurrentFake{Fake: kerneltest.NewFake(), workers: 3, arrived: make(chan struct{})}
	refused := errors.New("refused")
	k.FailOn("NetNSAdd", refused, 4)
	planned, err := reconcile.Plan(context.Background(), k, l, reconcile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := apply.Apply(context.Background(), k, planned.Plan, apply.Options{})
	var ce *apply.ChangeError
	if !errors.As(err, &ce) || !errors.Is(err, refused) || ce.Change.Object != plan.NetNS {
		t.Fatalf("Apply = %v, want the refused namespace's ChangeError", err)
	}
	if k.Calls("LinkAdd") != 0 {
		t.Errorf("%d links made after a namespace failed", k.Calls("LinkAdd"))
	}
	if res.Applied >= len(planned.Plan.Changes) {
		t.Errorf("Applied = %d of %d after a failure", res.Applied, len(planned.Plan.Changes))
	}
	upFake(t, k, l, plan.Options{})
	if p := planFake(t, k, l, reconcile.Options{}); !p.Empty() {
		t.Errorf("the plan after a second up is not empty: %s", p.Summary())
	}
}

// aheadFake is a Concurrent fake whose first LinkAdd waits (up to 2 s)
// until a hosts file is being written: it sees whether the hosts files
// are written while the links are made, not after them.
type aheadFake struct {
	*concurrentFake
	once, linkOnce sync.Once
	hostsStarted   chan struct{}
	overlapped     bool
}

func newAheadFake() *aheadFake {
	return &aheadFake{
		concurrentFake: &concurrentFake{Fake: kerneltest.NewFake(), workers: 3, arrived: make(chan struct{})},
		hostsStarted:   make(chan struct{}),
	}
}

func (k *aheadFake) HostsSet(ctx context.Context, netns, content string) error {
	k.once.Do(func() { close(k.hostsStarted) })
	return k.Fake.HostsSet(ctx, netns, content)
}

func (k *aheadFake) LinkAdd(ctx context.Context, netns string, l *state.Link, peerNS string, peer *state.Link) error {
	k.linkOnce.Do(func() {
		select {
		case <-k.hostsStarted:
			k.overlapped = true
		case <-time.After(2 * time.Second):
		}
	})
	return k.Fake.LinkAdd(ctx, netns, l, peerNS, peer)
}

// TestApplyWritesHostsWhileMakingLinks: on a Concurrent kernel the
// hosts files are written while the links are made, and yet progress and
// AfterChange come once each, in plan order, and the lab ends whole.
func TestApplyWritesHostsWhileMakingLinks(t *testing.T) {
	l := mustLab(t, "tog", starLab("tog", 8, 0))
	k := newAheadFake()
	planned, err := reconcile.Plan(context.Background(), k, l, reconcile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hosts := 0
	for _, c := range planned.Plan.Changes {
		if c.Object == plan.Hosts {
			hosts++
		}
	}
	if hosts < 2 {
		t.Fatalf("the plan writes %d hosts files, want one a node", hosts)
	}
	var progress, after []int
	res, err := apply.Apply(context.Background(), k, planned.Plan, apply.Options{
		Progress:    func(i, total int, c *plan.Change) { progress = append(progress, i) },
		AfterChange: func(i int) { after = append(after, i) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if !k.overlapped {
		t.Error("no hosts file was being written while the first link was made")
	}
	n := len(planned.Plan.Changes)
	want := oneTo(n)
	if res.Applied != n || !slices.Equal(progress, want) || !slices.Equal(after, want) {
		t.Errorf("Applied %d, progress %v, after-change %v; want %d and each of 1..%d once, in order", res.Applied, progress, after, n, n)
	}
	if p := planFake(t, k, l, reconcile.Options{}); !p.Empty() {
		t.Errorf("the plan after apply is not empty: %s", p.Summary())
	}
}

// TestApplyHostsAheadFailure: a hosts file the kernel refuses is the
// error of its own change, reported at its place in the plan: every
// change before it reported done, none after it; a link that fails
// first is the error instead, and no file is written once Apply has
// returned.
func TestApplyHostsAheadFailure(t *testing.T) {
	refused := errors.New("refused")
	t.Run("hosts", func(t *testing.T) {
		l := mustLab(t, "tog", starLab("tog", 8, 0))
		k := newAheadFake()
		k.FailOn("HostsSet", refused, 3)
		planned, err := reconcile.Plan(context.Background(), k, l, reconcile.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var progress, after []int
		_, err = apply.Apply(context.Background(), k, planned.Plan, apply.Options{
			Progress:    func(i, total int, c *plan.Change) { progress = append(progress, i) },
			AfterChange: func(i int) { after = append(after, i) },
		})
		var ce *apply.ChangeError
		if !errors.As(err, &ce) || !errors.Is(err, refused) || ce.Change.Object != plan.Hosts {
			t.Fatalf("Apply = %v, want the refused hosts file's ChangeError", err)
		}
		at := slices.Index(planned.Plan.Changes, ce.Change) + 1
		if len(progress) != at || progress[at-1] != at || len(after) != at-1 || (at > 1 && after[at-2] != at-1) {
			t.Errorf("failed change %d: progress %v, after-change %v; want progress up to it, after-change up to the one before", at, progress, after)
		}
		upFake(t, k, l, plan.Options{})
		if p := planFake(t, k, l, reconcile.Options{}); !p.Empty() {
			t.Errorf("the plan after a second up is not empty: %s", p.Summary())
		}
	})
	t.Run("link first", func(t *testing.T) {
		l := mustLab(t, "tog", starLab("tog", 8, 0))
		k := newAheadFake()
		k.FailOn("LinkAdd", refused, 2)
		planned, err := reconcile.Plan(context.Background(), k, l, reconcile.Options{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = apply.Apply(context.Background(), k, planned.Plan, apply.Options{})
		var ce *apply.ChangeError
		if !errors.As(err, &ce) || !errors.Is(err, refused) || ce.Change.Object != plan.Link {
			t.Fatalf("Apply = %v, want the refused link's ChangeError", err)
		}
		written := k.Calls("HostsSet")
		time.Sleep(50 * time.Millisecond)
		if k.Calls("HostsSet") != written {
			t.Errorf("hosts files written after Apply returned: %d, then %d", written, k.Calls("HostsSet"))
		}
		upFake(t, k, l, plan.Options{})
		if p := planFake(t, k, l, reconcile.Options{}); !p.Empty() {
			t.Errorf("the plan after a second up is not empty: %s", p.Summary())
		}
	})
}
