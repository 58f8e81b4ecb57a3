package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/state"
)

// execLab brings up a lab of two nodes, a and b, for exec tests, and
// returns its name; the lab is removed when the test ends.
func execLab(t *testing.T) string {
	t.Helper()
	kerneltest.RequireRoot(t)
	name := kerneltest.LabName(t)
	file := filepath.Join(t.TempDir(), "lab.yaml")
	text := "name: " + name + `
nodes:
  a:
    interfaces:
      nl0: {addresses: [192.0.2.1/24]}
  b:
    interfaces:
      nl0: {addresses: [192.0.2.2/24]}
links:
  - [a:nl0, b:nl0]
`
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	if code := run([]string{"up", file}, strings.NewReader(""), &bytes.Buffer{}, &stderr); code != 0 {
		t.Fatalf("netlab up: exit %d: %s", code, stderr.String())
	}
	return name
}

// netlabExec runs netlab exec --lab LAB NODE -- ARGV... in this process,
// as the binary would, and returns its stdout and exit code.
func netlabExec(t *testing.T, lab, node string, argv ...string) (string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(append([]string{"exec", "--lab", lab, node, "--"}, argv...), strings.NewReader(""), &stdout, &stderr)
	if stderr.Len() > 0 {
		t.Logf("netlab exec %s: stderr: %s", strings.Join(argv, " "), stderr.String())
	}
	return stdout.String(), code
}

// mountsOf returns the lines of /proc/self/mountinfo whose mount point is
// one of roots or lies below one, as seen by this process: the machine's
// mount namespace.
func mountsOf(t *testing.T, roots ...string) []string {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for line := range strings.Lines(string(data)) {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		for _, r := range roots {
			if f[4] == r || strings.HasPrefix(f[4], r+"/") {
				out = append(out, strings.TrimSpace(line))
			}
		}
	}
	return out
}

// TestExecEtcNetNS: a file in /etc/netns/LAB.NODE/ is what a command in
// that node sees at the same name in /etc, as with ip netns exec; a node
// without that directory sees /etc as it is; and afterwards the machine's
// /etc/resolv.conf and its mounts on /etc and /sys are as they were.
func TestExecEtcNetNS(t *testing.T) {
	lab := execLab(t)
	host, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		t.Skipf("this machine has no /etc/resolv.conf to cover: %v", err)
	}
	mountsBefore := mountsOf(t, "/etc", "/sys")
	const nodeResolv = "# written by netlab's TestExecEtcNetNS\nnameserver 192.0.2.53\n"
	kerneltest.EtcNetNSFile(t, state.NetNSName(lab, "a"), "resolv.conf", nodeResolv)

	if got, code := netlabExec(t, lab, "a", "cat", "/etc/resolv.conf"); code != 0 || got != nodeResolv {
		t.Errorf("node a sees /etc/resolv.conf as %q (exit %d), want its own %q", got, code, nodeResolv)
	}
	if got, code := netlabExec(t, lab, "b", "cat", "/etc/resolv.conf"); code != 0 || got != string(host) {
		t.Errorf("node b, with no /etc/netns directory, sees /etc/resolv.conf as %q (exit %d), want the machine's %q", got, code, host)
	}
	if after, err := os.ReadFile("/etc/resolv.conf"); err != nil || !bytes.Equal(after, host) {
		t.Errorf("the machine's /etc/resolv.conf is now %q (%v), want %q as before", after, err, host)
	}
	if after := mountsOf(t, "/etc", "/sys"); !slices.Equal(after, mountsBefore) {
		t.Errorf("the machine's mounts on /etc and /sys changed:\nbefore: %q\nafter:  %q", mountsBefore, after)
	}
}

// TestExecMountsStayInside: a command that mounts something, even under
// a mount point that shares its mounts with other namespaces, does so in
// its own mount namespace only: nothing propagates back to the machine.
func TestExecMountsStayInside(t *testing.T) {
	lab := execLab(t)
	if _, err := exec.LookPath("mount"); err != nil {
		t.Skip("this test needs mount(8) to mount from inside a node")
	}
	// A shared mount point of the test's own: without the launcher's
	// MS_SLAVE, a mount below it would appear here too.
	dir := t.TempDir()
	if err := syscall.Mount(dir, dir, "", syscall.MS_BIND, ""); err != nil {
		t.Fatalf("bind %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("clean up: unmount %s: %v", dir, err)
		}
	})
	if err := syscall.Mount("", dir, "", syscall.MS_SHARED, ""); err != nil {
		t.Fatalf("make %s shared: %v", dir, err)
	}
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	// Should the command's mount leak, it must not outlive the test.
	t.Cleanup(func() { _ = syscall.Unmount(sub, syscall.MNT_DETACH) })

	if _, code := netlabExec(t, lab, "a", "mount", "-t", "tmpfs", "nltest", sub); code != 0 {
		t.Fatalf("mount inside node a: exit %d", code)
	}
	if got := mountsOf(t, sub); len(got) != 0 {
		t.Errorf("a mount made inside node a shows in the machine's mount table: %q", got)
	}
}

// TestExecSignals: while the command runs, a Ctrl-C sent to netlab alone
// is left to the command (a terminal sends it to both), and a SIGTERM is
// passed on: the command ends by it, and exec exits 128+15.
func TestExecSignals(t *testing.T) {
	lab := execLab(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// This test binary is netlab when argv[0] says so (see TestMain).
	c := &exec.Cmd{Path: self, Args: []string{"netlab", "exec", "--lab", lab, "a", "--", "sh", "-c", "echo ready; exec sleep 5"}}
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Process.Kill(); _ = c.Wait() })
	if line, err := bufio.NewReader(out).ReadString('\n'); line != "ready\n" {
		t.Fatalf("the command did not start: %q, %v; stderr: %s", line, err, stderr.String())
	}
	if err := c.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := c.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = c.Wait()
	if got := kernel.ExitStatus(c.ProcessState); got != 128+15 {
		t.Errorf("netlab exec after SIGINT and SIGTERM: exit %d, want %d (the command ended by SIGTERM); stderr: %s", got, 128+15, stderr.String())
	}
}

// startExec starts this test binary as netlab exec --lab LAB NODE -- sh
// -c SCRIPT, in a process of its own so that signals and kills can be
// sent to netlab alone, and waits for the script's first line, which it
// returns with a function that reads what was written on stderr so far.
// stderr is a file, not a pipe, so that Wait does not wait for a command
// that outlives netlab.
func startExec(t *testing.T, lab, node, script string) (*exec.Cmd, string, func() string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	stderrFile, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stderrFile.Close() })
	stderr := func() string {
		data, _ := os.ReadFile(stderrFile.Name())
		return string(data)
	}
	// This test binary is netlab when argv[0] says so (see TestMain).
	c := &exec.Cmd{Path: self, Args: []string{"netlab", "exec", "--lab", lab, node, "--", "sh", "-c", script}, Stderr: stderrFile}
	out, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Process.Kill(); _ = c.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("the command did not start: %q, %v; stderr: %s", line, err, stderr())
	}
	return c, strings.TrimSuffix(line, "\n"), stderr
}

// TestExecPassesSignals: a signal sent to netlab exec reaches the
// command, as it would the command itself under ip netns exec (whose
// process is the command): a program told to reload (SIGHUP), to report
// (SIGUSR1, as dd does) or to stop (SIGTERM) hears it. The command's
// default action ends it here, and exec exits 128+N.
func TestExecPassesSignals(t *testing.T) {
	lab := execLab(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2} {
		t.Run(sig.String(), func(t *testing.T) {
			c, _, stderr := startExec(t, lab, "a", "echo ready; exec sleep 30")
			if err := c.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			_ = c.Wait()
			if got, want := kernel.ExitStatus(c.ProcessState), 128+int(sig); got != want {
				t.Errorf("netlab exec after %v: exit %d, want %d (the command ended by it); stderr: %s", sig, got, want, stderr())
			}
		})
	}
}

// TestExecCommandDiesWithNetlab: killing netlab exec (kill -9, an OOM
// kill) ends the command too, as killing ip netns exec's process does;
// the first release left the command running, orphaned, in the node.
func TestExecCommandDiesWithNetlab(t *testing.T) {
	lab := execLab(t)
	c, line, _ := startExec(t, lab, "a", "echo $$; exec sleep 30")
	pid, err := strconv.Atoi(line)
	if err != nil {
		t.Fatalf("the command printed %q, want its pid", line)
	}
	cmd, err := os.FindProcess(pid)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Kill() })
	if err := c.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = c.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for cmd.Signal(syscall.Signal(0)) == nil {
		// Reaped by init once it is killed; until then it may be a zombie.
		if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil && strings.Contains(string(stat), ") Z ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the command (pid %d) still runs 5s after netlab exec was killed", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestExecEtcNetNSWarning: a file of /etc/netns/LAB.NODE/ with no
// counterpart in /etc cannot be mounted; the command runs anyway, and the
// line that says so reads as a warning, as netlab's other warnings do,
// not as the failure that stopped it.
func TestExecEtcNetNSWarning(t *testing.T) {
	lab := execLab(t)
	const missing = "nltest-not-in-etc"
	if _, err := os.Lstat("/etc/" + missing); err == nil {
		t.Skipf("/etc/%s exists", missing)
	}
	kerneltest.EtcNetNSFile(t, state.NetNSName(lab, "a"), missing, "x\n")
	var stdout, stderr bytes.Buffer
	code := run([]string{"exec", "--lab", lab, "a", "--", "echo", "ran"}, strings.NewReader(""), &stdout, &stderr)
	if code != 0 || stdout.String() != "ran\n" {
		t.Fatalf("exec with an /etc/netns file that cannot be mounted: exit %d, stdout %q, want 0 and the command's output; stderr: %s", code, stdout.String(), stderr.String())
	}
	want := "netlab: warning: node a: bind /etc/netns/" + state.NetNSName(lab, "a") + "/" + missing + " over /etc/" + missing + ": no such file or directory (the command runs without it)\n"
	if stderr.String() != want {
		t.Errorf("stderr = %q, want %q", stderr.String(), want)
	}
}

// TestExecDropsProcessMarker: netlab exec passes its environment on but
// for NETLAB_PROCESS, so that a command started by hand from inside a
// declared process (which carries the marker) is not taken for one, and
// with NETLAB_LAB and NETLAB_NODE of the node it runs the command in,
// not the caller's.
func TestExecDropsProcessMarker(t *testing.T) {
	lab := execLab(t)
	marker := state.ProcessMarker(lab, "a", "web", state.DeclHash([]string{"sleep"}, nil, "/"))
	t.Setenv(state.ProcessEnv, marker)
	t.Setenv("NLTEST_KEPT", "kept")
	t.Setenv("NETLAB_NODE", "b") // the caller's, a declared process of b
	out, code := netlabExec(t, lab, "a", "env")
	if code != 0 {
		t.Fatalf("netlab exec env: exit %d", code)
	}
	env := strings.Split(strings.TrimSpace(out), "\n")
	if slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, state.ProcessEnv+"=") }) {
		t.Errorf("the command got %s: %q", state.ProcessEnv, env)
	}
	if !slices.Contains(env, "NLTEST_KEPT=kept") {
		t.Errorf("the command lost the rest of netlab's environment: %q", env)
	}
	if !slices.Contains(env, "NETLAB_NODE=a") || !slices.Contains(env, "NETLAB_LAB="+lab) || slices.Contains(env, "NETLAB_NODE=b") {
		t.Errorf("the command is not told the node it runs in: %q", env)
	}
}
