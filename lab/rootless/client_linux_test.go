package rootless

import (
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestHolderEnv: the holder keeps PATH, LANG and LC_ALL of the first
// command's environment, and nothing else of it. (Not parallel:
// t.Setenv.)
func TestHolderEnv(t *testing.T) {
	t.Setenv("PATH", "/usr/bin:/bin")
	t.Setenv("LANG", "C.UTF-8")
	t.Setenv("NETLAB_SECRET", "x")
	t.Setenv(WorkerEnv, "/tmp/x")
	t.Setenv("LC_ALL", "") // restored when the test ends, unset in it
	os.Unsetenv("LC_ALL")
	got := holderEnv()
	want := []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8"}
	if !slices.Equal(got, want) {
		t.Errorf("holderEnv = %q, want %q", got, want)
	}
}

// TestUserNSHint: the kernel's refusals of a user namespace get the
// hint of where to look; any other error none.
func TestUserNSHint(t *testing.T) {
	t.Parallel()
	for _, err := range []error{unix.EPERM, unix.ENOSPC, unix.EACCES, &os.SyscallError{Syscall: "clone", Err: unix.EPERM}} {
		if h := userNSHint(err); !strings.Contains(h, "user.max_user_namespaces") || !strings.Contains(h, "docs/rootless.md") {
			t.Errorf("userNSHint(%v) = %q", err, h)
		}
	}
	for _, err := range []error{unix.ENOENT, errors.New("other")} {
		if h := userNSHint(err); h != "" {
			t.Errorf("userNSHint(%v) = %q, want none", err, h)
		}
	}
}

// TestLogTail: the holder's log's last 500 bytes, on one line.
func TestLogTail(t *testing.T) {
	t.Parallel()
	d := testDir(t)
	if got := logTail(d); got != "" {
		t.Errorf("logTail without a log = %q", got)
	}
	if err := os.WriteFile(d.logFile(), []byte(strings.Repeat("x", 600)+"\nnetlab: rootless holder:\n  it failed\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got := logTail(d)
	if !strings.HasPrefix(got, ": x") || !strings.HasSuffix(got, "x netlab: rootless holder: it failed") || len(got) > 2+500 {
		t.Errorf("logTail = %q", got)
	}
}

// TestPTY: the command's terminal carries what is written on either
// side, and takes the caller's terminal's size.
func TestPTY(t *testing.T) {
	t.Parallel()
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	caller, err := openPTY(devNull) // a terminal to be the caller's
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	defer caller.close()
	want := &unix.Winsize{Row: 33, Col: 101}
	if err := unix.IoctlSetWinsize(int(caller.master.Fd()), unix.TIOCSWINSZ, want); err != nil {
		t.Fatal(err)
	}
	p, err := openPTY(caller.peer)
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	ws, err := unix.IoctlGetWinsize(int(p.peer.Fd()), unix.TIOCGWINSZ)
	if err != nil || ws.Row != want.Row || ws.Col != want.Col {
		t.Errorf("the command's terminal is %+v, %v; want the caller's %+v", ws, err, want)
	}
	want.Row, want.Col = 40, 120
	if err := unix.IoctlSetWinsize(int(caller.master.Fd()), unix.TIOCSWINSZ, want); err != nil {
		t.Fatal(err)
	}
	p.resize()
	if ws, err := unix.IoctlGetWinsize(int(p.peer.Fd()), unix.TIOCGWINSZ); err != nil || ws.Row != 40 || ws.Col != 120 {
		t.Errorf("after resize the command's terminal is %+v, %v; want 40x120", ws, err)
	}
	if _, err := io.WriteString(p.peer, "out\n"); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 64)
	n, err := p.master.Read(b)
	if err != nil || !strings.HasPrefix(string(b[:n]), "out") {
		t.Errorf("read from the master %q, %v; want the command's output", b[:n], err)
	}
}
