package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"netlab/lab/kernel/kerneltest"
	"netlab/lab/state"
)

// twoNodeLab is lab NAME: c and d on one veth.
func twoNodeLab(name string) string {
	return "name: " + name + `
nodes:
  c:
    interfaces:
      eth0: {addresses: [192.0.2.1/24]}
  d:
    interfaces:
      eth0: {addresses: [192.0.2.2/24]}
links:
  - [c:eth0, d:eth0]
`
}

// TestNodeOfTheFileNotRunning: a node the lab file has, whose namespace
// is gone (deleted by hand, an up that did not finish), is not running:
// trace and conntrack say so and how to fix it (exit 1), rather than
// that the lab has no such node (conntrack said it as bad usage, 64).
func TestNodeOfTheFileNotRunning(t *testing.T) {
	f := useFakeKernel(t)
	sandbox(t)
	name := kerneltest.LabName(t)
	if err := os.WriteFile("lab.yaml", []byte(twoNodeLab(name)), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runNetlab("up", "lab.yaml"); code != exitOK {
		t.Fatalf("up: exit %d: %s", code, stderr)
	}
	if err := f.NetNSDel(context.Background(), state.NetNSName(name, "c")); err != nil {
		t.Fatal(err)
	}
	want := "node c of lab " + name + " is not running: its namespace " + name + ".c is gone; netlab up brings it back"
	for _, args := range [][]string{
		{"conntrack", "lab.yaml", "c"},
		{"conntrack", "--lab", name, "c", "--flush"},
		{"trace", "lab.yaml", "c", "d"},
		{"trace", "lab.yaml", "d", "c", "--proto", "udp"},
		{"trace", "--lab", name, "d", "c"},
	} {
		code, _, stderr := runNetlab(args...)
		if code != exitFailure || !strings.Contains(stderr, want) {
			t.Errorf("netlab %s: exit %d, %q; want exit 1 and %q", strings.Join(args, " "), code, stderr, want)
		}
	}
	if n := f.Calls("Conntrack") + f.Calls("ConntrackFlush"); n != 0 {
		t.Errorf("the kernel's conntrack was asked %d time(s)", n)
	}
}

// TestProbesOfTwoNetlabsTakeTurns, as root: a trace whose UDP probe b
// drops holds b's responder on udp/7 for its whole timeout; a second
// trace and a check to the same port, started meanwhile, used to fail
// with "address already in use" once the responder's one-second retry
// ran out. Now the second and third wait for the first (the lab's probe
// lock) and each gives its own answer.
func TestProbesOfTwoNetlabsTakeTurns(t *testing.T) {
	kerneltest.RequireRoot(t)
	sandbox(t)
	name := kerneltest.LabName(t)
	text := twoNodeLab(name) + `checks:
  - {from: c, to: d, proto: udp, expect: fail, dropped-at: d}
`
	text = strings.Replace(text, "      eth0: {addresses: [192.0.2.2/24]}\n",
		"      eth0: {addresses: [192.0.2.2/24]}\n    firewall:\n      input:\n        rules:\n          - {action: drop, proto: udp, dport: 7}\n", 1)
	if err := os.WriteFile("lab.yaml", []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runNetlab("up", "lab.yaml"); code != exitOK {
		t.Fatalf("up: exit %d: %s", code, stderr)
	}
	type ran struct {
		code           int
		stdout, stderr string
	}
	runs := [][]string{
		{"trace", "lab.yaml", "c", "d", "--proto", "udp", "--timeout", "2s", "-o", "json"},
		{"trace", "lab.yaml", "c", "d", "--proto", "udp", "--timeout", "1s", "-o", "json"},
		{"check", "lab.yaml"},
	}
	out := make([]ran, len(runs))
	var wg sync.WaitGroup
	// Each starts once the one before holds the probe lock (its file
	// exists only while held), not after a fixed pause: on a loaded
	// machine a trace takes more than a few hundred milliseconds to
	// read the lab before it probes.
	lockFile := filepath.Join(runDir.Path(), name+".probes.lock")
	for i, args := range runs {
		if i > 0 {
			waitForFile(t, lockFile, 10*time.Second)
			time.Sleep(100 * time.Millisecond) // the one before is probing, not only locked
		}
		wg.Go(func() {
			code, stdout, stderr := runNetlab(args...)
			out[i] = ran{code, stdout, stderr}
		})
	}
	wg.Wait()
	for i, r := range out[:2] {
		var res struct {
			Path struct {
				DroppedAt string `json:"dropped_at"`
			} `json:"path"`
		}
		if r.code != exitOK || json.Unmarshal([]byte(r.stdout), &res) != nil || res.Path.DroppedAt != "d" {
			t.Errorf("netlab %s: exit %d, path %+v, stderr %q", strings.Join(runs[i], " "), r.code, res.Path, r.stderr)
		}
	}
	if !strings.Contains(out[1].stderr, "waiting for another netlab's probes on lab") {
		t.Errorf("the second trace did not say it waits: %q", out[1].stderr)
	}
	if r := out[2]; r.code != exitOK || !strings.Contains(r.stdout, "1 passed, 0 failed") {
		t.Errorf("netlab check: exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// waitForFile waits up to limit for path to exist.
func waitForFile(t *testing.T, path string, limit time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if _, err := os.Lstat(path); err == nil {
			return
		}
	}
	t.Fatalf("%s did not appear within %s", path, limit)
}

// TestDownRemovesALeftProbeLock: the probe lock file that a trace killed
// with kill -9 leaves in the run directory goes with the lab's down.
func TestDownRemovesALeftProbeLock(t *testing.T) {
	useFakeKernel(t)
	sandbox(t)
	name := kerneltest.LabName(t)
	if err := os.WriteFile("lab.yaml", []byte(twoNodeLab(name)), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runNetlab("up", "lab.yaml"); code != exitOK {
		t.Fatalf("up: exit %d: %s", code, stderr)
	}
	file := filepath.Join(runDir.Path(), name+".probes.lock")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runNetlab("down", "lab.yaml"); code != exitOK {
		t.Fatalf("down: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(file); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after down, the probe lock file: %v", err)
	}
}

// TestFileWithoutItsArguments: a lab file given with one argument too
// few is named as the file it is, not refused as a node name ("node name
// "lab.yaml" is 8 characters..."), by every command that takes [FILE]
// and arguments.
func TestFileWithoutItsArguments(t *testing.T) {
	sandbox(t)
	for _, args := range [][]string{
		{"trace", "lab.yaml", "c"},
		{"trace", "./lab.yml", "c"},
		{"conntrack", "lab.yaml"},
		{"ping", "lab.yaml", "c"},
		{"capture", "labs/x.yaml"},
	} {
		code, _, stderr := runNetlab(args...)
		want := "the lab file " + args[1] + " is given without"
		if code != exitUsage || !strings.Contains(stderr, want) {
			t.Errorf("netlab %s: exit %d, %q; want exit 64 and %q", strings.Join(args, " "), code, stderr, want)
		}
	}
}
