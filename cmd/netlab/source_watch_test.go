package main

import (
	"context"
	"net/netip"
	"slices"
	"testing"
	"time"

	"netlab/lab/kernel/kerneltest"
	"netlab/lab/reconcile"
	"netlab/lab/rundir"
)

// TestKernelSourceFake drives the TUI's data source over the fake kernel,
// wrapped in kerneltest.Watched: the snapshot shows the running lab with
// no drift; a namespace deleted, or a change made behind netlab's back,
// reaches the events channel, and the next snapshot shows it, with the
// drift the plan then finds; the channel closes when the UI ends.
func TestKernelSourceFake(t *testing.T) {
	old := runDir
	runDir = rundir.At(t.TempDir())
	t.Cleanup(func() { runDir = old })

	l, _, diags := parseLab("t.yaml", []byte("name: t\nnodes:\n  a:\n    interfaces:\n      eth0: {addresses: [10.0.0.1/24]}\n  b:\n    interfaces:\n      eth0: {addresses: [10.0.0.2/24]}\nlinks:\n  - [a:eth0, b:eth0]\n"))
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	f := kerneltest.NewFake()
	w := kerneltest.NewWatched(f)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := reconcile.Up(ctx, w, l, reconcile.Options{}); err != nil {
		t.Fatal(err)
	}

	src := newKernelSource(w, l.Name, l, "")
	events := src.Events(ctx)
	if events == nil {
		t.Fatal("Events is nil: the source does not watch")
	}
	st, err := src.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Nodes["a"] == nil || st.Nodes["b"] == nil || st.Nodes["a"].Links["eth0"] == nil {
		t.Fatalf("snapshot %v, want nodes a and b with a's eth0", st.NodeNames())
	}
	if p, err := src.Plan(ctx); err != nil || p == nil || !p.Empty() {
		t.Fatalf("plan of the running lab: %v %v, want no change", p, err)
	}

	waitEvent := func(what string) {
		t.Helper()
		select {
		case _, ok := <-events:
			if !ok {
				t.Fatalf("%s: events closed", what)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: no event", what)
		}
	}
	// Drain what up itself sent, then change the lab.
	for len(events) > 0 {
		<-events
	}
	if err := w.NetNSDel(ctx, "t.b"); err != nil {
		t.Fatal(err)
	}
	waitEvent("namespace deleted")
	st, err = src.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Nodes["b"] != nil {
		t.Errorf("snapshot after b's namespace was deleted still has b")
	}
	if p, err := src.Plan(ctx); err != nil || p == nil || p.Empty() {
		t.Errorf("plan after b was deleted: %v %v, want the drift", p, err)
	}

	// A change to the kernel that does not go through netlab.
	extra := netip.MustParsePrefix("10.9.9.9/32")
	if err := f.AddrAdd(ctx, "t.a", "lo", extra); err != nil {
		t.Fatal(err)
	}
	w.Changed()
	waitEvent("address added by hand")
	st, err = src.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(st.Nodes["a"].Links["lo"].Addrs, extra) {
		t.Errorf("snapshot after an address was added by hand: lo has %v", st.Nodes["a"].Links["lo"].Addrs)
	}

	cancel()
	select {
	case _, ok := <-events:
		for ok {
			_, ok = <-events
		}
	case <-time.After(5 * time.Second):
		t.Fatal("events not closed after the UI ended")
	}
}
