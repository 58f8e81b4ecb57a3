package rootless

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"netlab/lab/kernel"
)

// startMarked starts `sleep 30` with extra environment, waits until it
// runs sleep (before its exec, /proc shows this process's environment),
// and kills it when the test ends.
func startMarked(t *testing.T, env ...string) int {
	t.Helper()
	cmd := exec.Command("sleep", "30")
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	pid := cmd.Process.Pid
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(2 * time.Millisecond) {
		if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline"); err == nil && bytes.HasPrefix(b, []byte("sleep\x00")) {
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatal("the child never ran sleep")
		}
	}
}

// TestLeftover: a process of the dead holder's user namespace, started
// after it, of this user, is a leftover only with a mark: the holder's
// directory in NETLAB_ROOTLESS, or NETLAB_PROCESS.
func TestLeftover(t *testing.T) {
	t.Parallel()
	if os.Getenv("NETLAB_PROCESS") != "" || os.Getenv(WorkerEnv) != "" {
		t.Skip("this test runs with a netlab mark of its own")
	}
	d := testDir(t)
	me, err := self()
	if err != nil {
		t.Fatal(err)
	}
	ours := Holder{Pid: 1 << 30, Start: 0, UserNS: me.UserNS}
	if leftover(d, ours, os.Getpid()) {
		t.Error("this test process, with no mark, is a leftover")
	}
	marked := startMarked(t, WorkerEnv+"="+d.Path())
	if !leftover(d, ours, marked) {
		t.Errorf("a child with %s=%s is not a leftover", WorkerEnv, d.Path())
	}
	if process := startMarked(t, "NETLAB_PROCESS=not-a-marker"); !leftover(d, ours, process) {
		t.Error("a child with NETLAB_PROCESS is not a leftover")
	}
	for _, v := range []string{d.Path() + "x", filepath.Dir(d.Path()), ""} {
		if pid := startMarked(t, WorkerEnv+"="+v); leftover(d, ours, pid) {
			t.Errorf("a child with %s=%q, not the directory's, is a leftover", WorkerEnv, v)
		}
	}
	start, _, err := kernel.ProcStart(marked)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []Holder{
		{Pid: ours.Pid, Start: 0, UserNS: me.UserNS + 1},     // another user namespace
		{Pid: ours.Pid, Start: start + 1, UserNS: me.UserNS}, // started before the holder
	} {
		if leftover(d, h, marked) {
			t.Errorf("the marked child is a leftover of %+v", h)
		}
	}
	if leftover(d, ours, 1<<30) {
		t.Error("a pid with no process is a leftover")
	}
}

// TestLabsIn: the labs are the names before the dot of the files in the
// namespaces' directory, each once, sorted.
func TestLabsIn(t *testing.T) {
	t.Parallel()
	d := testDir(t)
	if got := labsIn(d); got != nil {
		t.Errorf("labsIn without a netns directory = %q", got)
	}
	if err := os.Mkdir(d.NetNS(), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"b.x", "a.n1", "a.n2"} {
		if err := os.WriteFile(filepath.Join(d.NetNS(), n), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if got := labsIn(d); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("labsIn = %q, want [a b]", got)
	}
}

// TestSweepUnknownHolder: with no record of the holder, sweep kills
// nothing; it removes the labs' files and says which labs went, and on
// a first start (nothing there) it says nothing and removes nothing.
func TestSweepUnknownHolder(t *testing.T) {
	t.Parallel()
	d := testDir(t)
	var out strings.Builder
	if err := sweep(d, Holder{}, false, &out); err != nil || out.Len() != 0 {
		t.Errorf("sweep of a new directory = %v, said %q", err, out.String())
	}
	if _, err := os.Lstat(d.Path()); err != nil {
		t.Errorf("sweep of a new directory removed it: %v", err)
	}
	for _, sub := range []string{d.NetNS(), d.Etc(), d.Run()} {
		if err := os.MkdirAll(filepath.Join(sub, "lab1.a"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(d.socket(), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := sweep(d, Holder{}, false, &out); err != nil {
		t.Fatal(err)
	}
	if want := "the holder had ended, and its labs with it (lab1); stopped 0 process(es)"; !strings.Contains(out.String(), want) {
		t.Errorf("sweep said %q, want %q", out.String(), want)
	}
	for _, p := range []string{d.NetNS(), d.Etc(), d.Run(), d.socket()} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s is left", p)
		}
	}
}
