package rootless

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"netlab/lab/kernel"
)

// HolderCommand is netlab's hidden subcommand that is the holder. The
// command line wires it to Serve; only Forward starts it.
const HolderCommand = "__rootless-holder"

// Holder is who the holder is, as holder.json records it: enough to tell
// a live holder from a pid the kernel has since given another process.
type Holder struct {
	Pid    int
	Start  uint64 // start time, in clock ticks after boot (/proc/PID/stat)
	UserNS uint64 // inode of its user namespace
}

// firstSessionWait is how long a new holder waits for the command that
// started it before it gives up and leaves.
const firstSessionWait = 30 * time.Second

// idleRetry is how soon idle tries again when the holder lock is taken.
const idleRetry = 50 * time.Millisecond

// Serve is the holder: started by Forward in a new user and mount
// namespace, it records itself, listens on the socket, says so on ready,
// and starts each command a client asks for as its child. It returns
// when no lab is left after a command (or none came), having removed its
// socket and record.
func Serve(d Dir, ready io.WriteCloser) error {
	me, err := self()
	if err != nil {
		return err
	}
	if err := writeHolder(d, me); err != nil {
		return err
	}
	defer os.Remove(d.holderFile())
	os.Remove(d.socket()) // a dead holder's; Forward holds the lock
	ln, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: d.socket(), Net: "unixpacket"})
	if err != nil {
		return fmt.Errorf("listen on %s: %w", d.socket(), err)
	}
	ln.SetUnlinkOnClose(false) // removed under the lock, in leave
	h := &holderState{dir: d, ln: ln}
	if _, err := io.WriteString(ready, "ok\n"); err != nil {
		ln.Close()
		return err
	}
	ready.Close()
	go func() {
		// A client that started the holder and died before it asked
		// for anything leaves it without a session: leave then.
		time.Sleep(firstSessionWait)
		h.idle()
	}()
	for {
		c, err := ln.AcceptUnix()
		if err != nil {
			if h.leaving() {
				return nil
			}
			return fmt.Errorf("accept: %w", err)
		}
		h.add(1)
		go func() {
			h.serve(c)
			h.add(-1)
			h.idle()
		}()
	}
}

type holderState struct {
	dir Dir
	ln  *net.UnixListener

	mu       sync.Mutex
	sessions int  // guarded by mu
	gone     bool // guarded by mu: the listener is closed for good
}

func (h *holderState) add(n int) {
	h.mu.Lock()
	h.sessions += n
	h.mu.Unlock()
}

func (h *holderState) leaving() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.gone
}

// idle closes the listener when no command runs and no lab is left, under
// the lock that a command holds from reaching the holder until its child
// started: a command either reached this holder before, and is counted,
// or finds it gone and starts a new one.
//
// While someone holds the lock it tries again shortly. The holder of the
// lock may be a command on its way in, whose end calls idle again, or
// the very command that just ended: it lets go of the lock only once it
// has read the holder's "started", and a command that is refused at once
// can end before its client, on a loaded machine, has run that far.
func (h *holderState) idle() {
	lk, err := tryLock(h.dir)
	if err != nil {
		return
	}
	if lk == nil {
		if !h.leaving() {
			time.AfterFunc(idleRetry, h.idle)
		}
		return
	}
	defer lk.Close()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.sessions > 0 || h.gone || labsLeft(h.dir) {
		return
	}
	h.gone = true
	h.ln.Close()
	removeAll(h.dir)
}

// removeAll removes what the user's directory holds once no lab is left,
// and the directory itself, so that nothing stays after the last down.
// It runs under the holder lock, whose file goes last: a command waiting
// for the lock finds, once it has it, that its file is gone, and starts
// again (lock).
func removeAll(d Dir) {
	os.Remove(d.socket())
	os.Remove(d.holderFile())
	os.Remove(d.logFile())
	// The namespaces' directory is a mount point in this mount
	// namespace (the kernel package binds it onto itself).
	_ = unix.Unmount(d.NetNS(), unix.MNT_DETACH)
	for _, sub := range []string{d.NetNS(), d.Etc(), d.Run()} {
		os.Remove(sub) // only when empty: a lab's files are never removed here
	}
	os.Remove(d.lockFile())
	os.Remove(d.Path())
}

// labsLeft reports whether any namespace is in the user's directory of
// namespaces (a stub of an interrupted create counts: the next up or
// down finishes it, here).
func labsLeft(d Dir) bool {
	f, err := os.Open(d.NetNS())
	if err != nil {
		return false
	}
	defer f.Close()
	names, _ := f.Readdirnames(1)
	return len(names) > 0
}

// serve runs one command for a client and tells it how it ended. A
// client that goes away (killed) takes its command with it (SIGKILL),
// as killing root's netlab kills it.
func (h *holderState) serve(c *net.UnixConn) {
	defer c.Close()
	if uid, err := peerUID(c); err != nil || uid != uint32(os.Geteuid()) {
		return // another user: the socket's directory keeps them out; this is a second door
	}
	var req request
	files, err := receive(c, &req, requestFDs)
	if err != nil {
		return
	}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	if len(req.Args) == 0 {
		_ = send(c, reply{Err: "no command"})
		return
	}
	// The child's parent-death signal goes with the thread that starts
	// it: this goroutine keeps its thread until the child has ended.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cmd := &exec.Cmd{
		// The client's own binary, by the descriptor it sent, so that
		// the command runs the netlab that was asked, not the holder's.
		Path:   fmt.Sprintf("/proc/self/fd/%d", files[fdExe].Fd()),
		Args:   req.Args,
		Env:    append(withoutWorkerEnv(req.Env), WorkerEnv+"="+h.dir.Path()),
		Dir:    fmt.Sprintf("/proc/self/fd/%d", files[fdDir].Fd()),
		Stdin:  files[fdStdin],
		Stdout: files[fdStdout],
		Stderr: files[fdStderr],
		SysProcAttr: &syscall.SysProcAttr{
			Setsid:    true,
			Setctty:   req.Tty,
			Ctty:      0, // the child's stdin
			Pdeathsig: syscall.SIGKILL,
		},
	}
	if err := cmd.Start(); err != nil {
		_ = send(c, reply{Err: err.Error()})
		return
	}
	for _, f := range files {
		f.Close()
	}
	files = nil
	if err := send(c, reply{Pid: cmd.Process.Pid}); err != nil {
		_ = cmd.Process.Kill()
	}
	done := make(chan struct{})
	go relaySignals(c, cmd.Process, done)
	err = cmd.Wait()
	close(done)
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			_ = send(c, reply{Err: err.Error()})
			return
		}
		code = kernel.ExitStatus(ee.ProcessState)
	}
	_ = send(c, reply{Exit: &code})
}

// relaySignals passes the client's signals on to the child until done,
// and kills the child if the client goes away first.
func relaySignals(c *net.UnixConn, p *os.Process, done <-chan struct{}) {
	for {
		var ctl control
		_, err := receive(c, &ctl, 0)
		select {
		case <-done:
			return
		default:
		}
		if err != nil {
			_ = p.Kill()
			return
		}
		s := syscall.Signal(ctl.Signal)
		switch {
		case s == syscall.SIGINT || s == syscall.SIGQUIT:
			// The keys' signals, which a terminal sends to the whole
			// foreground group: the child leads its own (Setsid), and
			// a command it runs in a node is in it.
			_ = syscall.Kill(-p.Pid, s)
		case forwarded(s):
			_ = p.Signal(s)
		}
	}
}

// withoutWorkerEnv drops WorkerEnv from a client's environment: only the
// holder says where the directory is.
func withoutWorkerEnv(env []string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if len(kv) > len(WorkerEnv) && kv[:len(WorkerEnv)+1] == WorkerEnv+"=" {
			continue
		}
		out = append(out, kv)
	}
	return out
}

func peerUID(c *net.UnixConn) (uint32, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return 0, err
	}
	if cerr != nil {
		return 0, cerr
	}
	return cred.Uid, nil
}

// self is this process as a Holder.
func self() (Holder, error) {
	start, _, err := kernel.ProcStart(os.Getpid())
	if err != nil {
		return Holder{}, err
	}
	ns, err := nsInode(os.Getpid(), "user")
	if err != nil {
		return Holder{}, err
	}
	return Holder{Pid: os.Getpid(), Start: start, UserNS: ns}, nil
}

func writeHolder(d Dir, h Holder) error {
	b, err := json.Marshal(h)
	if err != nil {
		return err
	}
	tmp := d.holderFile() + ".tmp"
	os.Remove(tmp)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, d.holderFile())
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("record the holder: %w", err)
	}
	return nil
}

// maxHolderRecord bounds holder.json, which writeHolder keeps far under.
const maxHolderRecord = 4096

// readHolder reads holder.json; ok is false when there is none.
func readHolder(d Dir) (Holder, bool, error) {
	f, err := os.OpenFile(d.holderFile(), os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, os.ErrNotExist) {
		return Holder{}, false, nil
	}
	if err != nil {
		return Holder{}, false, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		// A pipe planted there would keep the reader waiting.
		return Holder{}, false, fmt.Errorf("%s is not a regular file", d.holderFile())
	}
	b, err := io.ReadAll(io.LimitReader(f, maxHolderRecord+1))
	if err != nil {
		return Holder{}, false, err
	}
	if len(b) > maxHolderRecord {
		return Holder{}, false, fmt.Errorf("%s: more than %d bytes: not a holder record", d.holderFile(), maxHolderRecord)
	}
	var h Holder
	if err := json.Unmarshal(b, &h); err != nil || h.Pid <= 0 {
		return Holder{}, false, fmt.Errorf("%s: not a holder record", d.holderFile())
	}
	return h, true, nil
}

// alive reports whether the holder h is still the process of its pid,
// and not a zombie: one that was killed, whose parent has not reaped it.
func (h Holder) alive() bool {
	start, state, err := kernel.ProcStart(h.Pid)
	if err != nil || start != h.Start || state == 'Z' || state == 'X' {
		return false
	}
	ns, err := nsInode(h.Pid, "user")
	return err == nil && ns == h.UserNS
}

// nsInode returns the inode of a process's namespace of a kind ("user").
func nsInode(pid int, kind string) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/"+strconv.Itoa(pid)+"/ns/"+kind, &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}

// tryLock takes the holder lock without waiting; nil when another has it.
func tryLock(d Dir) (*os.File, error) {
	f, err := openLock(d)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, nil
		}
		return nil, err
	}
	return f, nil
}

// lock takes the holder lock, waiting for it. The holder removes the
// lock's file (and the directory) when it leaves: a lock taken on a file
// no longer at its name is let go and taken again, and remake makes the
// directory again when it is gone.
func lock(d Dir, remake func() error) (*os.File, error) {
	for range 100 {
		if err := remake(); err != nil {
			return nil, err
		}
		f, err := openLock(d)
		if errors.Is(err, os.ErrNotExist) {
			continue // the directory went between remake and open
		}
		if err != nil {
			return nil, err
		}
		for {
			err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
			if !errors.Is(err, unix.EINTR) {
				break
			}
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", d.lockFile(), err)
		}
		var held, named unix.Stat_t
		if unix.Fstat(int(f.Fd()), &held) == nil && unix.Lstat(d.lockFile(), &named) == nil &&
			held.Dev == named.Dev && held.Ino == named.Ino {
			return f, nil
		}
		f.Close()
	}
	return nil, fmt.Errorf("lock %s: it keeps being removed", d.lockFile())
}

func openLock(d Dir) (*os.File, error) { return openRegular(d.lockFile(), os.O_RDWR|os.O_CREATE) }

// openRegular opens (or makes, mode 0600) a file of the user's directory
// that netlab writes: never through a symbolic link, never waiting on a
// FIFO planted there (O_NONBLOCK), and only a regular file.
func openRegular(path string, flag int) (*os.File, error) {
	f, err := os.OpenFile(path, flag|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	return f, nil
}

// RunHolder is the holder's command line (HolderCommand DIR), with the
// ready pipe as descriptor 3: it checks that it runs where Forward
// starts it (root of a user namespace of one user, in a directory of
// that user's) and serves. It returns the exit code.
func RunHolder(args []string, stderr io.Writer) int {
	fail := func(err error) int {
		fmt.Fprintf(stderr, "netlab: rootless holder: %v\n", err)
		return 1
	}
	if len(args) != 1 {
		return fail(fmt.Errorf("%s is netlab's own: it takes one directory", HolderCommand))
	}
	if _, _, err := OutsideIDs(); err != nil {
		return fail(err)
	}
	if err := cleanAbs(args[0]); err != nil {
		return fail(fmt.Errorf("%q: %w", args[0], err))
	}
	if err := ownDir(args[0], os.Geteuid()); err != nil {
		return fail(err)
	}
	ready := os.NewFile(3, "ready")
	if ready == nil {
		return fail(errors.New("no ready pipe"))
	}
	if err := Serve(Dir{path: args[0]}, ready); err != nil {
		return fail(err)
	}
	return 0
}
