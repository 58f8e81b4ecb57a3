package rootless

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"netlab/lab/kernel"
)

// testDir is a user's directory in the test's temp directory.
func testDir(t *testing.T) Dir {
	t.Helper()
	d, err := findIn(env(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestHolderAlive: a holder is alive while its pid is the same process
// (same start time, same user namespace) and not a zombie.
func TestHolderAlive(t *testing.T) {
	t.Parallel()
	me, err := self()
	if err != nil {
		t.Fatal(err)
	}
	if !me.alive() {
		t.Errorf("this process (%+v) is not alive", me)
	}
	for _, h := range []Holder{
		{Pid: me.Pid, Start: me.Start + 1, UserNS: me.UserNS},
		{Pid: me.Pid, Start: me.Start, UserNS: me.UserNS + 1},
		{Pid: 1 << 30, Start: me.Start, UserNS: me.UserNS},
	} {
		if h.alive() {
			t.Errorf("%+v (this process is %+v) is alive", h, me)
		}
	}

	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	reaped := false
	t.Cleanup(func() {
		if !reaped {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	start, _, err := kernel.ProcStart(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	child := Holder{Pid: cmd.Process.Pid, Start: start, UserNS: me.UserNS}
	if !child.alive() {
		t.Errorf("a running child %+v is not alive", child)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Not reaped yet: a zombie, until Wait.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, state, err := kernel.ProcStart(child.Pid); err != nil || state == 'Z' {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the killed child never became a zombie")
		}
	}
	if child.alive() {
		t.Errorf("a killed, unreaped child %+v is alive", child)
	}
	_ = cmd.Wait()
	reaped = true
}

// TestReadHolder: no record is no holder; a record is read back; a link,
// a pipe, garbage or too long a file is refused.
func TestReadHolder(t *testing.T) {
	t.Parallel()
	d := testDir(t)
	if h, ok, err := readHolder(d); ok || err != nil {
		t.Errorf("readHolder without a record = %v, %v, %v; want none", h, ok, err)
	}
	want := Holder{Pid: 42, Start: 7, UserNS: 4026531837}
	if err := writeHolder(d, want); err != nil {
		t.Fatal(err)
	}
	if h, ok, err := readHolder(d); !ok || err != nil || h != want {
		t.Errorf("readHolder = %v, %v, %v; want %v", h, ok, err, want)
	}
	if fi, err := os.Lstat(d.holderFile()); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("holder.json: %v, %v; want mode 0600", fi, err)
	}
	record := `{"Pid":42,"Start":7,"UserNS":1}`
	cases := []struct {
		name  string
		plant func(t *testing.T, p string)
		want  string
	}{
		{"symlink", func(t *testing.T, p string) {
			real := filepath.Join(t.TempDir(), "real.json")
			if err := os.WriteFile(real, []byte(record), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(real, p); err != nil {
				t.Fatal(err)
			}
		}, "too many levels of symbolic links"},
		{"pipe", func(t *testing.T, p string) {
			if err := unix.Mkfifo(p, 0o600); err != nil {
				t.Fatal(err)
			}
			// A writer that never writes: a reader of the pipe waits.
			w, err := os.OpenFile(p, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { w.Close() })
		}, "not a regular file"},
		{"garbage", func(t *testing.T, p string) {
			if err := os.WriteFile(p, []byte("pid 42\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "not a holder record"},
		{"no pid", func(t *testing.T, p string) {
			if err := os.WriteFile(p, []byte(`{"Start":7}`), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "not a holder record"},
		{"too long", func(t *testing.T, p string) {
			// A record whose first 4096 bytes alone would pass.
			b := record + strings.Repeat(" ", maxHolderRecord) + "}"
			if err := os.WriteFile(p, []byte(b), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "more than 4096 bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := testDir(t)
			tc.plant(t, d.holderFile())
			type result struct {
				h   Holder
				ok  bool
				err error
			}
			done := make(chan result, 1)
			go func() {
				h, ok, err := readHolder(d)
				done <- result{h, ok, err}
			}()
			select {
			case r := <-done:
				if r.ok || r.err == nil || !strings.Contains(r.err.Error(), tc.want) || !strings.Contains(r.err.Error(), d.holderFile()) {
					t.Errorf("readHolder = %v, %v, %v; want an error naming %s with %q", r.h, r.ok, r.err, d.holderFile(), tc.want)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("readHolder did not return")
			}
		})
	}
}

// TestWithoutWorkerEnv: only NETLAB_ROOTLESS=... goes, whatever its
// value; the rest stays, in order, and the caller's slice is unchanged.
func TestWithoutWorkerEnv(t *testing.T) {
	t.Parallel()
	in := []string{"A=1", "NETLAB_ROOTLESS=/tmp/x", "NETLAB_ROOTLESSX=1", "NETLAB_ROOTLESS", "XNETLAB_ROOTLESS=1", "NETLAB_ROOTLESS=", "B=NETLAB_ROOTLESS=2"}
	orig := slices.Clone(in)
	got := withoutWorkerEnv(in)
	want := []string{"A=1", "NETLAB_ROOTLESSX=1", "NETLAB_ROOTLESS", "XNETLAB_ROOTLESS=1", "B=NETLAB_ROOTLESS=2"}
	if !slices.Equal(got, want) {
		t.Errorf("withoutWorkerEnv = %q, want %q", got, want)
	}
	if !slices.Equal(in, orig) {
		t.Errorf("the argument changed to %q", in)
	}
}

// TestForwarded: a client may have only the listed signals passed on;
// SIGKILL, SIGSTOP and any other signal number are not.
func TestForwarded(t *testing.T) {
	t.Parallel()
	want := []syscall.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGTERM}
	for s := syscall.Signal(-1); s <= 64; s++ {
		if got := forwarded(s); got != slices.Contains(want, s) {
			t.Errorf("forwarded(%d %v) = %v", int(s), s, got)
		}
	}
	for _, s := range []syscall.Signal{syscall.SIGKILL, syscall.SIGSTOP, syscall.SIGWINCH, syscall.SIGCONT, syscall.SIGSEGV} {
		if forwarded(s) {
			t.Errorf("%v is forwarded", s)
		}
	}
}

// TestTryLock: tryLock has the lock, or nil while another has it.
func TestTryLock(t *testing.T) {
	t.Parallel()
	d := testDir(t)
	lk, err := tryLock(d)
	if err != nil || lk == nil {
		t.Fatalf("tryLock = %v, %v", lk, err)
	}
	if again, err := tryLock(d); again != nil || err != nil {
		t.Errorf("tryLock while held = %v, %v; want nil, nil", again, err)
		again.Close()
	}
	lk.Close()
	again, err := tryLock(d)
	if err != nil || again == nil {
		t.Fatalf("tryLock after the release = %v, %v", again, err)
	}
	again.Close()
}

// waitBlocked waits until a lock waiter blocks on the file of f
// (/proc/locks lists it with "->"), so that what the test does next
// happens while it waits.
func waitBlocked(t *testing.T, f *os.File) {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	suffix := ":" + strconv.FormatUint(st.Ino, 10)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		locks, err := os.Open("/proc/locks")
		if err != nil {
			time.Sleep(200 * time.Millisecond) // no /proc/locks: a guess
			return
		}
		sc := bufio.NewScanner(locks)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) > 6 && f[1] == "->" && f[2] == "FLOCK" && strings.HasSuffix(f[6], suffix) {
				locks.Close()
				return
			}
		}
		locks.Close()
	}
	t.Fatal("no one waits for the lock")
}

// asyncLock is a lock taken in a goroutine.
type asyncLock struct {
	ch    chan *os.File
	taken bool
}

// lockAsync takes the lock in a goroutine. A lock the test did not take
// with wait is let go when the test ends.
func lockAsync(t *testing.T, d Dir, remake func() error) *asyncLock {
	t.Helper()
	a := &asyncLock{ch: make(chan *os.File, 1)}
	go func() {
		f, err := lock(d, remake)
		if err != nil {
			t.Error(err)
		}
		a.ch <- f
	}()
	t.Cleanup(func() {
		if !a.taken {
			if f := <-a.ch; f != nil {
				f.Close()
			}
		}
	})
	return a
}

// wait returns the lock's file once taken, or nil after timeout.
func (a *asyncLock) wait(timeout time.Duration) *os.File {
	select {
	case f := <-a.ch:
		a.taken = true
		return f
	case <-time.After(timeout):
		return nil
	}
}

// TestLockWaits: a second locker waits until the first lets go.
func TestLockWaits(t *testing.T) {
	t.Parallel()
	d := testDir(t)
	first, err := lock(d, func() error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	second := lockAsync(t, d, func() error { return nil })
	t.Cleanup(func() { first.Close() }) // before second's cleanup waits
	waitBlocked(t, first)
	if f := second.wait(50 * time.Millisecond); f != nil {
		f.Close()
		t.Fatal("a second locker has the lock while the first holds it")
	}
	first.Close()
	f := second.wait(5 * time.Second)
	if f == nil {
		t.Fatal("the second locker never had the lock")
	}
	defer f.Close()
	if again, err := tryLock(d); again != nil || err != nil {
		t.Errorf("tryLock while the second locker holds it = %v, %v", again, err)
	}
}

// TestLockRetaken: the holder removes the lock's file (and the
// directory) as it leaves, under the lock; a locker that waited on the
// old file takes the lock again on the file now at its name, making the
// directory again with remake.
func TestLockRetaken(t *testing.T) {
	t.Parallel()
	for _, what := range []string{"file", "directory"} {
		t.Run(what, func(t *testing.T) {
			t.Parallel()
			d := testDir(t)
			first, err := lock(d, func() error { return nil })
			if err != nil {
				t.Fatal(err)
			}
			remakes := make(chan struct{}, 100)
			second := lockAsync(t, d, func() error {
				remakes <- struct{}{}
				return os.MkdirAll(d.Path(), 0o700)
			})
			t.Cleanup(func() { first.Close() })
			waitBlocked(t, first)
			if what == "file" {
				err = os.Remove(d.lockFile())
			} else {
				err = os.RemoveAll(d.Path())
			}
			if err != nil {
				t.Fatal(err)
			}
			first.Close()
			f := second.wait(5 * time.Second)
			if f == nil {
				t.Fatal("the second locker never had the lock")
			}
			defer f.Close()
			var held, named unix.Stat_t
			if err := unix.Fstat(int(f.Fd()), &held); err != nil {
				t.Fatal(err)
			}
			if err := unix.Lstat(d.lockFile(), &named); err != nil {
				t.Fatalf("no lock file at its name: %v", err)
			}
			if held.Ino != named.Ino || held.Dev != named.Dev {
				t.Errorf("the lock held (inode %d) is not the file at %s (inode %d)", held.Ino, d.lockFile(), named.Ino)
			}
			// (The new file may have the old one's inode number, freed:
			// the second round is what tells it was taken again.)
			if n := len(remakes); n < 2 {
				t.Errorf("remake called %d times; want a second time after the file went", n)
			}
		})
	}
}

// TestRunHolderRefuses: the holder's command line is netlab's own, and
// it runs only where Forward starts it: one directory argument, in a
// user namespace of one user. Anything else is refused before anything
// is made or listened on.
func TestRunHolderRefuses(t *testing.T) {
	t.Parallel()
	d := testDir(t)
	for _, args := range [][]string{nil, {}, {d.Path(), d.Path()}, {""}, {"relative"}, {d.Path() + "/../x"}, {d.Path()}} {
		var stderr strings.Builder
		if code := RunHolder(args, &stderr); code != 1 || !strings.Contains(stderr.String(), "rootless holder") {
			t.Errorf("RunHolder(%q) = %d, %q; want 1 and a refusal", args, code, stderr.String())
		}
	}
	if _, err := os.Lstat(d.socket()); err == nil {
		t.Errorf("a refused holder made %s", d.socket())
	}
	if _, err := os.Lstat(d.holderFile()); err == nil {
		t.Errorf("a refused holder wrote %s", d.holderFile())
	}
}

// TestPlantedFilesRefused: a symbolic link, or a FIFO, planted as the
// holder's lock or log is neither followed nor waited on.
func TestPlantedFilesRefused(t *testing.T) {
	t.Parallel()
	for _, plant := range []string{"symlink", "fifo"} {
		t.Run(plant, func(t *testing.T) {
			d := testDir(t)
			target := filepath.Join(t.TempDir(), "target")
			if err := os.WriteFile(target, []byte("keep"), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{d.lockFile(), d.logFile()} {
				var err error
				if plant == "symlink" {
					err = os.Symlink(target, name)
				} else {
					err = unix.Mkfifo(name, 0o600)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			done := make(chan error, 2)
			go func() {
				f, err := openLock(d)
				if err == nil {
					f.Close()
				}
				done <- err
			}()
			go func() { done <- startHolder(d) }()
			for range 2 {
				select {
				case err := <-done:
					if err == nil {
						t.Errorf("a %s planted as the lock or the log was used", plant)
					}
				case <-time.After(10 * time.Second):
					t.Fatalf("hung on a %s planted as the lock or the log", plant)
				}
			}
			if b, err := os.ReadFile(target); err != nil || string(b) != "keep" {
				t.Errorf("the link's target was changed: %q, %v", b, err)
			}
		})
	}
}

// TestIdleWhileLocked: the last command's end finds the holder lock still
// held (its client has not yet let go, as on a loaded machine): the
// holder still leaves, once the lock is free, and takes its directory
// along. Before, it gave up and stayed until a next command.
func TestIdleWhileLocked(t *testing.T) {
	t.Parallel()
	d := testDir(t)
	ln, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: d.socket(), Net: "unixpacket"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	h := &holderState{dir: d, ln: ln}
	lk, err := tryLock(d)
	if err != nil || lk == nil {
		t.Fatalf("tryLock = %v, %v", lk, err)
	}
	h.idle() // the command's end, while its client holds the lock
	time.Sleep(3 * idleRetry)
	if h.leaving() {
		t.Fatal("the holder left while a command held the lock")
	}
	lk.Close() // the client has read "started" and lets go
	for deadline := time.Now().Add(5 * time.Second); !h.leaving(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the holder did not leave once the lock was free")
		}
	}
	if _, err := os.Lstat(d.Path()); !os.IsNotExist(err) {
		t.Errorf("after the holder left, %s: %v; want it gone", d.Path(), err)
	}
}
