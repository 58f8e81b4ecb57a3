package kerneltest_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/state"
)

// proc is a declared process, hashed as lab/plan hashes one.
func proc(name string, argv ...string) *state.Process {
	p := &state.Process{Name: name, Argv: argv, Dir: "/"}
	p.Hash = state.DeclHash(p.Argv, p.Env, p.Dir)
	return p
}

func start(t *testing.T, k kernel.Kernel, lab, node string, p *state.Process) *state.Process {
	t.Helper()
	got, err := k.ProcessStart(ctx, lab, node, p, nil)
	if err != nil {
		t.Fatalf("start %s: %v", p.Name, err)
	}
	return got
}

func TestFakeProcessObserved(t *testing.T) {
	k := pair(t)
	p := proc("web", "sleep", "60")
	got := start(t, k, "t", "a", p)
	if got.Pid == 0 || got.Start == 0 || got.StartedAt.IsZero() {
		t.Fatalf("ProcessStart returned %+v, want pid, start and start time", got)
	}
	child := k.Fork("t.a", got.Pid, "sleep", "1")
	hand := k.StartByHand("t.a", "sh")
	s := observe(t, k, "t", nil)
	n := s.Nodes["a"]
	if diff := cmp.Diff(map[string]*state.Process{"web": got}, n.Procs); diff != "" {
		t.Errorf("observed Procs differ from what ProcessStart returned (-start +observe):\n%s", diff)
	}
	if len(n.Others) != 1 || n.Others[0].Pid != hand || n.Others[0].Name != "" || !slices.Equal(n.Others[0].Argv, []string{"sh"}) {
		t.Errorf("Others = %+v, want only the shell started by hand (pid %d), not the child %d", n.Others, hand, child)
	}
	infos, err := k.Processes(ctx, "t.a")
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 3 {
		t.Fatalf("Processes = %+v, want the process, its child and the shell", infos)
	}
	for _, info := range infos {
		wantMarker := ""
		if info.Pid != hand {
			wantMarker = state.ProcessMarker("t", "a", "web", p.Hash)
		}
		if info.Marker != wantMarker {
			t.Errorf("pid %d marker %q, want %q", info.Pid, info.Marker, wantMarker)
		}
	}
	if len(s.Nodes["b"].Procs) != 0 || len(s.Nodes["b"].Others) != 0 {
		t.Errorf("node b has processes: %+v %+v", s.Nodes["b"].Procs, s.Nodes["b"].Others)
	}
	// The child outlives its parent and becomes the process of that name.
	k.KillProcess("t.a", got.Pid)
	if st, ok := k.ProcessExited(got); !ok || st != 137 {
		t.Errorf("ProcessExited after kill -9 = %d, %v; want 137, true", st, ok)
	}
	n = observe(t, k, "t", nil).Nodes["a"]
	if n.Procs["web"] == nil || n.Procs["web"].Pid != child {
		t.Errorf("after its parent's end, Procs = %+v, want the orphan child %d", n.Procs, child)
	}
}

func TestFakeProcessMarkerFromElsewhere(t *testing.T) {
	k := pair(t)
	other := state.ProcessMarker("t", "b", "web", state.DeclHash([]string{"x"}, nil, "/"))
	k.StartByHandEnv("t.a", []string{state.ProcessEnv + "=" + other}, "x")
	k.StartByHandEnv("t.a", []string{state.ProcessEnv + "=t:a:../x:0123456789abcdef"}, "y")
	n := observe(t, k, "t", nil).Nodes["a"]
	if len(n.Procs) != 0 || len(n.Others) != 2 {
		t.Errorf("a marker of node b and an invalid one: Procs %+v, Others %+v; want none and both", n.Procs, n.Others)
	}
}

func TestFakeProcessStartChecks(t *testing.T) {
	k := pair(t)
	bad := proc("web", "true")
	bad.Hash = "x"
	if _, err := k.ProcessStart(ctx, "t", "a", bad, nil); err == nil {
		t.Error("a process without a valid hash started")
	}
	if _, err := k.ProcessStart(ctx, "t", "zz", proc("web", "true"), nil); !kernel.IsNotFound(err) {
		t.Errorf("start in a missing namespace: %v, want ENOENT", err)
	}
	if _, err := k.Processes(ctx, state.HostNetNS); !kernel.IsPerm(err) {
		t.Errorf("Processes of the machine's namespace: %v, want EPERM", err)
	}
	boom := errors.New("not found")
	k.ProcessBehaviour(func(p *state.Process) kerneltest.FakeRun { return kerneltest.FakeRun{StartErr: boom} })
	if _, err := k.ProcessStart(ctx, "t", "a", proc("web", "nope"), nil); !errors.Is(err, boom) {
		t.Errorf("StartErr: %v", err)
	}
	if r := k.Running(); len(r) != 0 {
		t.Errorf("a failed start left %v running", r)
	}
	k.ProcessBehaviour(func(p *state.Process) kerneltest.FakeRun {
		return kerneltest.FakeRun{ExitAtStart: true, ExitStatus: 3}
	})
	got := start(t, k, "t", "a", proc("web", "false"))
	if st, ok := k.ProcessExited(got); !ok || st != 3 {
		t.Errorf("ExitAtStart: ProcessExited = %d, %v", st, ok)
	}
	if n := observe(t, k, "t", nil).Nodes["a"]; len(n.Procs) != 0 {
		t.Errorf("an exited process is observed: %+v", n.Procs)
	}
}

func TestFakeProcessesStop(t *testing.T) {
	k := pair(t)
	k.ProcessBehaviour(func(p *state.Process) kerneltest.FakeRun {
		return kerneltest.FakeRun{IgnoreTERM: p.Name == "stubborn"}
	})
	soft := start(t, k, "t", "a", proc("soft", "sleep", "60"))
	stubborn := start(t, k, "t", "a", proc("stubborn", "sh", "-c", "trap '' TERM; sleep 60"))
	recycled := start(t, k, "t", "a", proc("recycled", "sleep", "60"))
	infos, err := k.Processes(ctx, "t.a")
	if err != nil {
		t.Fatal(err)
	}
	for i := range infos {
		if infos[i].Pid == recycled.Pid {
			infos[i].Start++ // as if the pid were another process's now
		}
	}
	stopped, err := k.ProcessesStop(ctx, "t.a", infos, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int]bool{}
	for _, s := range stopped {
		got[s.Pid] = s.Killed
	}
	if diff := cmp.Diff(map[int]bool{soft.Pid: false, stubborn.Pid: true}, got); diff != "" {
		t.Errorf("stopped (pid: killed) differ:\n%s", diff)
	}
	if _, ok := k.ProcessExited(recycled); ok {
		t.Error("the process listed with another start time was signalled")
	}
	if st, _ := k.ProcessExited(soft); st != 143 {
		t.Errorf("SIGTERM'd process status %d, want 143", st)
	}
	// Another namespace's pid is never signalled through this one.
	stopped, err = k.ProcessesStop(ctx, "t.b", []kernel.ProcessInfo{{Pid: recycled.Pid, Start: recycled.Start}}, 0)
	if err != nil || len(stopped) != 0 {
		t.Errorf("stop through another namespace: %v, %v", stopped, err)
	}
	if _, ok := k.ProcessExited(recycled); ok {
		t.Error("a process of t.a was stopped through t.b")
	}
}

func TestFakeNetNSDelLeavesProcesses(t *testing.T) {
	k := pair(t)
	p := start(t, k, "t", "a", proc("web", "sleep", "60"))
	if err := k.NetNSDel(ctx, "t.a"); err != nil {
		t.Fatal(err)
	}
	if got := k.Lingering(); !slices.Equal(got, []int{p.Pid}) {
		t.Errorf("Lingering = %v, want [%d]: a namespace deleted under a process lingers", got, p.Pid)
	}
	if !strings.Contains(k.String(), "# lingering in deleted namespace: ip netns exec t.a env -C / NETLAB_PROCESS=") {
		t.Errorf("transcript does not show the lingering process:\n%s", k)
	}
	if err := k.NetNSAdd(ctx, "t", "a"); err != nil {
		t.Fatal(err)
	}
	if n := observe(t, k, "t", nil).Nodes["a"]; len(n.Procs)+len(n.Others) != 0 {
		t.Errorf("a new namespace of the same name holds the old one's processes: %+v %+v", n.Procs, n.Others)
	}
}

func TestFakeListening(t *testing.T) {
	k := pair(t)
	p := proc("web", "httpd")
	p.Ready = &state.Ready{Proto: "tcp", Port: 80}
	q := proc("dns", "dnsd")
	q.Ready = &state.Ready{Proto: "udp", Port: 53}
	k.ProcessBehaviour(func(p *state.Process) kerneltest.FakeRun { return kerneltest.FakeRun{NeverReady: p.Name == "dns"} })
	got := start(t, k, "t", "a", p)
	start(t, k, "t", "a", q)
	listening := func(netns, proto string, port uint16) bool {
		t.Helper()
		ok, err := k.Listening(ctx, netns, proto, port)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !listening("t.a", "tcp", 80) || listening("t.a", "udp", 80) || listening("t.b", "tcp", 80) || listening("t.a", "udp", 53) {
		t.Error("Listening: want only tcp 80 in t.a")
	}
	k.Listen("t.a", got.Pid, "udp", 5353, true)
	if !listening("t.a", "udp", 5353) {
		t.Error("Listen by hand not seen")
	}
	k.EndProcess("t.a", got.Pid, 1)
	if listening("t.a", "tcp", 80) {
		t.Error("an ended process still listens")
	}
}

func TestFakeHosts(t *testing.T) {
	k := pair(t)
	content := state.HostsHeader + "test\n127.0.0.1 localhost\n"
	if err := k.HostsSet(ctx, "t.a", content); err != nil {
		t.Fatal(err)
	}
	k.PlantHosts("t.b", "10.0.0.1 mine\n")
	var fe *kernel.ForeignError
	if err := k.HostsSet(ctx, "t.b", content); !errors.As(err, &fe) || fe.File != kernel.EtcNetNSDir+"/t.b/hosts" {
		t.Errorf("HostsSet over a foreign file: %v, want *ForeignError with the file", err)
	}
	if err := k.HostsSet(ctx, "t.b", ""); !errors.As(err, &fe) {
		t.Errorf("HostsSet removing a foreign file: %v, want *ForeignError", err)
	}
	if c, _ := k.Hosts("t.b"); c != "10.0.0.1 mine\n" {
		t.Errorf("foreign file changed: %q", c)
	}
	s := observe(t, k, "t", state.New("t")) // a plan's read, with the content
	if diff := cmp.Diff(&state.HostsFile{Content: content}, s.Nodes["a"].Hosts); diff != "" {
		t.Errorf("node a hosts:\n%s", diff)
	}
	if diff := cmp.Diff(&state.HostsFile{Foreign: true}, s.Nodes["b"].Hosts); diff != "" {
		t.Errorf("node b hosts:\n%s", diff)
	}
	if !strings.Contains(k.String(), "cat >"+kernel.EtcNetNSDir+"/t.a/hosts <<'EOF'\n"+content+"EOF") {
		t.Errorf("transcript lacks the hosts file:\n%s", k)
	}
	if err := k.NetNSDel(ctx, "t.a"); err != nil {
		t.Fatal(err)
	}
	files, err := k.HostsFiles(ctx, "t")
	if err != nil || !slices.Equal(files, []string{"t.a"}) {
		t.Errorf("HostsFiles after the namespace went = %v, %v; want [t.a] (not the foreign t.b)", files, err)
	}
	if err := k.HostsSet(ctx, "t.a", ""); err != nil {
		t.Fatal(err)
	}
	if _, ok := k.Hosts("t.a"); ok {
		t.Error("HostsSet \"\" left the file")
	}
	if err := k.HostsSet(ctx, state.HostNetNS, content); !kernel.IsPerm(err) {
		t.Errorf("hosts of the machine: %v, want EPERM", err)
	}
}

// The new writes stop and fail as the others do.
func TestFakeProcessWritesStopAndFail(t *testing.T) {
	k := pair(t)
	k.StopAt("ProcessStart", 1, 1)
	if _, err := k.ProcessStart(ctx, "t", "a", proc("web", "sleep", "60"), nil); !errors.Is(err, kerneltest.ErrStopped) {
		t.Fatalf("StopAt ProcessStart: %v", err)
	}
	if len(k.Running()) != 1 {
		t.Errorf("a start stopped after its message left %v running, want the process", k.Running())
	}
	k.Restart()
	k.StartByHand("t.a", "sleep", "60")
	infos, err := k.Processes(ctx, "t.a")
	if err != nil {
		t.Fatal(err)
	}
	k.StopAt("ProcessesStop", 1, 1)
	if _, err := k.ProcessesStop(ctx, "t.a", infos, 0); !errors.Is(err, kerneltest.ErrStopped) {
		t.Fatalf("StopAt ProcessesStop: %v", err)
	}
	k.Restart()
	if len(k.Running()) != 1 {
		t.Errorf("stopped after one SIGTERM: %v running, want one", k.Running())
	}
	injected := errors.New("injected")
	k.FailOn("HostsSet", injected, 1)
	if err := k.HostsSet(ctx, "t.a", state.HostsHeader+"x\n"); !errors.Is(err, injected) {
		t.Errorf("FailOn HostsSet: %v", err)
	}
	if _, ok := k.Hosts("t.a"); ok {
		t.Error("a failed HostsSet wrote")
	}
	cut := kerneltest.NewCutCtx(2) // the begin's question, then the message's
	if err := k.HostsSet(cut, "t.a", state.HostsHeader+"x\n"); !errors.Is(err, context.Canceled) {
		t.Errorf("cut HostsSet: %v", err)
	}
	if _, ok := k.Hosts("t.a"); ok {
		t.Error("a cut HostsSet wrote")
	}
	for _, m := range []string{"Processes", "Listening", "HostsFiles"} {
		k.FailOn(m, injected, 1)
	}
	if _, err := k.Processes(ctx, "t.a"); !errors.Is(err, injected) {
		t.Errorf("FailOn Processes: %v", err)
	}
}

// TestFakeProcessTranscriptSeeds: the transcript writes processes as the
// commands that start them, and seeding it makes the same processes.
func TestFakeProcessTranscriptSeeds(t *testing.T) {
	k := pair(t)
	p := proc("web", "python3", "-m", "http.server", "80")
	p.Env = []string{"A=b c"}
	p.Hash = state.DeclHash(p.Argv, p.Env, p.Dir)
	got := start(t, k, "t", "a", p)
	k.Fork("t.a", got.Pid, "python3", "worker") // its child: not a line of its own
	k.StartByHand("t.b", "sh", "-c", "sleep 60")
	want := "ip netns exec t.a env -C / NETLAB_PROCESS=t:a:web:" + p.Hash + " A='b c' python3 -m http.server 80 &\n"
	if s := k.String(); !strings.Contains(s, want) || !strings.Contains(s, "ip netns exec t.b sh -c 'sleep 60' &\n") || strings.Contains(s, "worker") {
		t.Errorf("transcript:\n%s\nwant the lines %q and the shell's, not the child's", s, want)
	}
	again := pair(t)
	for line := range strings.Lines(k.String()) {
		if strings.HasSuffix(line, " &\n") {
			again.MustSeed(t, line)
		}
	}
	if diff := cmp.Diff(k.String(), again.String()); diff != "" {
		t.Errorf("seeded transcript differs:\n%s", diff)
	}
	n := observe(t, again, "t", nil).Nodes["a"]
	if n.Procs["web"] == nil || n.Procs["web"].Hash != p.Hash {
		t.Errorf("the seeded process is not node a's web: %+v", n.Procs)
	}
}
