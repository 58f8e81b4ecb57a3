package reconcile_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"netlab/lab"
	"netlab/lab/apply"
	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/name"
	"netlab/lab/reconcile"
	"netlab/lab/rundir"
	"netlab/lab/state"
)

// procPairLab is pairLab whose node b runs a web server (ready on tcp
// port 80) and node a a shell loop (no ready port).
func procPairLab(t *testing.T, edits ...func(l *lab.Lab)) *lab.Lab {
	t.Helper()
	l := parse(t, pairLab)
	l.Node("b").Run = []*lab.Process{{Node: "b", Name: "http", Command: []string{"python3", "-m", "http.server", "80"},
		Ready: &lab.Ready{Proto: "tcp", Port: 80}}}
	l.Node("a").Run = []*lab.Process{{Node: "a", Name: "loop", Shell: true, Command: []string{"while sleep 1; do date; done"}}}
	for _, e := range edits {
		e(l)
	}
	return l
}

// fileLogs are process logs in a directory of the test's own, so that no
// test depends on the run directory's logs.
func fileLogs(t *testing.T, opts *reconcile.Options) string {
	dir := t.TempDir()
	path := func(node, proc string) string { return filepath.Join(dir, node+"."+proc+".log") }
	opts.OpenLog = func(node, proc string) (*os.File, error) {
		return os.OpenFile(path(node, proc), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	}
	opts.ReadLog = func(node, proc string) (io.ReadCloser, error) { return os.Open(path(node, proc)) }
	return dir
}

// pids are the pids of the lab's declared processes, NODE/NAME to pid.
func pids(t *testing.T, k kernel.Kernel, name string, dir *reconcileDir) map[string]int {
	t.Helper()
	ps, err := reconcile.Processes(ctx, k, name, dir.d)
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]int)
	for _, p := range ps {
		if p.Name != "" && p.State == reconcile.StateRunning {
			out[p.Node+"/"+p.Name] = p.Pid
		}
	}
	return out
}

// reconcileDir is a test's run directory.
type reconcileDir struct{ d *rundir.Dir }

// TestUpRunsProcesses: up starts the declared processes last, waits for
// the ready one, and a second up of the unchanged lab starts and stops
// nothing; a change of ready alone restarts nothing; a changed
// declaration restarts that process alone, with a new pid; one killed by
// hand is planned as drift and started again.
func TestUpRunsProcesses(t *testing.T) {
	k := kerneltest.NewFake()
	dir := &reconcileDir{tempRunDir(t)}
	opts := reconcile.Options{RunDir: dir.d}
	fileLogs(t, &opts)
	l := procPairLab(t)
	res, err := reconcile.Up(ctx, k, l, opts)
	if err != nil {
		t.Fatal(err)
	}
	last := res.Plan.Changes[len(res.Plan.Changes)-1]
	if last.Object != "process" {
		t.Errorf("the last change is %s, want a process started", last.Line())
	}
	first := pids(t, k, l.Name, dir)
	if len(first) != 2 || k.Calls("ProcessStart") != 2 || len(k.Running()) != 2 {
		t.Fatalf("after up: processes %v, %d started, running %v", first, k.Calls("ProcessStart"), k.Running())
	}
	if k.Calls("Listening") == 0 {
		t.Error("up did not wait for b/http's ready port")
	}

	again := func(what string, l *lab.Lab) *reconcile.Result {
		t.Helper()
		starts, stops := k.Calls("ProcessStart"), k.Calls("ProcessesStop")
		res, err := reconcile.Up(ctx, k, l, opts)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if k.Calls("ProcessStart") != starts || k.Calls("ProcessesStop") != stops {
			t.Errorf("%s: %d started, %d stopped; want none", what, k.Calls("ProcessStart")-starts, k.Calls("ProcessesStop")-stops)
		}
		if got := pids(t, k, l.Name, dir); !mapsEqual(got, first) {
			t.Errorf("%s: pids %v, want %v kept", what, got, first)
		}
		return res
	}
	listening := k.Calls("Listening")
	if res := again("second up", l); !res.Plan.Empty() {
		t.Errorf("second up planned %d changes", len(res.Plan.Changes))
	}
	if k.Calls("Listening") == listening {
		t.Error("the second up did not check the ready port")
	}
	again("ready changed", procPairLab(t, func(l *lab.Lab) { l.Node("b").Run[0].Ready.Timeout = time.Second }))

	// A changed declaration: that process restarts, the other keeps its pid.
	changed := procPairLab(t, func(l *lab.Lab) { l.Node("b").Run[0].Env = map[string]string{"LANG": "C"} })
	res, err = reconcile.Up(ctx, k, changed, opts)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, c := range res.Plan.Changes {
		if !c.Replacing() {
			lines = append(lines, c.Line())
		}
	}
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "-/+ process b/http (python3 -m http.server 80) [env changed]") {
		t.Errorf("plan of the changed env: %q", lines)
	}
	now := pids(t, k, l.Name, dir)
	if now["b/http"] == first["b/http"] || now["a/loop"] != first["a/loop"] || len(k.Running()) != 2 {
		t.Errorf("after the change: pids %v (before %v), running %v", now, first, k.Running())
	}

	// Killed by hand: drift, and up starts it again.
	k.KillProcess("pair.a", now["a/loop"])
	planned, err := reconcile.Plan(ctx, k, changed, opts)
	if err != nil {
		t.Fatal(err)
	}
	if cs := planned.Plan.Changes; len(cs) != 1 || !cs[0].Drift || cs[0].Reason != "not running (exited or killed since the last up)" {
		t.Fatalf("plan after a kill by hand: %v", cs)
	}
	if _, err := reconcile.Up(ctx, k, changed, opts); err != nil {
		t.Fatal(err)
	}
	if after := pids(t, k, l.Name, dir); after["a/loop"] == 0 || after["a/loop"] == now["a/loop"] || len(k.Running()) != 2 {
		t.Errorf("after up: pids %v, running %v", after, k.Running())
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestUpEarlyExit: a process that ends while up waits fails up at once
// with its status and the last 10 lines of its log; the end is kept, so
// that plan and status say it.
func TestUpEarlyExit(t *testing.T) {
	k := kerneltest.NewFake()
	var out strings.Builder
	for i := 1; i <= 12; i++ {
		fmt.Fprintf(&out, "line %d\n", i)
	}
	k.ProcessBehaviour(func(p *state.Process) kerneltest.FakeRun {
		if p.Name == "loop" {
			return kerneltest.FakeRun{ExitAtStart: true, ExitStatus: 1, Output: out.String()}
		}
		return kerneltest.FakeRun{}
	})
	dir := &reconcileDir{tempRunDir(t)}
	opts := reconcile.Options{RunDir: dir.d}
	fileLogs(t, &opts)
	l := procPairLab(t)
	_, err := reconcile.Up(ctx, k, l, opts)
	var pe *apply.ProcessError
	if !errors.As(err, &pe) || !pe.Exited || pe.Status != 1 || !strings.Contains(err.Error(), "node a: process loop exited with status 1") {
		t.Fatalf("up: %v, want node a's process loop exited with status 1", err)
	}
	if d := pe.Details(); len(d) != 10 || d[0] != "a/loop | line 3" || d[9] != "a/loop | line 12" {
		t.Errorf("the error does not show the last 10 lines of the log:\n%s", strings.Join(d, "\n"))
	}
	exits := apply.LoadExits(*dir.d, l.Name)
	if len(exits) != 1 || exits[0].Node != "a" || exits[0].Name != "loop" || exits[0].Status != 1 {
		t.Fatalf("exits record: %+v", exits)
	}
	planned, err := reconcile.Plan(ctx, k, l, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := "exited with status 1 at " + exits[0].Time.Format("15:04:05")
	if cs := planned.Plan.Changes; len(cs) != 1 || cs[0].Reason != want || !strings.Contains(cs[0].Line(), "["+want+"]") {
		t.Errorf("plan after the exit: %v, want the process with %q", cs, want)
	}
	ps, err := reconcile.Processes(ctx, k, l.Name, dir.d)
	if err != nil {
		t.Fatal(err)
	}
	// Up failed on a process, not on the network: the record is kept, so
	// status shows the process that ended, with its status.
	if len(ps) != 2 || ps[0].Name != "loop" || ps[0].State != "exited 1" || ps[1].Name != "http" || ps[1].State != "running" {
		t.Errorf("status: %+v", ps)
	}

	// Fixed: up starts it again and forgets the end.
	k.ProcessBehaviour(nil)
	if _, err := reconcile.Up(ctx, k, l, opts); err != nil {
		t.Fatal(err)
	}
	if exits := apply.LoadExits(*dir.d, l.Name); len(exits) != 0 {
		t.Errorf("exits after a good up: %+v", exits)
	}
	// It dies once the lab is up: status says exited, without a status.
	k.EndProcess("pair.a", pids(t, k, l.Name, dir)["a/loop"], 3)
	ps, err = reconcile.Processes(ctx, k, l.Name, dir.d)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[0].Name != "loop" || ps[0].State != "exited" || ps[0].Exit != nil || ps[1].State != "running" || ps[1].Pid == 0 {
		t.Errorf("status: %+v", ps)
	}
}

// TestUpNotReady: a process that does not listen on its ready port in
// time fails up, with the port and the timeout.
func TestUpNotReady(t *testing.T) {
	k := kerneltest.NewFake()
	k.ProcessBehaviour(func(p *state.Process) kerneltest.FakeRun {
		return kerneltest.FakeRun{NeverReady: true, Output: "binding...\n"}
	})
	opts := reconcile.Options{}
	fileLogs(t, &opts)
	l := procPairLab(t, func(l *lab.Lab) { l.Node("b").Run[0].Ready.Timeout = 120 * time.Millisecond })
	start := time.Now()
	_, err := reconcile.Up(ctx, k, l, opts)
	var pe *apply.ProcessError
	if !errors.As(err, &pe) || pe.Exited || !strings.Contains(err.Error(), "node b: process http is not listening on tcp port 80 after 120ms") ||
		!slices.Contains(pe.Details(), "b/http | binding...") {
		t.Fatalf("up: %v", err)
	}
	if d := time.Since(start); d < 120*time.Millisecond || d > 2*time.Second {
		t.Errorf("up waited %s for a 120ms timeout", d)
	}
}

// TestDownStopsProcesses: down stops the declared processes, their
// children and those started by hand, says which, and leaves no process
// and no namespace held by one; the hosts files go too.
func TestDownStopsProcesses(t *testing.T) {
	k := kerneltest.NewFake()
	opts := reconcile.Options{}
	l := procPairLab(t)
	if _, err := reconcile.Up(ctx, k, l, opts); err != nil {
		t.Fatal(err)
	}
	hand := k.StartByHand("pair.a", "nc", "-l", "9")
	if _, ok := k.Hosts("pair.a"); !ok {
		t.Fatal("up wrote no hosts file for a")
	}
	res, err := reconcile.Down(ctx, k, l.Name, reconcile.DownOptions{Grace: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range res.Stopped {
		got = append(got, fmt.Sprintf("%s/%s %s", p.Node, p.Name, strings.Join(p.Command, " ")))
		if p.Name == "" && p.Pid != hand {
			t.Errorf("a process by hand with pid %d, want %d", p.Pid, hand)
		}
	}
	slices.Sort(got)
	want := []string{"a/ nc -l 9", "a/loop /bin/sh -c while sleep 1; do date; done", "b/http python3 -m http.server 80"}
	if !slices.Equal(got, want) {
		t.Errorf("stopped %q, want %q", got, want)
	}
	if len(k.Running()) != 0 || len(k.Lingering()) != 0 || len(res.Deleted) != 2 {
		t.Errorf("after down: running %v, lingering %v, deleted %v", k.Running(), k.Lingering(), res.Deleted)
	}
	for _, ns := range []string{"pair.a", "pair.b"} {
		if _, ok := k.Hosts(ns); ok {
			t.Errorf("down left the hosts file of %s", ns)
		}
	}
}

// TestRemovedNodeStopsItsProcesses: a node dropped from the file has its
// processes, and one started there by hand, stopped before its namespace
// is deleted: none lingers.
func TestRemovedNodeStopsItsProcesses(t *testing.T) {
	k := kerneltest.NewFake()
	text := strings.Replace(pairLab, "  b:\n", "  c: {}\n  b:\n", 1)
	l := parse(t, text)
	l.Node("c").Run = []*lab.Process{{Node: "c", Name: "s", Command: []string{"sleep", "infinity"}}}
	if _, err := reconcile.Up(ctx, k, l, reconcile.Options{}); err != nil {
		t.Fatal(err)
	}
	hand := k.StartByHand("pair.c", "sleep", "9")
	res, err := reconcile.Up(ctx, k, parse(t, pairLab), reconcile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, c := range res.Plan.Changes {
		if c.Node == "c" {
			lines = append(lines, c.Action.Symbol()+" "+c.Describe())
		}
	}
	want := []string{fmt.Sprintf("- process c pid %d (sleep 9)", hand), "- process c/s (sleep infinity)", "- hosts c", "- netns pair.c"}
	if !slices.Equal(lines, want) {
		t.Errorf("plan of c: %q, want %q", lines, want)
	}
	if len(k.Running()) != 0 || len(k.Lingering()) != 0 {
		t.Errorf("running %v, lingering %v: want none", k.Running(), k.Lingering())
	}
}

// TestUpWithProcessesKilledAtEveryStep: netlab killed at any message of
// an up with processes, then up and down both converge: the processes
// left are exactly the declared ones, and after down none is, no
// namespace and no hosts file.
func TestUpWithProcessesKilledAtEveryStep(t *testing.T) {
	// Both ready on a port, which the fake's processes listen on at
	// once: no up waits the watch of a process without one.
	l := procPairLab(t, func(l *lab.Lab) { l.Node("a").Run[0].Ready = &lab.Ready{Proto: "udp", Port: 53} })
	for n := 1; ; n++ {
		k := kerneltest.NewFake()
		k.StopAt(kerneltest.AnyWrite, n, 1)
		_, err := reconcile.Up(ctx, k, l, reconcile.Options{})
		if !k.Stopped() {
			if err != nil {
				t.Fatalf("up with no stop: %v", err)
			}
			if n < 10 {
				t.Fatalf("the up made only %d writes", n-1)
			}
			break
		}
		if !errors.Is(err, kerneltest.ErrStopped) {
			t.Fatalf("write %d: up returned %v, want ErrStopped", n, err)
		}
		k.Restart()
		if _, err := reconcile.Up(ctx, k, l, reconcile.Options{}); err != nil {
			t.Fatalf("write %d: up after the kill: %v\n%s", n, err, k)
		}
		if got := len(k.Running()); got != 2 {
			t.Errorf("write %d: %d processes running after up, want the 2 declared:\n%s", n, got, k)
		}
		downKilledAtEveryStep(t, k, l, n)
	}
}

// downKilledAtEveryStep kills down at each of its writes, then checks
// that the next down finishes.
func downKilledAtEveryStep(t *testing.T, k *kerneltest.Fake, l *lab.Lab, upStep int) {
	t.Helper()
	for m := 1; ; m++ {
		k.StopAt(kerneltest.AnyWrite, m, 1)
		_, err := reconcile.Down(ctx, k, l.Name, reconcile.DownOptions{})
		stopped := k.Stopped()
		k.Restart()
		if stopped && !errors.Is(err, kerneltest.ErrStopped) {
			t.Fatalf("up step %d, down step %d: down returned %v", upStep, m, err)
		}
		if !stopped && err != nil {
			t.Fatalf("down: %v", err)
		}
		if stopped {
			if _, err := reconcile.Down(ctx, k, l.Name, reconcile.DownOptions{}); err != nil {
				t.Fatalf("up step %d, down step %d: down after the kill: %v", upStep, m, err)
			}
		}
		if len(k.Running()) != 0 || len(k.Lingering()) != 0 {
			t.Fatalf("up step %d, down step %d: running %v, lingering %v", upStep, m, k.Running(), k.Lingering())
		}
		if files, _ := k.HostsFiles(ctx, l.Name); len(files) != 0 {
			t.Fatalf("up step %d, down step %d: hosts files left: %v", upStep, m, files)
		}
		if !stopped {
			return
		}
		// Up again, for the next step of down.
		if _, err := reconcile.Up(ctx, k, l, reconcile.Options{}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRemovedNodeLeavesForeignHosts: a node dropped from the file whose
// hosts file someone else wrote is removed all the same, and the file is
// left as it is.
func TestRemovedNodeLeavesForeignHosts(t *testing.T) {
	k := kerneltest.NewFake()
	text := strings.Replace(pairLab, "  b:\n", "  c: {}\n  b:\n", 1)
	if _, err := reconcile.Up(ctx, k, parse(t, text), reconcile.Options{}); err != nil {
		t.Fatal(err)
	}
	k.PlantHosts("pair.c", "10.0.0.9 mine\n")
	res, err := reconcile.Up(ctx, k, parse(t, pairLab), reconcile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := k.Hosts("pair.c"); !ok || got != "10.0.0.9 mine\n" {
		t.Errorf("the foreign hosts file is %q, %v; want it left", got, ok)
	}
	for _, c := range res.Plan.Changes {
		if c.Node == "c" && c.Object == "hosts" {
			t.Errorf("the plan touches the foreign hosts file: %s", c.Line())
		}
	}
	if list, _ := k.NetNSList(ctx, "pair"); len(list) != 2 {
		t.Errorf("namespaces left: %v", list)
	}
}

// TestForeignHostsBeforeFirstUp: a hosts file someone put in
// /etc/netns/LAB.NODE before the lab ever ran is a conflict found before
// anything is made, not a failure half-way through up; one netlab left
// behind (an interrupted down) is taken over.
func TestForeignHostsBeforeFirstUp(t *testing.T) {
	k := kerneltest.NewFake()
	k.PlantHosts("pair.b", "10.0.0.9 mine\n")
	writes := k.Writes()
	_, err := reconcile.Up(ctx, k, parse(t, pairLab), reconcile.Options{})
	var conflicts *apply.ConflictError
	if !errors.As(err, &conflicts) || len(conflicts.Conflicts) != 1 || conflicts.Conflicts[0].Node != "b" {
		t.Fatalf("up: %v, want one conflict, the hosts file of node b", err)
	}
	if k.Writes() != writes {
		t.Errorf("up made %d writes before refusing", k.Writes()-writes)
	}
	if list, _ := k.NetNSList(ctx, "pair"); len(list) != 0 {
		t.Errorf("namespaces made: %v", list)
	}

	// netlab's own file, left by a down killed after it deleted the
	// namespace: up rewrites it.
	k2 := kerneltest.NewFake()
	k2.PlantHosts("pair.b", state.HostsHeader+"old\n")
	if _, err := reconcile.Up(ctx, k2, parse(t, pairLab), reconcile.Options{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := k2.Hosts("pair.b"); !strings.Contains(got, " a\n") {
		t.Errorf("hosts file of b after up:\n%s", got)
	}
}

// TestRestartingState: while an up restarts a process (stopped, not yet
// started again), status says "restarting"; once the up is done, or when
// no netlab command holds the lab's lock (one was killed), it does not.
func TestRestartingState(t *testing.T) {
	k := kerneltest.NewFake()
	dir := &reconcileDir{tempRunDir(t)}
	opts := reconcile.Options{RunDir: dir.d}
	fileLogs(t, &opts)
	if _, err := reconcile.Up(ctx, k, procPairLab(t), opts); err != nil {
		t.Fatal(err)
	}
	labName, _ := name.Parse("lab", "pair")
	lock, err := dir.d.Lock(ctx, labName, 0, nil) // as the command line holds it around up
	if err != nil {
		t.Fatal(err)
	}
	changed := procPairLab(t, func(l *lab.Lab) { l.Node("b").Run[0].Env = map[string]string{"LANG": "C"} })
	var during []string
	opts.AfterChange = func(i int) {
		ps, err := reconcile.Processes(ctx, k, "pair", dir.d)
		if err != nil {
			t.Error(err)
			return
		}
		for _, p := range ps {
			if p.Node == "b" && p.Name == "http" {
				during = append(during, p.State)
			}
		}
	}
	if _, err := reconcile.Up(ctx, k, changed, opts); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(during, reconcile.StateRestarting) || during[len(during)-1] != reconcile.StateRunning {
		t.Errorf("b/http during the restarting up: %v, want restarting, then running", during)
	}
	// A record left behind (a netlab killed mid-restart) says nothing
	// once no command holds the lock.
	if err := apply.SaveRestarting(*dir.d, "pair", []apply.Restarting{{Node: "b", Name: "http"}}); err != nil {
		t.Fatal(err)
	}
	k.KillProcess("pair.b", pids(t, k, "pair", dir)["b/http"])
	lock.Release()
	ps, err := reconcile.Processes(ctx, k, "pair", dir.d)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.Node == "b" && p.Name == "http" && p.State != reconcile.StateExited {
			t.Errorf("b/http after a killed restart, no lock held: %s, want %s", p.State, reconcile.StateExited)
		}
	}
}

// TestRestartingWhileStopping: a process an up is stopping to restart it
// (one that takes its grace period over SIGTERM) is still there, but it
// is the old one on its way out: status says "restarting", with its pid.
// The process that up has started in its place, while that up still
// holds the lock, is running.
func TestRestartingWhileStopping(t *testing.T) {
	k := kerneltest.NewFake()
	dir := &reconcileDir{tempRunDir(t)}
	opts := reconcile.Options{RunDir: dir.d}
	fileLogs(t, &opts)
	if _, err := reconcile.Up(ctx, k, procPairLab(t), opts); err != nil {
		t.Fatal(err)
	}
	labName, _ := name.Parse("lab", "pair")
	lock, err := dir.d.Lock(ctx, labName, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	observed, err := reconcile.Observe(ctx, k, "pair", nil, dir.d)
	if err != nil {
		t.Fatal(err)
	}
	old := observed.Nodes["b"].Procs["http"]
	stateOf := func() (string, int) {
		ps, err := reconcile.Processes(ctx, k, "pair", dir.d)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			if p.Node == "b" && p.Name == "http" {
				return p.State, p.Pid
			}
		}
		t.Fatal("b/http not listed")
		return "", 0
	}
	// Being stopped: the record names the running process.
	if err := apply.SaveRestarting(*dir.d, "pair", []apply.Restarting{{Node: "b", Name: "http", Pid: old.Pid, Start: old.Start}}); err != nil {
		t.Fatal(err)
	}
	if st, pid := stateOf(); st != reconcile.StateRestarting || pid != old.Pid {
		t.Errorf("b/http while up stops it: %s pid %d, want %s pid %d", st, pid, reconcile.StateRestarting, old.Pid)
	}
	// Started again: the record names another process (the old one).
	if err := apply.SaveRestarting(*dir.d, "pair", []apply.Restarting{{Node: "b", Name: "http", Pid: old.Pid, Start: old.Start + 1}}); err != nil {
		t.Fatal(err)
	}
	if st, pid := stateOf(); st != reconcile.StateRunning || pid != old.Pid {
		t.Errorf("b/http once started again: %s pid %d, want %s pid %d", st, pid, reconcile.StateRunning, old.Pid)
	}
}

// TestUpRefusesPlantedLogFirst: a log that is not a regular file (a link
// planted in the run directory) stops up before it changes anything: the
// process it would restart keeps running, and the link's target is not
// written.
func TestUpRefusesPlantedLogFirst(t *testing.T) {
	k := kerneltest.NewFake()
	runPath := t.TempDir()
	d := rundir.At(runPath)
	dir := &reconcileDir{&d}
	opts := reconcile.Options{RunDir: dir.d}
	if _, err := reconcile.Up(ctx, k, procPairLab(t), opts); err != nil {
		t.Fatal(err)
	}
	before := pids(t, k, "pair", dir)["b/http"]
	target := filepath.Join(t.TempDir(), "target")
	if err := os.WriteFile(target, []byte("mine\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(runPath, "pair.b.http.log")
	if err := os.Remove(log); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, log); err != nil {
		t.Fatal(err)
	}
	writes := k.Writes()
	changed := procPairLab(t, func(l *lab.Lab) { l.Node("b").Run[0].Env = map[string]string{"LANG": "C"} })
	_, err := reconcile.Up(ctx, k, changed, opts)
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("up with a link at b/http's log: %v, want a refusal naming the file", err)
	}
	if k.Writes() != writes {
		t.Errorf("up made %d writes before refusing", k.Writes()-writes)
	}
	if after := pids(t, k, "pair", dir)["b/http"]; after != before {
		t.Errorf("b/http pid %d after the refused up, want %d still running", after, before)
	}
	if got, _ := os.ReadFile(target); string(got) != "mine\n" {
		t.Errorf("the link's target was written: %q", got)
	}
}
