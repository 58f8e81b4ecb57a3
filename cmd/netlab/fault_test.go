package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/state"
)

// faultStar is a star of n nodes: a host with a bridge and a sysctl, and
// n-1 leaves, each on one veth port of the bridge, with an address and a
// route.
func faultStar(name string, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\nnodes:\n  host:\n    sysctls: {net.ipv4.ip_forward: 1}\n    interfaces:\n", name)
	b.WriteString("      br0: {kind: bridge, addresses: [10.40.0.1/24]}\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "      p%d: {master: br0}\n", i)
	}
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "  n%d:\n    interfaces:\n      eth0: {addresses: [10.40.0.%d/24]}\n", i, 10+i)
		b.WriteString("    routes: [{to: 10.41.0.0/16, via: 10.40.0.1}]\n")
	}
	b.WriteString("links:\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "  - [n%d:eth0, host:p%d]\n", i, i)
	}
	return b.String()
}

// faultStarProcs is faultStar whose first leaves run programs: a sleep
// each (a list command), a shell loop (a string command that stays a
// shell, with a child), and, when python3 is on the machine, a TCP
// listener that up waits for.
func faultStarProcs(name string, n int) string {
	s := faultStar(name, n)
	nodes, links, _ := strings.Cut(s, "links:\n")
	// The leaves are the last nodes written; a run: list goes under each
	// of the first three by rewriting their routes line.
	for i := 1; i <= 3 && i < n; i++ {
		leaf := fmt.Sprintf("  n%d:\n    interfaces:\n      eth0: {addresses: [10.40.0.%d/24]}\n    routes: [{to: 10.41.0.0/16, via: 10.40.0.1}]\n", i, 10+i)
		run := "    run:\n      - {name: sleeper, command: [sleep, \"600\"]}\n"
		switch i {
		case 2:
			run += "      - {name: loop, command: \"while :; do sleep 1; done\"}\n"
		case 3:
			if _, err := exec.LookPath("python3"); err == nil {
				run += "      - name: listener\n        command: [python3, -c, \"import socket,time; s=socket.socket(); s.bind(('10.40.0.13', 8080)); s.listen(); time.sleep(600)\"]\n        ready: {tcp: 8080}\n"
			}
		}
		nodes = strings.Replace(nodes, leaf, leaf+run, 1)
	}
	return nodes + "links:\n" + links
}

// labProcesses counts the processes anywhere on the machine that carry
// the lab's marker, by NODE:NAME (a declared process and its children).
func labProcesses(t *testing.T, lab string) map[string]int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]int)
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil {
			continue // gone, or a kernel thread
		}
		for _, kv := range strings.Split(string(env), "\x00") {
			if rest, ok := strings.CutPrefix(kv, state.ProcessEnv+"="+lab+":"); ok {
				node, rest, _ := strings.Cut(rest, ":")
				name, _, _ := strings.Cut(rest, ":")
				out[node+":"+name]++
			}
		}
	}
	return out
}

// buildNetlab builds the netlab binary into a directory of the test.
func buildNetlab(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the fault test builds netlab and needs go on PATH")
	}
	bin := filepath.Join(t.TempDir(), "netlab")
	start := time.Now()
	if out, err := exec.Command(goBin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("built netlab in %s", time.Since(start).Round(time.Millisecond))
	return bin
}

// netlabRun is one run of the netlab binary.
type netlabRun struct {
	code           int // exit code; -1 when killed by a signal
	signal         syscall.Signal
	stdout, stderr string
}

func (r netlabRun) String() string {
	return fmt.Sprintf("exit %d (signal %v)\nstdout:\n%s\nstderr:\n%s", r.code, r.signal, r.stdout, r.stderr)
}

// netlabCmd prepares the binary with args; env adds to the environment,
// from which any fault setting of the caller's is removed.
func netlabCmd(bin string, env []string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	cmd := exec.Command(bin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NETLAB_FAULT_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	return cmd, &stdout, &stderr
}

func waitRun(cmd *exec.Cmd, stdout, stderr *bytes.Buffer, err error) (netlabRun, error) {
	if err == nil {
		err = cmd.Wait()
	}
	r := netlabRun{stdout: stdout.String(), stderr: stderr.String()}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		return r, err
	}
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	r.code = ws.ExitStatus()
	if ws.Signaled() {
		r.signal = ws.Signal()
	}
	return r, nil
}

// netlab runs the binary with args and returns what it did.
func netlab(t *testing.T, bin string, env []string, args ...string) netlabRun {
	t.Helper()
	cmd, stdout, stderr := netlabCmd(bin, env, args...)
	r, err := waitRun(cmd, stdout, stderr, cmd.Start())
	if err != nil {
		t.Fatalf("netlab %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// mustNetlab runs the binary and requires exit code want.
func mustNetlab(t *testing.T, bin string, want int, args ...string) netlabRun {
	t.Helper()
	r := netlab(t, bin, nil, args...)
	if r.code != want {
		t.Fatalf("netlab %s: want exit %d, got %s", strings.Join(args, " "), want, r)
	}
	return r
}

// labNamespaces lists the lab's namespaces as `ip netns list` shows them.
func labNamespaces(t *testing.T, lab string) []string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "list").CombinedOutput()
	if err != nil {
		t.Fatalf("ip netns list: %v: %s", err, out)
	}
	var ns []string
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], lab+".") {
			ns = append(ns, f[0])
		}
	}
	return ns
}

// writeStar writes a star lab of n nodes named after a new test lab.
func writeStar(t *testing.T, n int) (lab, file string) { return writeLab(t, n, faultStar) }

// writeStarProcs writes faultStarProcs' lab, named after a new test lab.
func writeStarProcs(t *testing.T, n int) (lab, file string) { return writeLab(t, n, faultStarProcs) }

// writeLab writes the lab text(name, n) makes, named after a new test lab.
func writeLab(t *testing.T, n int, text func(name string, n int) string) (lab, file string) {
	t.Helper()
	lab = kerneltest.LabName(t)
	file = filepath.Join(t.TempDir(), lab+".yaml")
	if err := os.WriteFile(file, []byte(text(lab, n)), 0o644); err != nil {
		t.Fatal(err)
	}
	return lab, file
}

// checkStarProcs checks the processes of a faultStarProcs lab: after an
// up, each declared one runs exactly once (a kill between start and
// record never leads to a second start), and after a down none of the
// lab's is left anywhere on the machine.
func checkStarProcs(t *testing.T, lab string, k int, up bool) {
	t.Helper()
	got := labProcesses(t, lab)
	if !up {
		if len(got) > 0 {
			t.Fatalf("k=%d: after down, processes of the lab still run: %v", k, got)
		}
		return
	}
	want := map[string]int{"n1:sleeper": 1, "n2:sleeper": 1, "n3:sleeper": 1}
	if _, err := exec.LookPath("python3"); err == nil {
		want["n3:listener"] = 1
	}
	for p, n := range want {
		if got[p] != n {
			t.Errorf("k=%d: %d processes of %s run, want %d (all: %v)", k, got[p], p, n, got)
		}
	}
	if got["n2:loop"] < 1 || got["n2:loop"] > 2 { // the shell, and its sleep when it has one
		t.Errorf("k=%d: %d processes of n2:loop, want the shell and at most its sleep (all: %v)", k, got["n2:loop"], got)
	}
}

// TestFaultKill kills `netlab up` with SIGKILL right after each of its
// changes in turn, and checks that from every such point a new up
// finishes the lab, a plan then finds nothing to do, and down removes
// every namespace.
func TestFaultKill(t *testing.T) {
	kerneltest.RequireRoot(t)
	bin := buildNetlab(t)
	const nodes = 20

	t.Run("kill_after_every_change", func(t *testing.T) {
		t.Parallel()
		// Count the changes of a fresh plan.
		_, probe := writeStar(t, nodes)
		var out planOut
		r := mustNetlab(t, bin, 0, "plan", "-o", "json", probe)
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
			t.Fatalf("plan -o json: %v\n%s", err, r.stdout)
		}
		total := len(out.Changes)
		if total < 4*nodes {
			t.Fatalf("a fresh plan of %d nodes has only %d changes", nodes, total)
		}

		// Workers share the k's; each has its own lab, and reuses it:
		// kill at k, up, plan, down, next k.
		const workers = 4
		start := time.Now()
		var mu sync.Mutex
		var killed []time.Duration
		for w := range workers {
			t.Run(fmt.Sprintf("worker%d", w), func(t *testing.T) {
				t.Parallel()
				lab, file := writeStar(t, nodes)
				for k := 1 + w; k <= total; k += workers {
					t0 := time.Now()
					faultCycle(t, bin, lab, file, k, out, false)
					mu.Lock()
					killed = append(killed, time.Since(t0))
					mu.Unlock()
					if t.Failed() {
						return
					}
				}
			})
		}
		t.Cleanup(func() {
			var sum time.Duration
			for _, d := range killed {
				sum += d
			}
			if len(killed) > 0 {
				t.Logf("%d kill points of %d changes, %d workers: %s in all, %s per kill-up-plan-down cycle",
					len(killed), total, workers, time.Since(start).Round(time.Millisecond), (sum / time.Duration(len(killed))).Round(time.Millisecond))
			}
		})
	})

	// The same with processes: up is killed after each change, starts of
	// processes among them, and before and during its wait for them.
	t.Run("kill_after_every_change_with_processes", func(t *testing.T) {
		t.Parallel()
		const nodes = 5
		_, probe := writeStarProcs(t, nodes)
		var out planOut
		r := mustNetlab(t, bin, 0, "plan", "-o", "json", probe)
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
			t.Fatalf("plan -o json: %v\n%s", err, r.stdout)
		}
		total, starts := len(out.Changes), strings.Count(r.stdout, `"object": "process"`)
		if starts < 4 {
			t.Fatalf("a fresh plan starts %d processes, want at least 4:\n%s", starts, r.stdout)
		}
		const workers = 2
		for w := range workers {
			t.Run(fmt.Sprintf("worker%d", w), func(t *testing.T) {
				t.Parallel()
				lab, file := writeStarProcs(t, nodes)
				for k := 1 + w; k <= total; k += workers {
					faultCycle(t, bin, lab, file, k, out, true)
					if t.Failed() {
						return
					}
				}
			})
		}
	})

	t.Run("two_ups_at_once", func(t *testing.T) {
		t.Parallel()
		lab, file := writeStar(t, nodes)
		var runs [2]netlabRun
		var cmds [2]*exec.Cmd
		var outs, errs [2]*bytes.Buffer
		startErrs := make([]error, 2)
		for i := range cmds {
			cmds[i], outs[i], errs[i] = netlabCmd(bin, nil, "up", file)
		}
		for i := range cmds {
			startErrs[i] = cmds[i].Start()
		}
		for i := range cmds {
			var err error
			if runs[i], err = waitRun(cmds[i], outs[i], errs[i], startErrs[i]); err != nil {
				t.Fatal(err)
			}
			if runs[i].code != 0 {
				t.Errorf("up %d of 2: %s", i+1, runs[i])
			}
		}
		mustNetlab(t, bin, 0, "plan", "--detailed-exitcode", file)
		waited := 0
		for _, r := range runs {
			if strings.Contains(r.stderr, "waiting for another netlab command on lab") {
				waited++
			}
		}
		t.Logf("%d of the 2 ups waited for the other", waited)
		if changed := strings.Count(runs[0].stdout+runs[1].stdout, "is up:"); changed != 1 {
			t.Errorf("want one up to build the lab and the other to find nothing to do:\n%s\n%s", runs[0].stdout, runs[1].stdout)
		}
		mustNetlab(t, bin, 0, "down", file)
		if ns := labNamespaces(t, lab); len(ns) > 0 {
			t.Errorf("after down: %v", ns)
		}
	})
}

// onlyHostsAfter reports whether every change of the plan after the
// first k writes a hosts file.
func onlyHostsAfter(p planOut, k int) bool {
	for _, c := range p.Changes[k:] {
		if c.Object != "hosts" {
			return false
		}
	}
	return true
}

// faultCycle kills up after change k of total, then requires that the
// plan still has work exactly when k < total, that up and plan converge,
// and that down leaves no namespace. At a few points it also checks that
// down alone cleans up after the kill.
func faultCycle(t *testing.T, bin, lab, file string, k int, fresh planOut, procs bool) {
	t.Helper()
	total := len(fresh.Changes)
	kill := []string{fmt.Sprintf("NETLAB_FAULT_KILL_AFTER=%d", k)}
	r := netlab(t, bin, kill, "up", file)
	if r.signal != syscall.SIGKILL {
		t.Fatalf("k=%d: up was not killed: %s", k, r)
	}
	wantPlan := 2
	if k == total {
		wantPlan = 0 // killed after the last change: nothing left but to verify
	}
	// Changes made together (hosts files) may have finished the rest
	// before the kill: within the last run's width of the end, a plan
	// with nothing left is right too; and so it is when all that is left
	// is hosts files, which up writes while it makes the links.
	together := total-k < kernel.NewLinux().ApplyWorkers() || onlyHostsAfter(fresh, k)
	if r := netlab(t, bin, nil, "plan", "--detailed-exitcode", file); r.code != wantPlan && !(together && r.code == 0) {
		t.Errorf("k=%d: plan after the kill: want exit %d, got %s", k, wantPlan, r)
	}
	if k == 1 || k == total/2 || k == total-1 {
		mustNetlab(t, bin, 0, "down", file)
		if ns := labNamespaces(t, lab); len(ns) > 0 {
			t.Fatalf("k=%d: down right after the kill left %v", k, ns)
		}
		if procs {
			checkStarProcs(t, lab, k, false)
		}
		if r := netlab(t, bin, kill, "up", file); r.signal != syscall.SIGKILL {
			t.Fatalf("k=%d: up was not killed: %s", k, r)
		}
	}
	if r := netlab(t, bin, nil, "up", file); r.code != 0 {
		t.Fatalf("k=%d: up after the kill: %s", k, r)
	}
	if r := netlab(t, bin, nil, "plan", "--detailed-exitcode", file); r.code != 0 {
		t.Fatalf("k=%d: plan after up: want exit 0, got %s", k, r)
	}
	if procs {
		checkStarProcs(t, lab, k, true)
	}
	mustNetlab(t, bin, 0, "down", file)
	if ns := labNamespaces(t, lab); len(ns) > 0 {
		t.Fatalf("k=%d: down left %v", k, ns)
	}
	if procs {
		checkStarProcs(t, lab, k, false)
	}
}
