package kernel_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/state"
)

// launchNode makes a bare namespace named as a node's, LAB.n1, with a
// veth pair nltv0-nltv1 in it, removed with the lab when the test ends.
func launchNode(t *testing.T) string {
	t.Helper()
	kerneltest.RequireRoot(t)
	netnsName := state.NetNSName(kerneltest.LabName(t), "n1")
	ipCmd(t, "netns", "add", netnsName)
	ipCmd(t, "-n", netnsName, "link", "add", "nltv0", "type", "veth", "peer", "name", "nltv1")
	return netnsName
}

// launch runs l to its end and returns its stdout, stderr and exit code.
func launch(t *testing.T, l kernel.Launch) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	l.Stdout, l.Stderr = &out, &errOut
	c, err := l.Command()
	if err != nil {
		t.Fatalf("Launch.Command: %v", err)
	}
	err = c.Run()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("run the launcher: %v", err)
	}
	return out.String(), errOut.String(), kernel.ExitStatus(c.ProcessState)
}

// TestLaunchEnvDirStdio: the launcher runs the command in the node, with
// the environment, working directory and standard streams it was given;
// with no environment, netlab's own.
func TestLaunchEnvDirStdio(t *testing.T) {
	netnsName := launchNode(t)
	dir := t.TempDir()
	out, errOut, code := launch(t, kernel.Launch{
		NetNS: netnsName,
		Argv:  []string{"sh", "-c", `echo "$NLTEST_VAR"; pwd; ls /sys/class/net; cat; echo oops >&2`},
		Env:   []string{"PATH=/usr/bin:/bin", "NLTEST_VAR=from the launch"},
		Dir:   dir,
		Stdin: strings.NewReader("from stdin\n"),
	})
	want := "from the launch\n" + dir + "\nlo\nnltv0\nnltv1\nfrom stdin\n"
	if out != want || errOut != "oops\n" || code != 0 {
		t.Errorf("launch: stdout %q, stderr %q, exit %d; want %q, %q, 0", out, errOut, code, want, "oops\n")
	}

	t.Setenv("NLTEST_VAR", "netlab's own")
	out, _, _ = launch(t, kernel.Launch{NetNS: netnsName, Argv: []string{"sh", "-c", `echo "$NLTEST_VAR"`}})
	if out != "netlab's own\n" {
		t.Errorf("launch with no Env: the command sees NLTEST_VAR=%q, want netlab's own", out)
	}
}

// TestLaunchPathFromEnv: the command is looked up in the PATH of the
// environment it is given, relative to the directory it is given.
func TestLaunchPathFromEnv(t *testing.T) {
	netnsName := launchNode(t)
	bin := t.TempDir()
	script := filepath.Join(bin, "nltest-hello")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho hello from $0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := launch(t, kernel.Launch{NetNS: netnsName, Argv: []string{"nltest-hello"}, Env: []string{"PATH=/nonexistent:" + bin}})
	if out != "hello from "+script+"\n" || code != 0 {
		t.Errorf("PATH lookup: stdout %q, stderr %q, exit %d; want it to find %s", out, errOut, code, script)
	}
	out, errOut, code = launch(t, kernel.Launch{NetNS: netnsName, Argv: []string{"./nltest-hello"}, Dir: bin, Env: []string{"PATH=/bin"}})
	if out != "hello from ./nltest-hello\n" || code != 0 {
		t.Errorf("path relative to Dir: stdout %q, stderr %q, exit %d", out, errOut, code)
	}
}

// TestLaunchRefuses: a namespace that is not there, or a name that is not
// a node's, fails with netlab's message, and nothing runs.
// It needs no root: the launcher looks the namespace up before it
// enters it, so a user sees the same refusal.
func TestLaunchRefuses(t *testing.T) {
	gone := state.NetNSName(kerneltest.LabName(t), "gone")
	_, errOut, code := launch(t, kernel.Launch{NetNS: gone, Argv: []string{"true"}})
	if code != 1 || !strings.Contains(errOut, "netlab: node gone: not running") {
		t.Errorf("launch in a missing namespace: exit %d, stderr %q; want 1 and \"not running\"", code, errOut)
	}
	for _, bad := range []string{"", "nodot", "../x.y", "a.b.c", "A.b", "a./b"} {
		if _, err := (kernel.Launch{NetNS: bad, Argv: []string{"true"}}).Command(); err == nil {
			t.Errorf("Launch{NetNS: %q}.Command() = nil error, want a refusal", bad)
		}
	}
}

// TestLaunchWorkingDirIsTheNodes: a command started from a working
// directory below /sys sees the node's /sys there too, as it does by the
// absolute path: the launcher enters its working directory again, by
// name, once the node's sysfs is mounted. (ip netns exec keeps the old
// directory, so `cd /sys/class/net; ip netns exec N ls` lists the
// machine's interfaces.) A directory the node does not have is an error,
// not the machine's directory.
func TestLaunchWorkingDirIsTheNodes(t *testing.T) {
	netnsName := launchNode(t)
	// fromDir runs argv with the launcher started in dir, as netlab exec
	// run from there starts it.
	fromDir := func(dir string, argv ...string) (string, string, int) {
		var out, errOut bytes.Buffer
		c, err := kernel.Launch{NetNS: netnsName, Argv: argv, Stdout: &out, Stderr: &errOut}.Command()
		if err != nil {
			t.Fatal(err)
		}
		c.Dir = dir
		_ = c.Run()
		return out.String(), errOut.String(), kernel.ExitStatus(c.ProcessState)
	}
	if out, errOut, code := fromDir("/sys/class/net", "ls"); code != 0 || out != "lo\nnltv0\nnltv1\n" {
		t.Errorf("ls from /sys/class/net: %q, exit %d, want the node's interfaces; stderr %q", out, code, errOut)
	}
	var machine string // an interface of the machine's that the node lacks
	entries, _ := os.ReadDir("/sys/class/net")
	for _, e := range entries {
		if e.Name() != "lo" && !strings.HasPrefix(e.Name(), "nltv") {
			machine = e.Name()
			break
		}
	}
	if machine == "" {
		t.Skip("the machine has no interface but lo")
	}
	dir := "/sys/class/net/" + machine
	if out, errOut, code := fromDir(dir, "pwd"); code != 1 || !strings.Contains(errOut, "working directory "+dir) {
		t.Errorf("pwd from the machine's %s: %q, exit %d, stderr %q; want exit 1 and the directory named", dir, out, code, errOut)
	}
}
