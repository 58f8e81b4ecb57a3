package main

import (
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"netlab/lab"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/labfile"
	"netlab/lab/reconcile"
	"netlab/lab/state"
)

// TestProcessesThroughCommands runs a lab with a declared process, and
// one started by hand, through status, logs and down on the fake kernel:
// status lists both (text and JSON), logs prints what the declared one
// wrote, down says it stopped both and removes the logs. The lab is
// brought up by the pipeline, as up does, with its run: entry set in Go.
func TestProcessesThroughCommands(t *testing.T) {
	f := useFakeKernel(t)
	sandbox(t)
	name := kerneltest.LabName(t)
	f.ProcessBehaviour(func(p *state.Process) kerneltest.FakeRun {
		return kerneltest.FakeRun{Output: "serving on port 80\n"}
	})
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
	l.Node("web").Run = []*lab.Process{{Node: "web", Name: "http", Command: []string{"python3", "-m", "http.server", "80"},
		Ready: &lab.Ready{Proto: "tcp", Port: 80}}}
	if _, err := reconcile.Up(context.Background(), f, l, reconcile.Options{RunDir: &runDir}); err != nil {
		t.Fatalf("up: %v", err)
	}
	byHand := f.StartByHand(state.NetNSName(name, "c1"), "sleep", "100")

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
	if http.Node != "web" || http.Name != "http" || http.State != "running" || http.Pid == 0 || !strings.Contains(http.Command, "http.server") {
		t.Errorf("declared process in status -o json: %+v", http)
	}
	if hand.Node != "c1" || hand.Name != "" || hand.Pid != byHand || hand.State != "running" || hand.Command != "sleep 100" {
		t.Errorf("process started by hand in status -o json: %+v (pid %d)", hand, byHand)
	}

	code, stdout, _ = runNetlab("status", "lab.yaml")
	for _, re := range []string{`(?m)^  web +http +\d+ +running +\S+ +.*http\.server 80$`, `(?m)^  c1 +\(by hand\) +\d+ +running +\S+ +sleep 100$`} {
		if code != exitOK || !regexp.MustCompile(re).MatchString(stdout) {
			t.Errorf("status: exit %d, no line matches %s:\n%s", code, re, stdout)
		}
	}

	if code, stdout, stderr := runNetlab("logs", "lab.yaml", "web/http"); code != exitOK || stdout != "serving on port 80\n" {
		t.Errorf("logs web/http: exit %d, stdout %q, stderr %q", code, stdout, stderr)
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
