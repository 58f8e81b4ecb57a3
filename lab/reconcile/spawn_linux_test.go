package reconcile_test

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"netlab/lab"
	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/reconcile"
	"netlab/lab/state"
)

// spawnOnTerm answers SIGTERM by starting a process of its own in a
// session of its own, and ends: what a daemon that hands over on
// shutdown does. The one it starts carries its marker.
var spawnOnTerm = []string{"sh", "-c", `trap "setsid sleep 7771 & exit 0" TERM; while :; do sleep 0.05; done`}

// markedOf are the pids of the running processes that carry a marker of
// lab, wherever they run.
func markedOf(lab string) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil {
			continue
		}
		for kv := range strings.SplitSeq(string(env), "\x00") {
			if v, ok := strings.CutPrefix(kv, state.ProcessEnv+"="); ok {
				if l, _, _, _, ok := state.ParseProcessMarker(v); ok && l == lab {
					out = append(out, pid)
				}
				break
			}
		}
	}
	return out
}

// killMarked kills what markedOf finds of lab, each through a pidfd
// opened before the marker is read again.
func killMarked(lab string) {
	for _, pid := range markedOf(lab) {
		fd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			continue
		}
		for _, again := range markedOf(lab) {
			if again == pid {
				_ = unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
			}
		}
		unix.Close(fd)
	}
}

// TestStopReachesWhatSIGTERMStarts: a process that starts another when
// it is sent SIGTERM leaves nothing behind, neither when its declaration
// changes (the new one alone runs, and verify finds the plan empty) nor
// at down (no process of the lab is left, holding a namespace whose
// name is gone).
func TestStopReachesWhatSIGTERMStarts(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	name := kerneltest.LabName(t)
	t.Cleanup(func() { killMarked(name) })
	text := strings.Replace(pairLab, "name: pair", "name: "+name, 1)
	mk := func(v string) *lab.Lab {
		l := parse(t, text)
		l.Node("a").Run = []*lab.Process{{Node: "a", Name: "spawner", Command: spawnOnTerm, Env: map[string]string{"V": v}}}
		return l
	}
	k := kernel.NewLinux()
	defer k.Close()
	dir := &reconcileDir{tempRunDir(t)}
	grace := 500 * time.Millisecond
	opts := reconcile.Options{RunDir: dir.d, Grace: grace}
	fileLogs(t, &opts)
	defer func() { _, _ = reconcile.Down(ctx, k, name, reconcile.DownOptions{RunDir: dir.d, Grace: grace}) }()

	if _, err := reconcile.Up(ctx, k, mk("1"), opts); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the trap is set
	if _, err := reconcile.Up(ctx, k, mk("2"), opts); err != nil {
		t.Errorf("up of the changed declaration: %v", err)
	}
	if got := markedOf(name); len(got) == 0 || len(got) > 2 {
		// the new one, and maybe the sleep of its loop
		t.Errorf("after the restart, %d marked process(es) run: %v", len(got), got)
	}
	time.Sleep(100 * time.Millisecond)
	if _, err := reconcile.Down(ctx, k, name, reconcile.DownOptions{RunDir: dir.d, Grace: grace}); err != nil {
		t.Errorf("down: %v", err)
	}
	if got := markedOf(name); len(got) > 0 {
		t.Errorf("after down, processes of the lab still run: %v", got)
	}
}

// TestProcessWithLargestEnvIsFound: a process whose declared environment
// is as large as validate lets it be is found again by its marker (the
// environment netlab adds around it takes it past what Observe reads of
// /proc/PID/environ): up verifies, and a second up starts nothing.
func TestProcessWithLargestEnvIsFound(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	name := kerneltest.LabName(t)
	t.Cleanup(func() { killMarked(name) })
	l := parse(t, strings.Replace(pairLab, "name: pair", "name: "+name, 1))
	env := make(map[string]string)
	// Eight variables of 131,040 bytes: under validate.MaxExecTotal in
	// all, each under Linux's limit for one string.
	for i := range 8 {
		env["V"+strconv.Itoa(i)] = strings.Repeat("x", 131040)
	}
	l.Node("a").Run = []*lab.Process{{Node: "a", Name: "big", Command: []string{"sleep", "1000"}, Env: env}}
	k := kernel.NewLinux()
	defer k.Close()
	dir := &reconcileDir{tempRunDir(t)}
	opts := reconcile.Options{RunDir: dir.d, Grace: 500 * time.Millisecond}
	fileLogs(t, &opts)
	defer func() {
		_, _ = reconcile.Down(ctx, k, name, reconcile.DownOptions{RunDir: dir.d, Grace: 500 * time.Millisecond})
	}()
	if _, err := reconcile.Up(ctx, k, l, opts); err != nil {
		t.Fatal(err)
	}
	res, err := reconcile.Up(ctx, k, l, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Plan.Empty() {
		t.Errorf("second up: plan not empty: %v", res.Plan.Changes)
	}
	if got := markedOf(name); len(got) != 1 {
		t.Errorf("%d marked processes run, want 1: %v", len(got), got)
	}
}
