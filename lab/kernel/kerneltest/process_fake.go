package kerneltest

// Processes in memory, with what the real kernel does to them: they run
// until something ends them, and a namespace deleted while they run
// lingers, unnamed, for as long as they do.

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"netlab/lab/kernel"
	"netlab/lab/state"
)

// FakeRun is how a process the fake starts behaves; ProcessBehaviour
// chooses it per process. The zero value runs until stopped, ready on
// its p.Ready port, and ends at SIGTERM.
type FakeRun struct {
	// StartErr makes ProcessStart fail with it, as the real one does for a
	// command that cannot be exec'd: nothing is left running.
	StartErr error
	// ExitAtStart ends the process as soon as it is exec'd, with
	// ExitStatus (which ProcessExited then reports).
	ExitAtStart bool
	ExitStatus  int
	// NeverReady: the process never listens on its p.Ready port.
	NeverReady bool
	// IgnoreTERM: SIGTERM does nothing, so ProcessesStop needs SIGKILL.
	IgnoreTERM bool
	// Output is written to the log when the process starts.
	Output string
}

// fakeNetlabPid is the parent of the processes ProcessStart makes: the
// netlab that started them, which carries no marker.
const fakeNetlabPid = 999

// fakeProc is one process. ns is the namespace object it runs in, which
// may no longer be f.netns[ns.name] once that name was deleted.
type fakeProc struct {
	pid, ppid  int
	start      uint64
	startedAt  time.Time
	argv       []string
	env        []string
	marker     string
	declEnv    []string // declared (transcript)
	dir        string
	ns         *fakeNetNS
	running    bool
	status     int  // its exit status, once it is not running
	ours       bool // started by ProcessStart: ProcessExited may tell its end
	ignoreTERM bool
	listens    []listen
}

type listen struct {
	proto string
	port  uint16
}

// ProcessBehaviour sets how the processes ProcessStart makes from now on
// behave; nil restores the default.
func (f *Fake) ProcessBehaviour(run func(*state.Process) FakeRun) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.behaviour = run
}

// newProcLocked makes a running process in ns.
func (f *Fake) newProcLocked(ns *fakeNetNS, ppid int, argv, env []string, marker string) *fakeProc {
	f.lastPid++
	f.ticks += 100 // a second of clock ticks between two starts
	p := &fakeProc{pid: f.lastPid, ppid: ppid, start: f.ticks, startedAt: time.Now(), argv: slices.Clone(argv), env: slices.Clone(env), marker: marker, ns: ns, running: true}
	f.procs = append(f.procs, p)
	return p
}

// endLocked ends a process with status; its children are adopted by the
// machine's init, as the kernel does.
func (f *Fake) endLocked(p *fakeProc, status int) {
	p.running, p.status = false, status
	for _, c := range f.procs {
		if c.running && c.ppid == p.pid {
			c.ppid = 1
		}
	}
}

// procLocked finds a running process of the namespace now named netns
// for the test helper what, which a test calls only for one.
func (f *Fake) procLocked(what, netns string, pid int) *fakeProc {
	ns := f.netns[netns]
	for _, p := range f.procs {
		if p.running && p.pid == pid && p.ns == ns && ns != nil {
			return p
		}
	}
	panic(fmt.Sprintf("kerneltest: %s: no process %d running in %s", what, pid, netns))
}

// ProcessStart makes a running process in the node's namespace, marked as
// kernel.Linux marks it.
func (f *Fake) ProcessStart(ctx context.Context, lab, node string, p *state.Process, log *os.File) (*state.Process, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.beginLocked(ctx, "ProcessStart"); err != nil {
		return nil, err
	}
	if err := kernel.CheckProcess(lab, node, p); err != nil {
		return nil, err
	}
	ns, err := f.netnsLocked(state.NetNSName(lab, node))
	if err != nil {
		return nil, fmt.Errorf("node %s: process %s: %w", node, p.Name, err)
	}
	var run FakeRun
	if f.behaviour != nil {
		run = f.behaviour(p)
	}
	if run.StartErr != nil {
		return nil, fmt.Errorf("node %s: process %s: %w", node, p.Name, run.StartErr)
	}
	var started *fakeProc
	if err := f.sendLocked(ctx, func() error {
		env := kernel.ProcessEnviron(lab, node, p, "", "")
		started = f.newProcLocked(ns, fakeNetlabPid, p.Argv, env, state.ProcessMarker(lab, node, p.Name, p.Hash))
		started.ours, started.ignoreTERM = true, run.IgnoreTERM
		started.declEnv, started.dir = slices.Clone(p.Env), p.Dir
		if p.Ready != nil && !run.NeverReady {
			started.listens = append(started.listens, listen{p.Ready.Proto, p.Ready.Port})
		}
		if run.ExitAtStart {
			f.endLocked(started, run.ExitStatus)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if log != nil && run.Output != "" {
		if _, err := io.WriteString(log, run.Output); err != nil {
			return nil, fmt.Errorf("node %s: process %s: log: %w", node, p.Name, err)
		}
	}
	return &state.Process{Name: p.Name, Argv: slices.Clone(p.Argv), Hash: p.Hash, Pid: started.pid, Start: started.start, StartedAt: started.startedAt, PPid: started.ppid}, nil
}

// ProcessExited reports the end of a process this fake started.
func (f *Fake) ProcessExited(p *state.Process) (int, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, fp := range f.procs {
		if fp.pid == p.Pid && fp.start == p.Start && fp.ours {
			return fp.status, !fp.running
		}
	}
	return 0, false
}

// Processes lists the running processes of a namespace.
func (f *Fake) Processes(ctx context.Context, netns string) ([]kernel.ProcessInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.beginLocked(ctx, "Processes"); err != nil {
		return nil, err
	}
	ns, err := f.procNetNSLocked(netns, "list processes")
	if err != nil {
		return nil, err
	}
	return f.processesLocked(ns), nil
}

// LabProcesses lists the processes of every marked namespace of the lab,
// as kernel.Linux does.
func (f *Fake) LabProcesses(ctx context.Context, lab string) (map[string][]kernel.ProcessInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.beginLocked(ctx, "LabProcesses"); err != nil {
		return nil, err
	}
	out := make(map[string][]kernel.ProcessInfo)
	for _, name := range f.netnsNamesLocked() {
		l, node, ok := state.SplitNetNSName(name)
		if !ok || l != lab || !f.netns[name].marked(lab, node) {
			continue
		}
		if procs := f.processesLocked(f.netns[name]); len(procs) > 0 {
			out[name] = procs
		}
	}
	return out, nil
}

// procNetNSLocked is the namespace of a process call: never the machine's,
// whose processes are not a lab's.
func (f *Fake) procNetNSLocked(netns, what string) (*fakeNetNS, error) {
	if netns == state.HostNetNS {
		return nil, fmt.Errorf("%s in the machine's own namespace: its processes are not a lab's: %w", what, unix.EPERM)
	}
	return f.netnsLocked(netns)
}

func (f *Fake) processesLocked(ns *fakeNetNS) []kernel.ProcessInfo {
	var out []kernel.ProcessInfo
	for _, p := range f.procs {
		if !p.running || p.ns != ns {
			continue
		}
		info := kernel.ProcessInfo{Pid: p.pid, PPid: p.ppid, Start: p.start, StartedAt: p.startedAt, Command: slices.Clone(p.argv)}
		if _, _, _, _, ok := state.ParseProcessMarker(p.marker); ok {
			info.Marker = p.marker
		}
		out = append(out, info)
	}
	return out
}

// ProcessesStop stops the listed processes that are still the ones listed
// (same pid and start time, same namespace): SIGTERM, then SIGKILL for
// those that ignore it. Each signal is a message (StopAt, a cancelled
// ctx). The grace is not slept: a fake process that will end at SIGTERM
// ends at once, and one that ignores it never will.
func (f *Fake) ProcessesStop(ctx context.Context, netns string, procs []kernel.ProcessInfo, grace time.Duration) ([]kernel.ProcessInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.beginLocked(ctx, "ProcessesStop"); err != nil {
		return nil, err
	}
	ns, err := f.procNetNSLocked(netns, "stop processes")
	if err != nil {
		return nil, err
	}
	type target struct {
		info kernel.ProcessInfo
		p    *fakeProc
	}
	var targets []target
	for _, info := range procs {
		for _, p := range f.procs {
			if p.running && p.ns == ns && p.pid == info.Pid && p.start == info.Start {
				targets = append(targets, target{info, p})
			}
		}
	}
	var stopped []kernel.ProcessInfo
	for _, t := range targets {
		if err := f.sendLocked(ctx, func() error {
			if t.p.running && !t.p.ignoreTERM {
				f.endLocked(t.p, 128+int(unix.SIGTERM))
				stopped = append(stopped, t.info)
			}
			return nil
		}); err != nil {
			return stopped, err
		}
	}
	for _, t := range targets {
		if !t.p.running {
			continue
		}
		if err := f.sendLocked(ctx, func() error {
			f.endLocked(t.p, 128+int(unix.SIGKILL))
			t.info.Killed = true
			stopped = append(stopped, t.info)
			return nil
		}); err != nil {
			return stopped, err
		}
	}
	return stopped, nil
}

// Listening reports whether a running process of the namespace listens
// on the port: a declared one on its p.Ready port (unless NeverReady),
// or one Listen made.
func (f *Fake) Listening(ctx context.Context, netns, proto string, port uint16) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.beginLocked(ctx, "Listening"); err != nil {
		return false, err
	}
	if proto != "tcp" && proto != "udp" {
		return false, fmt.Errorf("listening: protocol %q: not tcp or udp", proto)
	}
	ns, err := f.netnsLocked(netns)
	if err != nil {
		return false, err
	}
	for _, p := range f.procs {
		if p.running && p.ns == ns && slices.Contains(p.listens, listen{proto, port}) {
			return true, nil
		}
	}
	return false, nil
}

// StartByHand starts a process in a namespace as someone at a shell
// would (netlab exec NODE -- ARGV... &): unmarked, its parent a shell
// outside. It returns its pid.
func (f *Fake) StartByHand(netns string, argv ...string) int {
	return f.StartByHandEnv(netns, nil, argv...)
}

// StartByHandEnv is StartByHand with an environment; a NETLAB_PROCESS
// value in it is the process's marker, as a planted one would be.
func (f *Fake) StartByHandEnv(netns string, env []string, argv ...string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	ns := f.netns[netns]
	if ns == nil {
		panic("kerneltest: StartByHand: no namespace " + netns)
	}
	marker := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, state.ProcessEnv+"="); ok {
			marker = v
		}
	}
	return f.newProcLocked(ns, 1, argv, env, marker).pid
}

// Fork makes a child of a running process: same namespace and
// environment (so the same marker), its own command line. It returns the
// child's pid.
func (f *Fake) Fork(netns string, pid int, argv ...string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.procLocked("Fork", netns, pid)
	return f.newProcLocked(p.ns, p.pid, argv, p.env, p.marker).pid
}

// KillProcess kills a process by hand (kill -9): its status is 137.
func (f *Fake) KillProcess(netns string, pid int) {
	f.EndProcess(netns, pid, 128+int(unix.SIGKILL))
}

// EndProcess makes a running process end by itself with status.
func (f *Fake) EndProcess(netns string, pid int, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.endLocked(f.procLocked("EndProcess", netns, pid), status)
}

// Listen makes a running process listen on a port (a server started by
// hand), or stop listening on it.
func (f *Fake) Listen(netns string, pid int, proto string, port uint16, on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.procLocked("Listen", netns, pid)
	l := listen{proto, port}
	p.listens = slices.DeleteFunc(p.listens, func(x listen) bool { return x == l })
	if on {
		p.listens = append(p.listens, l)
	}
}

// Lingering returns the pids of the processes still running in a
// namespace that has been deleted: the kernel keeps such a namespace
// alive, nameless, for as long as one of them runs. A down that stops
// the processes before deleting the namespace leaves none.
func (f *Fake) Lingering() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	var pids []int
	for _, p := range f.procs {
		if p.running && f.netns[p.ns.name] != p.ns {
			pids = append(pids, p.pid)
		}
	}
	return pids
}

// Running returns the pids of every running process of every namespace
// the fake holds, gone ones included.
func (f *Fake) Running() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	var pids []int
	for _, p := range f.procs {
		if p.running {
			pids = append(pids, p.pid)
		}
	}
	return pids
}

// Retitle makes a running process set its own title, as perl's $0 or
// setproctitle do: they write over the environment's memory, so that
// /proc/PID/environ no longer holds its marker. The children it forks
// from then on have none either.
func (f *Fake) Retitle(netns string, pid int, argv ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.procLocked("Retitle", netns, pid)
	p.marker = ""
	if len(argv) > 0 {
		p.argv = slices.Clone(argv)
	}
}
