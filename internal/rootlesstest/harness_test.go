package rootlesstest

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/topologies"
)

var netlabFlag = flag.String("netlab", "", "test this netlab `binary` (an absolute path, readable by every user) instead of building one")

// shared is a directory every test user can read: the netlab binary and
// the lab files the tests write.
var shared string

// netlabBin is the netlab under test.
var netlabBin string

func TestMain(m *testing.M) {
	if needs, ok := os.LookupEnv(probeEnv); ok {
		os.Exit(runProbe(needs))
	}
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "nltest-rootless-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	shared = dir
	if netlabBin, err = findNetlab(dir); err != nil {
		fmt.Fprintln(os.Stderr, "rootlesstest:", err)
		return 1
	}
	return kerneltest.LeakCheck(m).Run()
}

// findNetlab returns the binary of -netlab, after checking it, or builds
// one into dir.
func findNetlab(dir string) (string, error) {
	if p := *netlabFlag; p != "" {
		if !filepath.IsAbs(p) || filepath.Clean(p) != p {
			return "", fmt.Errorf("-netlab %q: want a clean absolute path", p)
		}
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o005 != 0o005 {
			return "", fmt.Errorf("-netlab %q: not a regular file every user may run", p)
		}
		return p, nil
	}
	bin := filepath.Join(dir, "netlab")
	if err := kerneltest.BuildNetlab(bin); err != nil {
		return "", fmt.Errorf("build netlab (or give -netlab): %w", err)
	}
	return bin, os.Chmod(bin, 0o755)
}

// A tester is a user who is not root, as the tests run netlab: when the
// tests run as root, an unused uid of their own choosing (every tester
// its own), otherwise the user running the tests.
type tester struct {
	uid, gid uint32
	asRoot   bool   // the tests run as root and switch to uid to run netlab
	xdg      string // the tester's XDG_RUNTIME_DIR, the test's own
}

// newTester returns a tester for t, and skips t when the kernel does not
// let users make user namespaces. Its cleanup brings down whatever labs
// the tester left (a failed test), checks that no process of the
// tester's is left, and removes its directory.
func newTester(t *testing.T) *tester {
	t.Helper()
	u := &tester{uid: uint32(os.Geteuid()), gid: uint32(os.Getegid())}
	if os.Geteuid() == 0 {
		u.asRoot = true
		u.uid = unusedID(t)
		u.gid = u.uid
	}
	// Not t.TempDir, whose parent only the user running the tests may enter.
	xdg, err := os.MkdirTemp(shared, "xdg-")
	if err != nil {
		t.Fatal(err)
	}
	u.xdg = xdg
	t.Cleanup(func() { os.RemoveAll(xdg) })
	if u.asRoot {
		if err := os.Chown(u.xdg, int(u.uid), int(u.gid)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(u.xdg, 0o700); err != nil {
		t.Fatal(err)
	}
	probe := u.run(t, "ls")
	if probe.code != 0 && strings.Contains(probe.stderr, "does not let users make user namespaces") {
		t.Skipf("this kernel does not let users make user namespaces: %s", probe.stderr)
	}
	if probe.code != 0 {
		t.Fatalf("netlab ls as uid %d: %s", u.uid, probe)
	}
	start := time.Now()
	t.Cleanup(func() { u.cleanup(t, start) })
	return u
}

// unusedID picks a uid that no user of this machine has.
func unusedID(t *testing.T) uint32 {
	for range 100 {
		var b [4]byte
		if _, err := rand.Read(b[:]); err != nil {
			t.Fatal(err)
		}
		id := 4_000_000 + binary.BigEndian.Uint32(b[:])%1_000_000
		_, uerr := user.LookupId(strconv.Itoa(int(id)))
		_, gerr := user.LookupGroupId(strconv.Itoa(int(id)))
		if uerr != nil && gerr != nil {
			return id
		}
	}
	t.Fatal("no unused uid found")
	return 0
}

// dir is the tester's rootless directory.
func (u *tester) dir() string { return filepath.Join(u.xdg, "netlab") }

func (u *tester) cleanup(t *testing.T, start time.Time) {
	if r := u.run(t, "ls", "-o", "json"); r.code == 0 {
		for _, lab := range labNames(r.stdout) {
			t.Errorf("lab %s left up: bringing it down", lab)
			u.run(t, "down", "--lab", lab)
		}
	}
	u.waitIdle()
	if u.asRoot {
		// Only when the tester is a uid of the test's own: the user running
		// the tests has processes of their own.
		if left := u.processes(t); len(left) > 0 {
			t.Errorf("processes of uid %d left: %v", u.uid, left)
			u.kill(t, left, start)
		}
	}
	if _, err := os.Lstat(u.dir()); err == nil {
		t.Errorf("%s left behind", u.dir())
	}
}

// waitIdle gives the holder, which leaves just after the command that
// brought the last lab down has answered, a few seconds to be gone.
func (u *tester) waitIdle() {
	for range 300 {
		_, err := os.Lstat(u.dir())
		if os.IsNotExist(err) && (!u.asRoot || len(u.liveProcesses()) == 0) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// labNames reads the names of `netlab ls -o json`.
func labNames(out string) []string {
	var names []string
	for _, line := range strings.Split(out, "\n") {
		if _, rest, ok := strings.Cut(line, `"name": "`); ok {
			name, _, _ := strings.Cut(rest, `"`)
			names = append(names, name)
		}
	}
	return names
}

// processes lists the live (not zombie) processes of the tester's uid.
func (u *tester) processes(t *testing.T) []int {
	if _, err := os.Stat("/proc/self"); err != nil {
		t.Fatal(err)
	}
	return u.liveProcesses()
}

func (u *tester) liveProcesses() []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		var st syscall.Stat_t
		if syscall.Stat("/proc/"+e.Name(), &st) != nil || st.Uid != u.uid {
			continue
		}
		if procState(pid) == "Z" {
			continue // killed, and its parent (maybe init) has not reaped it yet
		}
		out = append(out, pid)
	}
	return out
}

// kill ends the tester's processes left by a failed test: only of its
// uid (one no user has), started after the test began.
func (u *tester) kill(t *testing.T, pids []int, start time.Time) {
	for _, pid := range pids {
		var st syscall.Stat_t
		if syscall.Stat("/proc/"+strconv.Itoa(pid), &st) != nil || st.Uid != u.uid {
			continue
		}
		if time.Unix(st.Ctim.Sec, st.Ctim.Nsec).Before(start.Add(-time.Second)) {
			continue
		}
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// procState is a process's state letter (R, S, Z...), or "" when gone.
func procState(pid int) string {
	_, state, err := kernel.ProcStart(pid)
	if err != nil {
		return ""
	}
	return string(state)
}

// result is one run of netlab.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// command prepares netlab args as the tester, in the shared directory.
func (u *tester) command(args ...string) *exec.Cmd {
	c := exec.Command(netlabBin, args...)
	c.Dir = shared
	c.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + u.xdg,
		"XDG_RUNTIME_DIR=" + u.xdg,
		"LANG=C",
	}
	if u.asRoot {
		c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: u.uid, Gid: u.gid, NoSetGroups: true}}
	}
	return c
}

// run runs netlab args as the tester and waits for it (at most a minute).
func (u *tester) run(t *testing.T, args ...string) result {
	t.Helper()
	c := u.command(args...)
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	if err := c.Start(); err != nil {
		t.Fatalf("netlab %s: %v", strings.Join(args, " "), err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(time.Minute):
		_ = c.Process.Kill()
		err = <-done
		t.Errorf("netlab %s: still running after a minute, killed", strings.Join(args, " "))
	}
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			r.code = 128 + int(ws.Signal())
		}
	default:
		t.Fatalf("netlab %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// mustRun is run that fails the test unless netlab exits 0.
func (u *tester) mustRun(t *testing.T, args ...string) result {
	t.Helper()
	r := u.run(t, args...)
	if r.code != 0 {
		t.Fatalf("netlab %s as uid %d: %s", strings.Join(args, " "), u.uid, r)
	}
	return r
}

// writeLab writes a lab file every tester can read and returns its name
// (relative to the shared directory, where netlab runs).
func writeLab(t *testing.T, text string) string {
	t.Helper()
	f, err := os.CreateTemp(shared, "lab-*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
	if err := f.Chmod(0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(f.Name()) })
	return filepath.Base(f.Name())
}

// shippedLab copies a lab of topologies/ (as the binary ships it) into
// the shared directory.
func shippedLab(t *testing.T, name string) string {
	t.Helper()
	b, err := topologies.Read(name)
	if err != nil {
		t.Fatal(err)
	}
	return writeLab(t, string(b))
}
