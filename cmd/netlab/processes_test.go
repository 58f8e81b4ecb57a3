package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"netlab/lab/reconcile"
	"netlab/lab/state"
)

// someProcesses are a lab's processes in every state status shows.
func someProcesses() []reconcile.ProcessStatus {
	one := 1
	return []reconcile.ProcessStatus{
		{Node: "web", Name: "http", Pid: 1234, State: "running", Uptime: 192 * time.Second, Command: "python3 -m http.server 80"},
		{Node: "web", Name: "db", State: "exited 1", Exit: &one, Command: "/bin/sh -c " + strings.Repeat("x", 80)},
		{Node: "web", Name: "cron", State: "exited", Command: "crond -f"},
		{Node: "c1", Name: "dns", State: "not started", Command: "dnsmasq -k"},
		{Node: "c1", Pid: 1240, State: "running", Uptime: 10 * time.Second, Command: "sleep 100"},
	}
}

// TestStatusProcessesText: one line a process, "(by hand)" for one
// started by hand, "-" for the pid and uptime of one not running, a long
// command cut.
func TestStatusProcessesText(t *testing.T) {
	var b bytes.Buffer
	writeProcesses(&b, someProcesses())
	want := `
processes
  NODE  PROCESS    PID   STATE        UPTIME  COMMAND
  web   http       1234  running      3m12s   python3 -m http.server 80
  web   db         -     exited 1     -       /bin/sh -c ` + strings.Repeat("x", 46) + `...
  web   cron       -     exited       -       crond -f
  c1    dns        -     not started  -       dnsmasq -k
  c1    (by hand)  1240  running      10s     sleep 100
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("processes section (-want +got):\n%s", diff)
	}
	b.Reset()
	writeProcesses(&b, nil)
	if b.Len() != 0 {
		t.Errorf("a lab without processes prints %q, want nothing", b.String())
	}
}

// TestStatusProcessesJSON pins the shape of status -o json's processes.
func TestStatusProcessesJSON(t *testing.T) {
	data, err := json.Marshal(statusJSON(state.New("lab1"), someProcesses()[:2], nil))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"lab":"lab1","nodes":[],"processes":[` +
		`{"node":"web","name":"http","by_hand":false,"pid":1234,"state":"running","uptime_s":192,"command":"python3 -m http.server 80"},` +
		`{"node":"web","name":"db","by_hand":false,"pid":0,"state":"exited 1","exit":1,"uptime_s":0,"command":"/bin/sh -c ` + strings.Repeat("x", 80) + `"}]}`
	if diff := cmp.Diff(want, string(data)); diff != "" {
		t.Errorf("status -o json (-want +got):\n%s", diff)
	}
	data, _ = json.Marshal(statusJSON(state.New("lab1"), nil, nil))
	if !strings.Contains(string(data), `"processes":[]`) {
		t.Errorf("no processes is not an empty array: %s", data)
	}
}

// TestDownStoppedText: down names each process it stopped, the ones
// started by hand by their command, and counts those that needed SIGKILL.
func TestDownStoppedText(t *testing.T) {
	got := stoppedText([]reconcile.StoppedProcess{
		{Node: "web", Name: "http", Pid: 1234, Command: []string{"python3", "-m", "http.server"}},
		{Node: "web", Name: "db", Pid: 1235, Command: []string{"db"}, Killed: true},
		{Node: "c1", Pid: 1240, Command: []string{"sleep", "100"}},
	})
	want := "Stopped 3 process(es): web/http (pid 1234), web/db (pid 1235, needed SIGKILL), " +
		"c1 pid 1240 (sleep 100, started by hand); 1 needed SIGKILL (SIGTERM did not end it in time)."
	if got != want {
		t.Errorf("stoppedText:\n got %q\nwant %q", got, want)
	}
	data, _ := json.Marshal(stoppedJSON([]reconcile.StoppedProcess{{Node: "c1", Pid: 1240, Command: []string{"sleep", "100"}, Killed: true}}))
	if want := `[{"node":"c1","name":"","by_hand":true,"pid":1240,"command":["sleep","100"],"killed":true}]`; string(data) != want {
		t.Errorf("stoppedJSON: %s, want %s", data, want)
	}
}
