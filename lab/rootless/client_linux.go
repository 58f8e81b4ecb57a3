package rootless

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/charmbracelet/x/term"
	"golang.org/x/sys/unix"
)

// holderStartWait bounds how long Forward waits for a new holder to say
// it listens.
const holderStartWait = 10 * time.Second

// Forward runs the netlab command args (argv without argv[0]) for a user
// who is not root: inside the user's holder, which it starts if none
// runs, with this process's environment, working directory and standard
// streams. It passes signals on, and returns the command's exit code.
// What goes wrong on the way is said on stderr, with exit code 1.
func Forward(args []string, stdin, stdout, stderr *os.File) int {
	code, err := forward(args, stdin, stdout, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "netlab: rootless: %v\n", err)
		return 1
	}
	return code
}

func forward(args []string, stdin, stdout, stderr *os.File) (int, error) {
	var d Dir
	remake := func() error {
		var err error
		d, err = Find(os.Getenv)
		return err
	}
	if err := remake(); err != nil {
		return 0, err
	}
	lk, err := lock(d, remake)
	if err != nil {
		return 0, err
	}
	unlock := func() {
		if lk != nil {
			lk.Close()
			lk = nil
		}
	}
	defer unlock()
	c, err := reach(d, stderr)
	if err != nil {
		return 0, err
	}
	defer c.Close()

	exe, err := os.Open("/proc/self/exe")
	if err != nil {
		return 0, fmt.Errorf("open netlab's own binary: %w", err)
	}
	defer exe.Close()
	cwd, err := os.OpenFile(".", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("open the working directory: %w", err)
	}
	defer cwd.Close()

	streams := [3]*os.File{stdin, stdout, stderr}
	var p *pty
	if term.IsTerminal(stdin.Fd()) && term.IsTerminal(stdout.Fd()) {
		// The command gets a terminal of its own, which this process
		// relays: the caller's terminal belongs to the caller's
		// session, and the command runs in the holder's.
		if p, err = openPTY(stdin); err != nil {
			return 0, err
		}
		defer p.close()
		for i, f := range streams {
			if term.IsTerminal(f.Fd()) {
				streams[i] = p.peer
			}
		}
	}
	req := request{Args: append([]string{"netlab"}, args...), Env: os.Environ(), Tty: p != nil}
	if err := send(c, req, exe, cwd, streams[0], streams[1], streams[2]); err != nil {
		return 0, fmt.Errorf("ask the holder: %w", err)
	}
	if p != nil {
		p.peer.Close() // the command's copy is the one that counts now
		p.peer = nil
	}
	var started reply
	if _, err := receive(c, &started, 0); err != nil {
		return 0, fmt.Errorf("the holder did not start the command: %w", err)
	}
	if started.Err != "" {
		return 0, fmt.Errorf("the holder could not start the command: %s", started.Err)
	}
	unlock() // the holder counts this command now

	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, forwardedSignals...)
	defer signal.Stop(sigs)
	var relayed chan struct{}
	if p != nil {
		if err := p.raw(); err != nil {
			return 0, err
		}
		relayed = p.relay(stdin, stdout)
	}
	go func() {
		for s := range sigs {
			if s == syscall.SIGWINCH {
				if p != nil {
					p.resize()
				}
				continue
			}
			_ = send(c, control{Signal: int(s.(syscall.Signal))})
		}
	}()
	var end reply
	if _, err := receive(c, &end, 0); err != nil {
		return 0, errors.New("the holder ended (killed?) before the command did, and the user's labs with it: the next netlab command cleans up after it")
	}
	if relayed != nil {
		// The terminal's last output, until the command's side closed.
		select {
		case <-relayed:
		case <-time.After(time.Second):
		}
	}
	if end.Err != "" {
		return 0, errors.New(end.Err)
	}
	if end.Exit == nil {
		return 0, errors.New("the holder sent no exit status")
	}
	return *end.Exit, nil
}

// forwardedSignals are the signals a command passes on to its child in
// the holder (SIGWINCH resizes the child's terminal instead).
var forwardedSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH}

// forwarded reports whether the holder passes signal s on to a child: a
// client may name only these.
func forwarded(s syscall.Signal) bool {
	for _, f := range forwardedSignals {
		if f == s && s != syscall.SIGWINCH {
			return true
		}
	}
	return false
}

// reach connects to the user's holder, under the holder lock: when none
// answers, it cleans up after a dead one, if there was one, and starts a
// new one.
func reach(d Dir, stderr io.Writer) (*net.UnixConn, error) {
	if c, err := dial(d); err == nil {
		return c, nil
	}
	h, ok, err := readHolder(d)
	if err != nil {
		return nil, err
	}
	if ok && h.alive() {
		return nil, fmt.Errorf("the holder (pid %d) runs but does not answer on %s", h.Pid, d.socket())
	}
	if err := sweep(d, h, ok, stderr); err != nil {
		return nil, err
	}
	if err := startHolder(d); err != nil {
		removeAll(d) // nothing left behind by a holder that never ran
		return nil, err
	}
	c, err := dial(d)
	if err != nil {
		return nil, fmt.Errorf("reach the new holder: %w", err)
	}
	return c, nil
}

func dial(d Dir) (*net.UnixConn, error) {
	return net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: d.socket(), Net: "unixpacket"})
}

// startHolder starts the holder in a new user namespace, where this
// user is root and nobody else maps, and a new mount namespace of that
// user namespace's, and waits until it listens.
func startHolder(d Dir) error {
	log, err := openRegular(d.logFile(), os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
	if err != nil {
		return fmt.Errorf("holder log: %w", err)
	}
	defer log.Close()
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	cmd := &exec.Cmd{
		Path:       "/proc/self/exe",
		Args:       []string{"netlab", HolderCommand, d.Path()},
		Env:        holderEnv(),
		Dir:        "/",
		Stdout:     log,
		Stderr:     log,
		ExtraFiles: []*os.File{w},
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags:                 unix.CLONE_NEWUSER | unix.CLONE_NEWNS | unix.CLONE_NEWNET,
			UidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}},
			GidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}},
			GidMappingsEnableSetgroups: false,
			Setsid:                     true,
		},
	}
	err = cmd.Start()
	w.Close()
	if err != nil {
		return fmt.Errorf("start the holder in a new user namespace: %w%s", err, userNSHint(err))
	}
	done := make(chan error, 1)
	go func() {
		b := make([]byte, 3)
		_, err := io.ReadFull(r, b)
		if err == nil && string(b) != "ok\n" {
			err = errors.New("unexpected answer")
		}
		done <- err
	}()
	select {
	case err = <-done:
	case <-time.After(holderStartWait):
		err = fmt.Errorf("no answer in %s", holderStartWait)
	}
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return fmt.Errorf("the holder did not start: %v%s", err, logTail(d))
	}
	return cmd.Process.Release()
}

// holderEnv is the holder's environment: only what it needs, so that no
// variable of the first command's sticks to every later one.
func holderEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "LANG", "LC_ALL"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// userNSHint explains the usual refusal of a new user namespace.
func userNSHint(err error) string {
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EACCES) {
		return " (this kernel does not let users make user namespaces: see docs/rootless.md, " +
			"sysctl user.max_user_namespaces, kernel.unprivileged_userns_clone, kernel.apparmor_restrict_unprivileged_userns)"
	}
	return ""
}

// logTail is the end of the holder's log, to show why it failed.
func logTail(d Dir) string {
	b, err := os.ReadFile(d.logFile())
	if err != nil || len(b) == 0 {
		return ""
	}
	if len(b) > 500 {
		b = b[len(b)-500:]
	}
	return ": " + strings.Join(strings.Fields(string(b)), " ")
}

// A pty is the command's terminal: peer goes to the command, and this
// process relays between the caller's terminal and master.
type pty struct {
	master, peer *os.File
	in           *os.File // the caller's terminal
	saved        *term.State
}

func openPTY(in *os.File) (*pty, error) {
	mfd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open a terminal for the command: %w", err)
	}
	master := os.NewFile(uintptr(mfd), "/dev/ptmx")
	if err := unix.IoctlSetPointerInt(mfd, unix.TIOCSPTLCK, 0); err != nil {
		master.Close()
		return nil, fmt.Errorf("unlock the terminal: %w", err)
	}
	pfd, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(mfd), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	if errno != 0 {
		master.Close()
		return nil, fmt.Errorf("open the terminal's other end: %w", errno)
	}
	p := &pty{master: master, peer: os.NewFile(pfd, "pty"), in: in}
	// The command's terminal starts as the caller's: its modes and size.
	if t, err := unix.IoctlGetTermios(int(in.Fd()), unix.TCGETS); err == nil {
		_ = unix.IoctlSetTermios(int(p.peer.Fd()), unix.TCSETS, t)
	}
	p.resize()
	return p, nil
}

// resize gives the command's terminal the caller's size.
func (p *pty) resize() {
	if ws, err := unix.IoctlGetWinsize(int(p.in.Fd()), unix.TIOCGWINSZ); err == nil {
		_ = unix.IoctlSetWinsize(int(p.master.Fd()), unix.TIOCSWINSZ, ws)
	}
}

// raw puts the caller's terminal in raw mode, so that every key goes to
// the command's terminal, which interprets it (Ctrl-C there is the
// command's SIGINT).
func (p *pty) raw() error {
	s, err := term.MakeRaw(p.in.Fd())
	if err != nil {
		return fmt.Errorf("terminal raw mode: %w", err)
	}
	p.saved = s
	return nil
}

// relay copies keys to the command's terminal and its output back; the
// channel closes when the output ends (every copy of peer closed).
func (p *pty) relay(in io.Reader, out io.Writer) chan struct{} {
	done := make(chan struct{})
	go func() { _, _ = io.Copy(p.master, in) }()
	go func() {
		_, _ = io.Copy(out, p.master) // ends with EIO when the command's side is closed
		close(done)
	}()
	return done
}

func (p *pty) close() {
	if p.saved != nil {
		_ = term.Restore(p.in.Fd(), p.saved)
	}
	if p.peer != nil {
		p.peer.Close()
	}
	p.master.Close()
}
