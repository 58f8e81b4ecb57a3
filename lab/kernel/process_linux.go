package kernel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"netlab/lab/state"
)

// Processes in a node: started through the launcher (launch_linux.go),
// found in /proc by their network namespace and marker (proc_linux.go),
// stopped through pidfds.

// LogLimit is the most a declared process may write to any one file
// (RLIMIT_FSIZE): its log lives in /run, which is memory. A write beyond
// fails with EFBIG, and the process, which ignores SIGXFSZ, goes on.
const LogLimit = 4 << 20

// stopPoll is how often ProcessesStop looks whether ctx is done while it
// waits for processes to end.
const stopPoll = 20 * time.Millisecond

// killWait bounds the wait for a SIGKILLed process to be gone; the
// kernel ends one at once unless it is stuck in the kernel (D state).
const killWait = 5 * time.Second

// procKey is a process's identity: its pid and start time.
type procKey struct {
	pid   int
	start uint64
}

// started is a process this Linux started; done is closed once it has
// been waited for, with status set.
type started struct {
	done   chan struct{}
	status int
}

// startedProcs are the processes a Linux started, by identity, so that
// ProcessExited can tell their end.
type startedProcs struct {
	mu    sync.Mutex
	procs map[procKey]*started
}

func (s *startedProcs) add(k procKey) *started {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.procs == nil {
		s.procs = make(map[procKey]*started)
	}
	st := &started{done: make(chan struct{})}
	s.procs[k] = st
	return st
}

func (s *startedProcs) get(k procKey) *started {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.procs[k]
}

// ProcessStart starts p in the node through the launcher, in a session
// of its own, and returns once the launcher has exec'd the command (or
// failed to). The launcher tells which on a pipe (fd 3) that it marks
// close-on-exec: EOF with nothing written means the execve happened; a
// message is why the command did not run. A goroutine waits for the
// process, so that no zombie stays while netlab runs and ProcessExited
// knows its status.
func (k *Linux) ProcessStart(ctx context.Context, lab, node string, p *state.Process, log *os.File) (*state.Process, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if _, err := checkProcess(lab, node, p); err != nil {
		return nil, err
	}
	if !launcherAnswered.Load() {
		return nil, fmt.Errorf("process %s: %w", p.Name, errNoLauncher)
	}
	if log == nil {
		return nil, fmt.Errorf("process %s: no log file", p.Name)
	}
	netnsName := state.NetNSName(lab, node)
	if err := k.NetNSExists(netnsName); err != nil {
		return nil, fmt.Errorf("process %s: %w", p.Name, err)
	}
	dir := p.Dir
	if dir == "" {
		dir = "/"
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("process %s: %w", p.Name, err)
	}
	defer r.Close()
	cmd := &exec.Cmd{
		Path:        selfExe,
		Args:        append([]string{"netlab"}, launchArgs(Launch{NetNS: netnsName, Dir: dir, Argv: p.Argv, NetNSDir: k.netnsDir, EtcDir: k.etcNetNSDir}, true)...),
		Env:         ProcessEnviron(lab, node, p, os.Getenv("PATH"), os.Getenv("HOME")),
		Stdout:      log,
		Stderr:      log,
		ExtraFiles:  []*os.File{w},
		SysProcAttr: &syscall.SysProcAttr{Setsid: true},
	}
	err = cmd.Start()
	w.Close()
	if err != nil {
		return nil, fmt.Errorf("process %s: start netlab's launcher: %w", p.Name, err)
	}
	msg, _ := io.ReadAll(io.LimitReader(r, 4096))
	if len(msg) > 0 {
		_ = cmd.Wait()
		return nil, fmt.Errorf("process %s: %s", p.Name, strings.TrimSpace(string(msg)))
	}
	// Exec'd. Until it is waited for, the pid is this child's, however
	// soon it ends, so what /proc shows of it is its own.
	pid := cmd.Process.Pid
	var st procStat
	h, ok, err := openProc(pid)
	if ok {
		st, err = h.stat()
		h.close()
	} else if err == nil {
		err = unix.ESRCH
	}
	key := procKey{pid, st.start}
	done := k.started.add(key)
	go func() {
		_ = cmd.Wait()
		done.status = ExitStatus(cmd.ProcessState)
		close(done.done)
	}()
	if err != nil {
		return nil, fmt.Errorf("process %s: read /proc/%d: %w", p.Name, pid, err)
	}
	return &state.Process{Name: p.Name, Argv: slices.Clone(p.Argv), Hash: p.Hash, Pid: pid, Start: st.start, StartedAt: startedAt(st.start), PPid: os.Getpid()}, nil
}

// prepareProcess is the launcher's side of ProcessStart, before it
// enters the node: it takes fd 3 as the pipe to ProcessStart, and lets
// no descriptor but 0, 1 and 2 reach the command (netlab may have been
// given others, which it does not know of); it caps the size of every
// file the process writes (LogLimit) and ignores SIGXFSZ, so that a
// write past the cap fails rather than kills. Both stay across execve.
func prepareProcess() (*os.File, error) {
	var st unix.Stat_t
	if err := unix.Fstat(3, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
		return nil, fmt.Errorf("%s %s: fd 3 is not the pipe of netlab's ProcessStart", LauncherCommand, processFlag)
	}
	notify := os.NewFile(3, "notify")
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return notify, fmt.Errorf("list descriptors: %w", err)
	}
	for _, e := range fds {
		var fd int
		if _, err := fmt.Sscan(e.Name(), &fd); err == nil && fd > 2 {
			unix.CloseOnExec(fd)
		}
	}
	if err := unix.Setrlimit(unix.RLIMIT_FSIZE, &unix.Rlimit{Cur: LogLimit, Max: LogLimit}); err != nil {
		return notify, fmt.Errorf("limit file size: %w", err)
	}
	signal.Ignore(unix.SIGXFSZ)
	return notify, nil
}

// ProcessExited reports the end of a process this Linux started.
func (k *Linux) ProcessExited(p *state.Process) (int, bool) {
	st := k.started.get(procKey{p.Pid, p.Start})
	if st == nil {
		return 0, false
	}
	select {
	case <-st.done:
		return st.status, true
	default:
		return 0, false
	}
}

// Processes lists the processes of a namespace, in one pass over /proc.
func (k *Linux) Processes(ctx context.Context, netns string) ([]ProcessInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	id, err := k.processNetNS(netns, "list processes")
	if err != nil {
		return nil, err
	}
	byNS, err := scanProcs(map[nsID]bool{id: true})
	if err != nil {
		return nil, fmt.Errorf("namespace %s: list processes: %w", netns, err)
	}
	return byNS[id], nil
}

// LabProcesses lists the processes of every marked namespace of the lab
// in one pass over /proc. A namespace whose marker was read already
// (down lists them first) is not read again.
func (k *Linux) LabProcesses(ctx context.Context, lab string) (map[string][]ProcessInfo, error) {
	list, err := k.netnsList(ctx, lab, false)
	if err != nil {
		return nil, err
	}
	names := make(map[nsID]string)
	for _, ns := range list {
		if !ns.Marked {
			continue
		}
		id, err := k.netnsID(ns.Name)
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, errNotNetNS) {
			continue // gone since it was listed
		}
		if err != nil {
			return nil, err
		}
		names[id] = ns.Name
	}
	out := make(map[string][]ProcessInfo)
	if len(names) == 0 {
		return out, nil
	}
	byNS, err := scanProcs(names)
	if err != nil {
		return nil, fmt.Errorf("lab %s: list processes: %w", lab, err)
	}
	for id, procs := range byNS {
		if len(procs) > 0 {
			out[names[id]] = procs
		}
	}
	return out, nil
}

// processNetNS is the identity of the namespace of a process call, never
// the machine's: its processes are not a lab's.
func (k *Linux) processNetNS(netns, what string) (nsID, error) {
	if netns == state.HostNetNS {
		return nsID{}, fmt.Errorf("%s in the machine's own namespace: its processes are not a lab's: %w", what, unix.EPERM)
	}
	return k.netnsID(netns)
}

// netnsID is the identity of a namespace, by the file of its open
// connection (NetNSList and Observe have opened it already).
func (k *Linux) netnsID(netns string) (nsID, error) {
	c, err := k.nsFile(netns)
	if err != nil {
		return nsID{}, err
	}
	id, err := netnsIDOf(int(c.fd))
	if err != nil {
		return nsID{}, fmt.Errorf("namespace %s: %w", netns, err)
	}
	return id, nil
}

// ProcessesStop stops procs through pidfds. For each, it opens a pidfd
// and only then checks, through /proc, that the pid is still that
// process (start time) in netns: a pid recycled before the open fails
// the check, and once open the pidfd names that one process whatever
// happens to the pid. SIGTERM to all, up to grace for them to end,
// SIGKILL to the rest, and a wait until they are gone.
func (k *Linux) ProcessesStop(ctx context.Context, netns string, procs []ProcessInfo, grace time.Duration) ([]ProcessInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	id, err := k.processNetNS(netns, "stop processes")
	if err != nil {
		return nil, err
	}
	type target struct {
		info  ProcessInfo
		pidfd int
	}
	var targets []*target
	defer func() {
		for _, t := range targets {
			unix.Close(t.pidfd)
		}
	}()
	for _, info := range procs {
		pidfd, err := unix.PidfdOpen(info.Pid, 0)
		if errors.Is(err, unix.ESRCH) {
			continue // gone already
		}
		if err != nil {
			return nil, fmt.Errorf("namespace %s: process %d: pidfd: %w", netns, info.Pid, err)
		}
		if same, err := sameProcess(info, id); err != nil || !same {
			unix.Close(pidfd)
			if err != nil {
				return nil, fmt.Errorf("namespace %s: process %d: %w", netns, info.Pid, err)
			}
			continue
		}
		targets = append(targets, &target{info, pidfd})
	}
	var stopped []ProcessInfo
	send := func(t *target, sig unix.Signal) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := unix.PidfdSendSignal(t.pidfd, sig, nil, 0)
		if err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("namespace %s: process %d: signal %v: %w", netns, t.info.Pid, sig, err)
		}
		return nil
	}
	for _, t := range targets {
		if err := send(t, unix.SIGTERM); err != nil {
			return stopped, err
		}
	}
	pidfds := func(ts []*target) []int {
		fds := make([]int, len(ts))
		for i, t := range ts {
			fds[i] = t.pidfd
		}
		return fds
	}
	ended, err := waitEnded(ctx, pidfds(targets), grace)
	var left []*target
	for i, t := range targets {
		if ended[i] {
			stopped = append(stopped, t.info)
		} else {
			left = append(left, t)
		}
	}
	if err != nil {
		return stopped, err
	}
	for _, t := range left {
		if err := send(t, unix.SIGKILL); err != nil {
			return stopped, err
		}
	}
	ended, err = waitEnded(ctx, pidfds(left), killWait)
	for i, t := range left {
		if ended[i] {
			t.info.Killed = true
			stopped = append(stopped, t.info)
		}
	}
	if err != nil {
		return stopped, err
	}
	for i, t := range left {
		if !ended[i] {
			return stopped, fmt.Errorf("namespace %s: process %d still there %v after SIGKILL", netns, t.info.Pid, killWait)
		}
	}
	return stopped, nil
}

// sameProcess reports whether the pid of info is still that process
// (same start time), running in the namespace id.
func sameProcess(info ProcessInfo, id nsID) (bool, error) {
	h, ok, err := openProc(info.Pid)
	if !ok || err != nil {
		return false, err
	}
	defer h.close()
	st, err := h.stat()
	if err != nil || st.start != info.Start || st.state == 'Z' || st.state == 'X' {
		return false, goneOr(err)
	}
	ns, err := h.netns()
	if err != nil {
		return false, goneOr(err)
	}
	return ns == id, nil
}

// waitEnded waits up to d for the processes of pidfds to end (a pidfd
// polls readable once its process has), and reports which did; it
// returns early once all have, or with ctx's error once ctx is done.
func waitEnded(ctx context.Context, pidfds []int, d time.Duration) ([]bool, error) {
	ended := make([]bool, len(pidfds))
	deadline := time.Now().Add(d)
	for {
		var fds []unix.PollFd
		var idx []int
		for i, fd := range pidfds {
			if !ended[i] {
				fds = append(fds, unix.PollFd{Fd: int32(fd), Events: unix.POLLIN})
				idx = append(idx, i)
			}
		}
		if len(fds) == 0 {
			return ended, nil
		}
		if err := ctx.Err(); err != nil {
			return ended, err
		}
		wait := min(time.Until(deadline), stopPoll)
		if wait < 0 {
			wait = 0
		}
		n, err := unix.Poll(fds, int(wait.Milliseconds()))
		if err != nil && !errors.Is(err, unix.EINTR) {
			return ended, fmt.Errorf("wait for processes: %w", err)
		}
		if n > 0 {
			for j, fd := range fds {
				if fd.Revents != 0 {
					ended[idx[j]] = true
				}
			}
		}
		if time.Now().After(deadline) && n <= 0 {
			return ended, nil
		}
	}
}
