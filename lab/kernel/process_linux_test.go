package kernel_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/state"
)

// helpers are what this test binary does when started as a command of
// its own (TestMain): programs the tests run inside a node.
var ctx = context.Background()

var helpers = map[string]func(args []string) int{
	// nltest-serve [ignore-term] [tcp:PORT] [udp:PORT]...: listen, and
	// wait to be stopped.
	"nltest-serve": func(args []string) int {
		var keep []any
		for _, a := range args {
			proto, port, _ := strings.Cut(a, ":")
			var err error
			switch proto {
			case "ignore-term":
				signal.Ignore(syscall.SIGTERM)
			case "tcp":
				var l net.Listener
				l, err = net.Listen("tcp", ":"+port)
				keep = append(keep, l)
			case "udp":
				var c net.PacketConn
				c, err = net.ListenPacket("udp", ":"+port)
				keep = append(keep, c)
			default:
				err = fmt.Errorf("unknown argument %q", a)
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 2
			}
		}
		time.Sleep(time.Hour)
		runtime.KeepAlive(keep) // a socket the collector took would be closed
		return 0
	},
	// nltest-start LAB NODE LOG: start sleep 60 in the node as a
	// declared process, print its pid and start time, and end.
	"nltest-start": func(args []string) int {
		log, err := os.OpenFile(args[2], os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		p, err := kernel.NewLinux().ProcessStart(context.Background(), args[0], args[1], declared("web", nil, "sleep", "60"), log)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println(p.Pid, p.Start)
		return 0
	},
}

// declared is a process as lab/plan makes one, hashed.
func declared(name string, env []string, argv ...string) *state.Process {
	p := &state.Process{Name: name, Argv: argv, Env: env, Dir: "/"}
	p.Hash = state.DeclHash(p.Argv, p.Env, p.Dir)
	return p
}

// procLab makes a lab with a node a, and a real kernel.
func procLab(t *testing.T) (*kernel.Linux, string) {
	t.Helper()
	kerneltest.RequireRoot(t)
	lab := kerneltest.LabName(t)
	k := kernel.NewLinux()
	t.Cleanup(func() { k.Close() })
	if err := k.NetNSAdd(ctx, lab, "a"); err != nil {
		t.Fatal(err)
	}
	return k, lab
}

func logFile(t *testing.T) *os.File {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(t.TempDir(), "p.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func startProc(t *testing.T, k *kernel.Linux, lab string, p *state.Process) *state.Process {
	t.Helper()
	got, err := k.ProcessStart(ctx, lab, "a", p, logFile(t))
	if err != nil {
		t.Fatalf("start %s: %v", p.Name, err)
	}
	return got
}

// statOf reads fields of /proc/PID/stat, counted as proc(5) counts them
// (3 is the state); nil when the process is gone.
func statOf(t *testing.T, pid int) []string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	i := bytes.LastIndexByte(b, ')')
	return append([]string{"", "", ""}, strings.Fields(string(b[i+1:]))...)
}

// field is a numeric field of statOf.
func field(t *testing.T, stat []string, n int) int {
	t.Helper()
	v, err := strconv.Atoi(stat[n])
	if err != nil {
		t.Fatalf("stat field %d: %v", n, err)
	}
	return v
}

// alive reports whether pid is still the process that started at start.
func alive(t *testing.T, pid int, start uint64) bool {
	st := statOf(t, pid)
	return st != nil && st[3] != "Z" && st[3+19] == strconv.FormatUint(start, 10)
}

func stopAll(t *testing.T, k *kernel.Linux, netns string, grace time.Duration) []kernel.ProcessInfo {
	t.Helper()
	procs, err := k.Processes(ctx, netns)
	if err != nil {
		t.Fatal(err)
	}
	stopped, err := k.ProcessesStop(ctx, netns, procs, grace)
	if err != nil {
		t.Fatal(err)
	}
	return stopped
}

// TestProcessStartDetached: a declared process runs in the node, in a
// session of its own without a terminal, with exactly 0, 1 and 2 open
// (the null device and the log) even when netlab holds a descriptor
// without close-on-exec, with the environment of decision 4, its file
// size capped and SIGXFSZ ignored; Observe reads it back as ProcessStart
// returned it, and SIGTERM ends it with status 143.
func TestProcessStartDetached(t *testing.T) {
	k, lab := procLab(t)
	leak, err := syscall.Dup(2) // no close-on-exec: what a careless parent hands netlab
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(leak)
	dir := t.TempDir()
	p := &state.Process{Name: "web", Argv: []string{"sleep", "60"}, Env: []string{"NLTEST_A=1"}, Dir: dir}
	p.Hash = state.DeclHash(p.Argv, p.Env, p.Dir)
	log := logFile(t)
	got, err := k.ProcessStart(ctx, lab, "a", p, log)
	if err != nil {
		t.Fatal(err)
	}
	pid := got.Pid
	stat := statOf(t, pid)
	if stat == nil {
		t.Fatal("the process is gone")
	}
	if sid := field(t, stat, 6); sid != pid {
		t.Errorf("session %d, want its own (%d)", sid, pid)
	}
	if tty := field(t, stat, 7); tty != 0 {
		t.Errorf("controlling terminal %d, want none", tty)
	}
	if uint64(field(t, stat, 22)) != got.Start {
		t.Errorf("start %s, ProcessStart said %d", stat[22], got.Start)
	}
	// Right after the execve, the dynamic loader may hold a descriptor
	// of its own for a moment: what counts is what stays.
	wantFDs := []string{"0 /dev/null", "1 " + log.Name(), "2 " + log.Name()}
	var names []string
	for range 100 {
		names = fdsOf(t, pid)
		if slices.Equal(names, wantFDs) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !slices.Equal(names, wantFDs) {
		t.Errorf("descriptors %q, want %q", names, wantFDs)
	}
	environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		t.Fatal(err)
	}
	wantEnv := kernel.ProcessEnviron(lab, "a", p, os.Getenv("PATH"), os.Getenv("HOME"))
	if diff := cmp.Diff(wantEnv, strings.Split(strings.TrimSuffix(string(environ), "\x00"), "\x00")); diff != "" {
		t.Errorf("environment (-want +got):\n%s", diff)
	}
	if cwd, _ := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid)); cwd != dir {
		t.Errorf("working directory %q, want %q", cwd, dir)
	}
	limits, _ := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if !regexpLine(string(limits), "Max file size", fmt.Sprint(kernel.LogLimit), fmt.Sprint(kernel.LogLimit)) {
		t.Errorf("file size not capped at %d:\n%s", kernel.LogLimit, limits)
	}
	if !sigIgnored(t, pid, syscall.SIGXFSZ) {
		t.Error("SIGXFSZ is not ignored")
	}
	// Its namespace is the node's.
	nodeNS, _ := os.Stat(filepath.Join(kernel.NetNSDir, state.NetNSName(lab, "a")))
	procNS, _ := os.Stat(fmt.Sprintf("/proc/%d/ns/net", pid))
	if nodeNS == nil || procNS == nil || !os.SameFile(nodeNS, procNS) {
		t.Error("the process is not in the node's namespace")
	}
	s, err := k.Observe(ctx, lab, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]*state.Process{"web": got}, s.Nodes["a"].Procs); diff != "" {
		t.Errorf("observed (-started +observed):\n%s", diff)
	}
	if len(s.Nodes["a"].Others) != 0 {
		t.Errorf("others: %+v", s.Nodes["a"].Others)
	}
	if since := time.Since(got.StartedAt); since < -2*time.Second || since > time.Minute {
		t.Errorf("started at %v, %v ago", got.StartedAt, since)
	}
	if _, ok := k.ProcessExited(got); ok {
		t.Error("ProcessExited: a running process has ended")
	}
	stopped := stopAll(t, k, state.NetNSName(lab, "a"), time.Second)
	if len(stopped) != 1 || stopped[0].Pid != pid || stopped[0].Killed {
		t.Errorf("stopped %+v, want pid %d by SIGTERM", stopped, pid)
	}
	st, ok := waitExited(k, got)
	if !ok || st != 143 {
		t.Errorf("ProcessExited = %d, %v; want 143, true", st, ok)
	}
}

// fdsOf lists the open descriptors of a process, with what they are.
func fdsOf(t *testing.T, pid int) []string {
	t.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, fd := range fds {
		target, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		names = append(names, fd.Name()+" "+target)
	}
	return names
}

// waitExited waits a little for the reaper to have seen an end.
func waitExited(k *kernel.Linux, p *state.Process) (int, bool) {
	for range 100 {
		if st, ok := k.ProcessExited(p); ok {
			return st, ok
		}
		time.Sleep(10 * time.Millisecond)
	}
	return 0, false
}

func regexpLine(text, label string, values ...string) bool {
	for line := range strings.Lines(text) {
		if rest, ok := strings.CutPrefix(line, label); ok && len(strings.Fields(rest)) >= len(values) && slices.Equal(strings.Fields(rest)[:len(values)], values) {
			return true
		}
	}
	return false
}

// sigIgnored reads SigIgn of /proc/PID/status.
func sigIgnored(t *testing.T, pid int, sig syscall.Signal) bool {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, "SigIgn:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			return mask&(1<<(uint(sig)-1)) != 0
		}
	}
	t.Fatal("no SigIgn")
	return false
}

// TestProcessStartFails: a command that cannot be exec'd fails
// ProcessStart with the launcher's reason, and leaves nothing running.
func TestProcessStartFails(t *testing.T) {
	k, lab := procLab(t)
	_, err := k.ProcessStart(ctx, lab, "a", declared("web", nil, "nltest-no-such-command"), logFile(t))
	if err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("ProcessStart of a missing command: %v, want not found", err)
	}
	if _, err := k.ProcessStart(ctx, lab, "zz", declared("web", nil, "sleep", "1"), logFile(t)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ProcessStart in a missing node: %v", err)
	}
	procs, err := k.Processes(ctx, state.NetNSName(lab, "a"))
	if err != nil || len(procs) != 0 {
		t.Errorf("left running: %+v, %v", procs, err)
	}
	// One that exits at once is started, and ProcessExited tells how.
	got := startProc(t, k, lab, declared("web", nil, "sh", "-c", "exit 3"))
	if st, ok := waitExited(k, got); !ok || st != 3 {
		t.Errorf("ProcessExited = %d, %v; want 3, true", st, ok)
	}
}

// TestProcessOutlivesStarter: the process goes on once the netlab that
// started it has ended (here a child of the test that starts it and
// exits), no longer its child; Processes finds it by its marker.
func TestProcessOutlivesStarter(t *testing.T) {
	k, lab := procLab(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	starter := exec.Command(exe, "nltest-start", lab, "a", filepath.Join(t.TempDir(), "log"))
	out, err := starter.Output()
	if err != nil {
		t.Fatalf("starter: %v", err)
	}
	var pid int
	var start uint64
	if _, err := fmt.Sscan(string(out), &pid, &start); err != nil {
		t.Fatalf("starter said %q: %v", out, err)
	}
	if !alive(t, pid, start) {
		t.Fatal("the process ended with its starter")
	}
	if ppid := field(t, statOf(t, pid), 4); ppid == starter.Process.Pid {
		t.Errorf("its parent is still the starter %d", ppid)
	}
	procs, err := k.Processes(ctx, state.NetNSName(lab, "a"))
	if err != nil {
		t.Fatal(err)
	}
	want := state.ProcessMarker(lab, "a", "web", declared("web", nil, "sleep", "60").Hash)
	if len(procs) != 1 || procs[0].Pid != pid || procs[0].Marker != want || !slices.Equal(procs[0].Command, []string{"sleep", "60"}) {
		t.Errorf("Processes = %+v, want pid %d marked %s", procs, pid, want)
	}
	if stopped := stopAll(t, k, state.NetNSName(lab, "a"), time.Second); len(stopped) != 1 {
		t.Errorf("stopped %+v", stopped)
	}
	if alive(t, pid, start) {
		t.Error("still running after ProcessesStop")
	}
}

// TestProcessesStopKillsStubborn: a process that ignores SIGTERM is
// killed once the grace period is over, and reported Killed.
func TestProcessesStopKillsStubborn(t *testing.T) {
	k, lab := procLab(t)
	got := startProc(t, k, lab, declared("stubborn", nil, "sh", "-c", "trap '' TERM; exec sleep 60"))
	// Once sleep runs, sh has set the trap.
	for i := 0; ; i++ {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", got.Pid))
		if string(cmdline) == "sleep\x0060\x00" {
			break
		}
		if i == 200 {
			t.Fatalf("sh did not exec sleep: %q", cmdline)
		}
		time.Sleep(10 * time.Millisecond)
	}
	const grace = 300 * time.Millisecond
	begin := time.Now()
	stopped := stopAll(t, k, state.NetNSName(lab, "a"), grace)
	if took := time.Since(begin); took < grace {
		t.Errorf("stopped in %v, before the grace period of %v was over", took, grace)
	}
	if len(stopped) != 1 || !stopped[0].Killed {
		t.Errorf("stopped %+v, want it Killed", stopped)
	}
	if st, ok := waitExited(k, got); !ok || st != 137 {
		t.Errorf("ProcessExited = %d, %v; want 137, true", st, ok)
	}
}

// TestProcessesStopNeverSignalsOthers: a decoy outside the lab's
// namespace, with the same command line and even the same marker, is
// never signalled, though ProcessesStop is handed its pid and start
// time; nor is the lab's own process when handed with another start time
// (its pid recycled, as far as netlab can tell).
func TestProcessesStopNeverSignalsOthers(t *testing.T) {
	k, lab := procLab(t)
	p := declared("web", nil, "sleep", "60")
	got := startProc(t, k, lab, p)
	decoy := exec.Command("sleep", "60")
	decoy.Env = []string{state.ProcessEnv + "=" + state.ProcessMarker(lab, "a", "web", p.Hash)}
	if err := decoy.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = decoy.Process.Kill()
		_ = decoy.Wait()
	})
	decoyStart := uint64(field(t, statOf(t, decoy.Process.Pid), 22))
	netns := state.NetNSName(lab, "a")
	procs, err := k.Processes(ctx, netns)
	if err != nil {
		t.Fatal(err)
	}
	if len(procs) != 1 || procs[0].Pid != got.Pid {
		t.Errorf("Processes = %+v, want only the lab's %d", procs, got.Pid)
	}
	stopped, err := k.ProcessesStop(ctx, netns, []kernel.ProcessInfo{
		{Pid: decoy.Process.Pid, Start: decoyStart, Command: []string{"sleep", "60"}, Marker: decoy.Env[0]},
		{Pid: got.Pid, Start: got.Start + 1},
	}, 0)
	if err != nil || len(stopped) != 0 {
		t.Errorf("ProcessesStop = %+v, %v; want nothing stopped", stopped, err)
	}
	time.Sleep(100 * time.Millisecond) // time for a signal, had one gone, to end them
	if !alive(t, decoy.Process.Pid, decoyStart) {
		t.Error("the decoy outside the lab was signalled")
	}
	if !alive(t, got.Pid, got.Start) {
		t.Error("the process handed with another start time was signalled")
	}
}

// TestListening: a tcp listener and a bound udp socket inside the
// namespace, of either family, are seen on their ports only, and only
// there.
func TestListening(t *testing.T) {
	k, lab := procLab(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	netns := state.NetNSName(lab, "a")
	startProc(t, k, lab, declared("srv", nil, exe, "nltest-serve", "tcp:8080", "udp:5353"))
	l, err := k.ListenIn(netns, "tcp", "127.0.0.1:9090")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	u, err := k.ListenPacketIn(netns, "udp", "127.0.0.1:9091")
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	listening := func(proto string, port uint16) bool {
		t.Helper()
		ok, err := k.Listening(ctx, netns, proto, port)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	for i := 0; !listening("tcp", 8080) || !listening("udp", 5353); i++ {
		if i == 200 {
			t.Fatal("the server never listened on tcp 8080 and udp 5353")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, c := range []struct {
		proto string
		port  uint16
		want  bool
	}{{"tcp", 9090, true}, {"udp", 9091, true}, {"udp", 8080, false}, {"tcp", 5353, false}, {"tcp", 9091, false}, {"tcp", 80, false}} {
		if got := listening(c.proto, c.port); got != c.want {
			t.Errorf("Listening %s %d = %v, want %v", c.proto, c.port, got, c.want)
		}
	}
	// The machine's own sockets are not the node's.
	host, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	if listening("tcp", uint16(host.Addr().(*net.TCPAddr).Port)) {
		t.Error("a listener of the machine's namespace is seen in the node")
	}
	if _, err := k.Listening(ctx, netns, "sctp", 1); err == nil {
		t.Error("Listening took sctp")
	}
}

// TestNetNSDelLeavesProcesses is what the fake models: deleting a
// namespace does not stop the processes in it; they run on in it, and
// it lingers, nameless, out of reach of Processes. So netlab must stop
// them first (decision 7).
func TestNetNSDelLeavesProcesses(t *testing.T) {
	k, lab := procLab(t)
	netns := state.NetNSName(lab, "a")
	got := startProc(t, k, lab, declared("web", nil, "sleep", "60"))
	before, err := os.Stat(fmt.Sprintf("/proc/%d/ns/net", got.Pid))
	if err != nil {
		t.Fatal(err)
	}
	pidfd, err := unix.PidfdOpen(got.Pid, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// This test's own process, through its pidfd: no one else can
		// reach it any more.
		if err := unix.PidfdSendSignal(pidfd, unix.SIGKILL, nil, 0); err != nil {
			t.Errorf("kill the process left in the deleted namespace: %v", err)
		}
		unix.Close(pidfd)
	})
	if err := k.NetNSDel(ctx, netns); err != nil {
		t.Fatal(err)
	}
	if !alive(t, got.Pid, got.Start) {
		t.Fatal("the process ended with its namespace's name: the fake's model is wrong")
	}
	after, err := os.Stat(fmt.Sprintf("/proc/%d/ns/net", got.Pid))
	if err != nil || !os.SameFile(before, after) {
		t.Errorf("the process changed namespace: %v", err)
	}
	if _, err := k.Processes(ctx, netns); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Processes of the deleted namespace: %v, want not found", err)
	}
}

// TestProcessesSeesMarkerDuringExec: the children a declared process
// starts carry its marker from fork to exec and after; Processes must
// find it in each of them, also in one caught in the middle of its
// execve (the kernel then shows an empty environment for a moment).
func TestProcessesSeesMarkerDuringExec(t *testing.T) {
	k, lab := procLab(t)
	startProc(t, k, lab, declared("forker", nil, "sh", "-c", "while :; do /bin/true; done"))
	netns := state.NetNSName(lab, "a")
	defer stopAll(t, k, netns, 100*time.Millisecond)
	unmarked := 0
	for range 300 {
		procs, err := k.Processes(ctx, netns)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range procs {
			if p.Marker == "" {
				unmarked++
			}
		}
	}
	if unmarked > 0 {
		t.Errorf("%d process(es) of a marked shell's children were listed without the marker", unmarked)
	}
}
