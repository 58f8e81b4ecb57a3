package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"netlab/lab"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/labfile"
	"netlab/lab/reconcile"
	"netlab/lab/state"
)

// TestProcessesThroughCommands runs a lab with a declared process, and
// one started by hand, through status, logs and down, on the fake kernel
// and, as root, on the machine's: status lists both (text and JSON), logs
// prints what the declared one wrote, down says it stopped both and
// removes the logs. The lab is brought up by the pipeline, as up does,
// with its run: entry set in Go.
func TestProcessesThroughCommands(t *testing.T) {
	t.Run("fake", func(t *testing.T) {
		f := useFakeKernel(t)
		f.ProcessBehaviour(func(p *state.Process) kerneltest.FakeRun {
			return kerneltest.FakeRun{Output: "serving on port 80\n"}
		})
		testProcessesThroughCommands(t, func(netns string) int { return f.StartByHand(netns, "sleep", "100") })
	})
	t.Run("linux", func(t *testing.T) {
		kerneltest.RequireRoot(t)
		testProcessesThroughCommands(t, func(netns string) int {
			// As a user does, with ip(8); the shell exits at once, so the
			// sleep is nobody's child here, as after exec ... &.
			out, err := exec.Command("ip", "netns", "exec", netns, "sh", "-c", "sleep 100 </dev/null >/dev/null 2>&1 & echo $!").Output()
			if err != nil {
				t.Fatal(err)
			}
			pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
			if err != nil {
				t.Fatal(err)
			}
			return pid
		})
	})
}

func testProcessesThroughCommands(t *testing.T, startByHand func(netns string) int) {
	sandbox(t)
	name := kerneltest.LabName(t)
	text := "name: " + name + `
nodes:
  web:
    interfaces:
      eth0: {addresses: [192.0.2.1/24]}
  c1:
    interfaces:
      eth0: {addresses: [192.0.2.2/24]}
links:
  - [web:eth0, c1:eth0]
`
	if err := os.WriteFile("lab.yaml", []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	l, diags := labfile.Parse("lab.yaml", []byte(text))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	l.Node("web").Run = []*lab.Process{{Node: "web", Name: "http", Shell: true, Command: []string{"echo serving on port 80; exec sleep 1000"}}}
	k := newKernel()
	defer k.Close()
	t.Cleanup(func() { runNetlab("down", "--lab", name) })
	if _, err := reconcile.Up(context.Background(), k, l, reconcile.Options{RunDir: &runDir}); err != nil {
		t.Fatalf("up: %v", err)
	}
	byHand := startByHand(state.NetNSName(name, "c1"))

	code, stdout, stderr := runNetlab("status", "lab.yaml", "-o", "json")
	if code != exitOK {
		t.Fatalf("status -o json: exit %d: %s", code, stderr)
	}
	var st struct{ Processes []processStatus }
	if err := json.Unmarshal([]byte(stdout), &st); err != nil {
		t.Fatalf("status -o json: %v\n%s", err, stdout)
	}
	if len(st.Processes) != 2 {
		t.Fatalf("status -o json lists %d processes, want 2: %+v", len(st.Processes), st.Processes)
	}
	var http, hand processStatus
	for _, p := range st.Processes {
		if p.ByHand {
			hand = p
		} else {
			http = p
		}
	}
	if http.Node != "web" || http.Name != "http" || http.State != "running" || http.Pid == 0 || !strings.Contains(http.Command, "sleep 1000") {
		t.Errorf("declared process in status -o json: %+v", http)
	}
	if hand.Node != "c1" || hand.Name != "" || hand.Pid != byHand || hand.State != "running" || hand.Command != "sleep 100" {
		t.Errorf("process started by hand in status -o json: %+v (pid %d)", hand, byHand)
	}

	code, stdout, _ = runNetlab("status", "lab.yaml")
	for _, re := range []string{`(?m)^  web +http +\d+ +running +\S+ +.*exec sleep 1000$`, `(?m)^  c1 +\(by hand\) +\d+ +running +\S+ +sleep 100$`} {
		if code != exitOK || !regexp.MustCompile(re).MatchString(stdout) {
			t.Errorf("status: exit %d, no line matches %s:\n%s", code, re, stdout)
		}
	}

	// The process writes its line when it has started, not before up
	// returns: on the machine's kernel, wait for it.
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, stdout, stderr := runNetlab("logs", "lab.yaml", "web/http")
		if code == exitOK && stdout == "serving on port 80\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("logs web/http: exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	code, stdout, stderr = runNetlab("down", "lab.yaml")
	want := regexp.MustCompile(`(?m)^Stopped 2 process\(es\): (web/http \(pid \d+\), c1 pid \d+ \(sleep 100, started by hand\)|c1 pid \d+ \(sleep 100, started by hand\), web/http \(pid \d+\))\.$`)
	if code != exitOK || !want.MatchString(stdout) {
		t.Errorf("down: exit %d, stdout %q, stderr %q; want a line matching %s", code, stdout, stderr, want)
	}
	entries, err := os.ReadDir(runDir.Path())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".log") {
			t.Errorf("down left %s in the run directory", e.Name())
		}
	}
}
