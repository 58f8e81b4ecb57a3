package reconcile_test

import (
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"netlab/lab"
	"netlab/lab/apply"
	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/reconcile"
)

func TestMain(m *testing.M) {
	// The real kernel starts commands and processes in nodes through
	// this binary, again, as netlab's launcher.
	kernel.AnswerLauncher()
	os.Exit(kerneltest.LeakCheck(m).Run())
}

// python is the real python3 binary (not a shim), or "" without one.
func python(t *testing.T) string {
	out, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// alive reports whether pid is a running process.
func alive(pid int) bool { return pid > 0 && syscall.Kill(pid, 0) == nil }

// TestProcessesOnLinux runs processes in the real kernel through up, plan
// and down: started and ready (a python listener, when python3 is
// there), kept by a second up, restarted with a new pid when declared
// anew, drift when killed by hand and started again, an early end failing
// up with its status and log, and down leaving no process and no
// namespace.
func TestProcessesOnLinux(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	name := kerneltest.LabName(t)
	text := strings.Replace(pairLab, "name: pair", "name: "+name, 1)
	py := python(t)
	mk := func(edits ...func(l *lab.Lab)) *lab.Lab {
		l := parse(t, text)
		l.Node("a").Run = []*lab.Process{{Node: "a", Name: "sleeper", Command: []string{"sleep", "1000"}}}
		if py != "" {
			l.Node("b").Run = []*lab.Process{{Node: "b", Name: "listener", Command: []string{py, "-c",
				"import socket, time\ns = socket.socket()\ns.bind(('10.0.0.2', 8080))\ns.listen()\ntime.sleep(1000)"},
				Ready: &lab.Ready{Proto: "tcp", Port: 8080, Timeout: 10 * time.Second}}}
		}
		for _, e := range edits {
			e(l)
		}
		return l
	}
	k := kernel.NewLinux()
	defer k.Close()
	dir := &reconcileDir{tempRunDir(t)}
	opts := reconcile.Options{RunDir: dir.d, Grace: 500 * time.Millisecond}
	fileLogs(t, &opts)
	down := func() {
		res, err := reconcile.Down(ctx, k, name, reconcile.DownOptions{RunDir: dir.d, Grace: 500 * time.Millisecond})
		if err != nil {
			t.Errorf("down: %v", err)
		}
		for _, p := range res.Stopped {
			if alive(p.Pid) {
				t.Errorf("process %d (%s) is alive after down", p.Pid, strings.Join(p.Command, " "))
			}
		}
	}
	defer down()

	l := mk()
	if _, err := reconcile.Up(ctx, k, l, opts); err != nil {
		t.Fatal(err)
	}
	first := pids(t, k, name, dir)
	want := 1
	if py != "" {
		want = 2
	}
	if len(first) != want || !alive(first["a/sleeper"]) {
		t.Fatalf("after up: %v", first)
	}
	if _, err := reconcile.Up(ctx, k, l, opts); err != nil {
		t.Fatal(err)
	}
	if again := pids(t, k, name, dir); !mapsEqual(again, first) {
		t.Errorf("second up: pids %v, want %v kept", again, first)
	}

	// Declared anew: a new pid, the old one gone.
	l = mk(func(l *lab.Lab) { l.Node("a").Run[0].Command = []string{"sleep", "1001"} })
	if _, err := reconcile.Up(ctx, k, l, opts); err != nil {
		t.Fatal(err)
	}
	now := pids(t, k, name, dir)
	if now["a/sleeper"] == first["a/sleeper"] || alive(first["a/sleeper"]) || (py != "" && now["b/listener"] != first["b/listener"]) {
		t.Errorf("after the change: %v, before %v", now, first)
	}

	// Killed by hand: drift, then started again.
	if err := syscall.Kill(now["a/sleeper"], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for i := 0; alive(now["a/sleeper"]) && i < 100; i++ {
		time.Sleep(10 * time.Millisecond) // its parent, this netlab, reaps it
	}
	planned, err := reconcile.Plan(ctx, k, l, opts)
	if err != nil {
		t.Fatal(err)
	}
	if cs := planned.Plan.Changes; len(cs) != 1 || !cs[0].Drift {
		t.Fatalf("plan after kill -9: %v", cs)
	}
	if _, err := reconcile.Up(ctx, k, l, opts); err != nil {
		t.Fatal(err)
	}
	if p := pids(t, k, name, dir)["a/sleeper"]; !alive(p) || p == now["a/sleeper"] {
		t.Errorf("after up, a/sleeper is %d", p)
	}

	// An early end fails up with its status and its output.
	crash := mk(func(l *lab.Lab) {
		l.Node("a").Run = append(l.Node("a").Run, &lab.Process{Node: "a", Name: "crash", Shell: true, Command: []string{"echo oops; exit 3"}})
	})
	_, err = reconcile.Up(ctx, k, crash, opts)
	var pe *apply.ProcessError
	if !errors.As(err, &pe) || pe.Status != 3 || !strings.Contains(err.Error(), "node a: process crash exited with status 3") || !slices.Contains(pe.Details(), "a/crash | oops") {
		t.Errorf("up of a process that exits 3: %v", err)
	}
}
