package reconcile_test

import (
	"slices"
	"testing"

	"netlab/lab"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/reconcile"
)

// byHand are the pids status lists as started by hand in node.
func byHand(t *testing.T, ps []reconcile.ProcessStatus, node string) []int {
	t.Helper()
	var out []int
	for _, p := range ps {
		if p.Node == node && p.Name == "" {
			out = append(out, p.Pid)
		}
	}
	return out
}

// TestRetitledProcessIsAdopted: a declared process that sets its own
// title (perl's $0, setproctitle) loses its marker; netlab still knows it
// by the pid and start time up kept in the started record. A second up
// starts and stops nothing; status names it, and the child it forked
// after the retitle is not started by hand; a changed declaration stops
// it and that child, and starts one anew; down names it and stops all.
func TestRetitledProcessIsAdopted(t *testing.T) {
	k := kerneltest.NewFake()
	dir := &reconcileDir{tempRunDir(t)}
	opts := reconcile.Options{RunDir: dir.d}
	fileLogs(t, &opts)
	l := procPairLab(t)
	if _, err := reconcile.Up(ctx, k, l, opts); err != nil {
		t.Fatal(err)
	}
	first := pids(t, k, l.Name, dir)
	loop := first["a/loop"]
	k.Retitle("pair.a", loop, "loop: retitled")
	worker := k.Fork("pair.a", loop, "loop: worker")

	starts, stops := k.Calls("ProcessStart"), k.Calls("ProcessesStop")
	res, err := reconcile.Up(ctx, k, l, opts)
	if err != nil {
		t.Fatalf("second up: %v", err)
	}
	if !res.Plan.Empty() || k.Calls("ProcessStart") != starts || k.Calls("ProcessesStop") != stops {
		t.Errorf("second up of a retitled process: plan %v, %d started, %d stopped; want nothing", res.Plan.Changes,
			k.Calls("ProcessStart")-starts, k.Calls("ProcessesStop")-stops)
	}
	ps, err := reconcile.Processes(ctx, k, l.Name, dir.d)
	if err != nil {
		t.Fatal(err)
	}
	if got := pids(t, k, l.Name, dir); got["a/loop"] != loop {
		t.Errorf("status: a/loop is %d, want the retitled %d", got["a/loop"], loop)
	}
	if h := byHand(t, ps, "a"); len(h) != 0 {
		t.Errorf("status lists %v in a as started by hand; the retitled process and its worker are a/loop", h)
	}
	// status's way: Observe (which adopts), then ProcessesIn.
	observed, err := reconcile.Observe(ctx, k, l.Name, nil, dir.d)
	if err != nil {
		t.Fatal(err)
	}
	in := reconcile.ProcessesIn(observed, reconcile.NameRules(observed, l.Name, dir.d, nil), dir.d)
	if i := slices.IndexFunc(in, func(p reconcile.ProcessStatus) bool { return p.Node == "a" && p.Name == "loop" }); i < 0 || in[i].Pid != loop {
		t.Errorf("Observe, then ProcessesIn: %+v, want a/loop the retitled %d", in, loop)
	}
	if h := byHand(t, in, "a"); len(h) != 0 {
		t.Errorf("Observe, then ProcessesIn lists %v in a as started by hand; the retitled process and its worker are a/loop", h)
	}

	changed := procPairLab(t, func(l *lab.Lab) { l.Node("a").Run[0].Env = map[string]string{"LANG": "C"} })
	if _, err := reconcile.Up(ctx, k, changed, opts); err != nil {
		t.Fatal(err)
	}
	now := pids(t, k, l.Name, dir)
	running := k.Running()
	if now["a/loop"] == 0 || now["a/loop"] == loop || slices.Contains(running, loop) || slices.Contains(running, worker) || len(running) != 2 {
		t.Errorf("after the env change: a/loop %d (was %d), running %v; want a new one alone, %d and its worker %d stopped",
			now["a/loop"], loop, running, loop, worker)
	}

	k.Retitle("pair.a", now["a/loop"])
	k.Fork("pair.a", now["a/loop"], "worker")
	down, err := reconcile.Down(ctx, k, l.Name, reconcile.DownOptions{RunDir: dir.d})
	if err != nil {
		t.Fatal(err)
	}
	named := false
	for _, s := range down.Stopped {
		if s.Pid == now["a/loop"] && s.Name == "loop" {
			named = true
		}
	}
	if !named || len(k.Running()) != 0 {
		t.Errorf("down stopped %+v, running %v; want a/loop named and nothing left", down.Stopped, k.Running())
	}
	if _, err := dir.d.Read(labName(t, l.Name), startedKind); err == nil {
		t.Error("down left the started record")
	}
}

// TestRetitledWithoutRecordIsByHand: the record is what makes the
// difference: without it, a retitled process is one started by hand,
// and up starts the declared one again (what netlab did before it kept
// the record).
func TestRetitledWithoutRecordIsByHand(t *testing.T) {
	k := kerneltest.NewFake()
	dir := &reconcileDir{tempRunDir(t)}
	opts := reconcile.Options{RunDir: dir.d}
	fileLogs(t, &opts)
	l := procPairLab(t)
	if _, err := reconcile.Up(ctx, k, l, opts); err != nil {
		t.Fatal(err)
	}
	loop := pids(t, k, l.Name, dir)["a/loop"]
	k.Retitle("pair.a", loop)
	if err := dir.d.Remove(labName(t, l.Name), startedKind); err != nil {
		t.Fatal(err)
	}
	planned, err := reconcile.Plan(ctx, k, l, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(planned.Plan.Changes) != 1 || planned.Plan.Changes[0].Line() == "" || planned.Observed.Nodes["a"].Procs["loop"] != nil {
		t.Errorf("without a record: plan %v; want a/loop started again", planned.Plan.Changes)
	}
}
