package reconcile_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"netlab/lab"
	"netlab/lab/apply"
	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/reconcile"
	"netlab/lab/state"
)

// retitler sets its own title as nginx and PostgreSQL do, writing over
// its environment (and so over its marker), then forks two children:
// one that stays perl (its environment as overwritten) and one that
// exec's sleep (which gets perl's %ENV, the marker included, back).
const retitler = `$0 = "A" x 3000; if (!fork) { $0 = "worker"; sleep 1000; exit } if (!fork) { exec "sleep", "1001" } sleep 1000`

// procIdentity is a running process's parent and start time, from
// /proc/PID/stat; ok is false once it is gone (or a zombie).
func procIdentity(pid int) (ppid int, start uint64, ok bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	i := bytes.LastIndexByte(data, ')')
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 20 || f[0] == "Z" || f[0] == "X" {
		return 0, 0, false
	}
	ppid, _ = strconv.Atoi(f[1])
	start, _ = strconv.ParseUint(f[19], 10, 64)
	return ppid, start, true
}

// childrenOf are the running children of pid.
func childrenOf(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		c, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, _, ok := procIdentity(c); ok && ppid == pid {
			out = append(out, c)
		}
	}
	return out
}

// stillRuns reports whether the process pid with start time start still runs.
func stillRuns(pid int, start uint64) bool {
	_, s, ok := procIdentity(pid)
	return ok && s == start
}

// startedPid is the pid of a/t, the process the last up started.
func startedPid(t *testing.T, dir *reconcileDir, lab string) int {
	t.Helper()
	for _, e := range apply.LoadStarted(*dir.d, lab) {
		if e.Node == "a" && e.Name == "t" {
			return e.Pid
		}
	}
	t.Fatalf("the started record has no a/t: %v", apply.LoadStarted(*dir.d, lab))
	return 0
}

// retitledTree waits for pid to have retitled itself and forked both
// children, and returns the identities of the three.
func retitledTree(t *testing.T, pid int) map[int]uint64 {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		kids := childrenOf(pid)
		env, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
		if len(kids) == 2 && !bytes.Contains(env, []byte(state.ProcessEnv+"=")) {
			tree := make(map[int]uint64)
			for _, p := range append(kids, pid) {
				_, start, _ := procIdentity(p)
				tree[p] = start
			}
			return tree
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d: children %v, environ %.80q: it did not retitle itself and fork two", pid, kids, env)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRetitledProcessLinux is the tester's perl, on the real kernel: a
// process that sets its own title (losing its marker) is still the
// declared one. A second up starts nothing and plans nothing; status
// names it and lists neither of its children as started by hand; an env
// change restarts it with a new pid and leaves none of the old tree;
// down stops it and the children it forked after the retitle.
func TestRetitledProcessLinux(t *testing.T) {
	kerneltest.RequireRoot(t)
	if _, err := exec.LookPath("perl"); err != nil {
		t.Skip("this test needs perl")
	}
	t.Parallel()
	name := kerneltest.LabName(t)
	t.Cleanup(func() { killMarked(name) })
	text := strings.Replace(pairLab, "name: pair", "name: "+name, 1)
	mk := func(v string) *lab.Lab {
		l := parse(t, text)
		l.Node("a").Run = []*lab.Process{{Node: "a", Name: "t", Command: []string{"perl", "-e", retitler}, Env: map[string]string{"V": v}}}
		return l
	}
	k := kernel.NewLinux()
	defer k.Close()
	dir := &reconcileDir{tempRunDir(t)}
	grace := 500 * time.Millisecond
	opts := reconcile.Options{RunDir: dir.d, Grace: grace}
	fileLogs(t, &opts)
	var trees []map[int]uint64
	t.Cleanup(func() {
		_, _ = reconcile.Down(ctx, k, name, reconcile.DownOptions{RunDir: dir.d, Grace: grace})
		for _, tree := range trees { // only what this test started, by identity
			for pid, start := range tree {
				if fd, err := unix.PidfdOpen(pid, 0); err == nil {
					if stillRuns(pid, start) {
						_ = unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
					}
					unix.Close(fd)
				}
			}
		}
	})

	if _, err := reconcile.Up(ctx, k, mk("1"), opts); err != nil {
		t.Fatal(err)
	}
	first := startedPid(t, dir, name)
	tree := retitledTree(t, first)
	trees = append(trees, tree)

	res, err := reconcile.Up(ctx, k, mk("1"), opts)
	if err != nil {
		t.Fatalf("second up: %v", err)
	}
	if !res.Plan.Empty() || res.Applied != 0 {
		t.Errorf("second up: plan %v, %d applied; want nothing", res.Plan.Changes, res.Applied)
	}
	planned, err := reconcile.Plan(ctx, k, mk("1"), opts)
	if err != nil {
		t.Fatal(err)
	}
	if !planned.Plan.Empty() {
		t.Errorf("plan after the second up: %v; want empty", planned.Plan.Changes)
	}
	ps, err := reconcile.Processes(ctx, k, name, dir.d)
	if err != nil {
		t.Fatal(err)
	}
	if got := pids(t, k, name, dir)["a/t"]; got != first {
		t.Errorf("status: a/t is %d, want the retitled %d", got, first)
	}
	if h := byHand(t, ps, "a"); len(h) != 0 {
		t.Errorf("status lists %v in a as started by hand; they are a/t (%d) and its children", h, first)
	}
	for pid, start := range tree {
		if !stillRuns(pid, start) {
			t.Errorf("process %d of a/t's tree was stopped by a second up", pid)
		}
	}

	if _, err := reconcile.Up(ctx, k, mk("2"), opts); err != nil {
		t.Fatalf("up of the changed env: %v", err)
	}
	second := startedPid(t, dir, name)
	if got := pids(t, k, name, dir)["a/t"]; got != second || second == first {
		t.Errorf("after the env change a/t is %d, want the new %d (was %d)", got, second, first)
	}
	for pid, start := range tree {
		if stillRuns(pid, start) {
			t.Errorf("after the env change, process %d of the old a/t (%d) still runs: a copy is left", pid, first)
		}
	}
	newTree := retitledTree(t, second)
	trees = append(trees, newTree)

	down, err := reconcile.Down(ctx, k, name, reconcile.DownOptions{RunDir: dir.d, Grace: grace})
	if err != nil {
		t.Fatal(err)
	}
	var stopped []string
	for _, s := range down.Stopped {
		stopped = append(stopped, fmt.Sprintf("%d:%s", s.Pid, s.Name))
	}
	if !slices.Contains(stopped, fmt.Sprintf("%d:t", second)) {
		t.Errorf("down stopped %v; want a/t (%d) named", stopped, second)
	}
	for pid, start := range newTree {
		if stillRuns(pid, start) {
			t.Errorf("after down, process %d of a/t's tree still runs", pid)
		}
	}
}
