package reconcile_test

import (
	"slices"
	"strings"
	"testing"

	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/reconcile"
)

// A trace table left in a lab's namespace is no drift: plan removes it
// and plans nothing, up removes it; a live trace's table stays, and so
// does a table in a namespace that is not the lab's.
func TestPlanAndUpSweepTraceTables(t *testing.T) {
	f := kerneltest.NewFake()
	l := parse(t, pairLab)
	if _, err := reconcile.Up(ctx, f, l, reconcile.Options{}); err != nil {
		t.Fatal(err)
	}
	f.MustSeed(t, "ip netns add pair.c") // not marked: not the lab's
	tracer := f.Tracer()
	live, err := f.TraceStart(ctx, []string{"pair.a", "pair.b"}, kernel.TraceMatch{Proto: "udp", Port: 40001})
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	liveA := tracer.Tables("pair.a")
	tracer.Plant("pair.a", "netlab_trace_x")
	tracer.Plant("pair.c", "netlab_trace_x")

	planned, err := reconcile.Plan(ctx, f, l, reconcile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !planned.Plan.Empty() {
		t.Errorf("plan with a trace table left behind:\n%v", planned.Plan)
	}
	if got := tracer.Tables("pair.a"); !slices.Equal(got, liveA) {
		t.Errorf("pair.a after plan: %v; want only the live trace's %v", got, liveA)
	}
	if got := tracer.Tables("pair.c"); !slices.Equal(got, []string{"netlab_trace_x"}) {
		t.Errorf("plan swept pair.c, which is not the lab's: %v", got)
	}

	tracer.Plant("pair.b", "netlab_trace_1_1")
	if _, err := reconcile.Up(ctx, f, l, reconcile.Options{}); err != nil {
		t.Fatal(err)
	}
	for _, table := range tracer.Tables("pair.b") {
		if !slices.Contains(liveA, table) {
			t.Errorf("pair.b after up: %s is left", table)
		}
	}
	if !slices.ContainsFunc(tracer.Log(), func(s string) bool { return strings.HasPrefix(s, "del pair.b netlab_trace_1_1") }) {
		t.Errorf("up did not remove pair.b's leftover table: %v", tracer.Log())
	}
}

// A kernel that cannot trace is planned as before.
func TestPlanWithoutTracer(t *testing.T) {
	f := kerneltest.NewFake()
	l := parse(t, pairLab)
	k := struct{ kernelOnly }{kernelOnly{f}}
	if _, err := reconcile.Up(ctx, k, l, reconcile.Options{}); err != nil {
		t.Fatal(err)
	}
	if f.Calls("TraceSweep") != 0 {
		t.Errorf("TraceSweep called %d times on a kernel that does not trace", f.Calls("TraceSweep"))
	}
}

// kernelOnly hides every method of the fake but kernel.Kernel's.
type kernelOnly struct{ kernel.Kernel }
