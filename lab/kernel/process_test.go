package kernel_test

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"netlab/lab/kernel"
	"netlab/lab/state"
)

func TestProcessEnviron(t *testing.T) {
	p := &state.Process{Name: "web", Env: []string{"A=1", "NETLAB_NODE=mine", state.ProcessEnv + "=planted"}, Hash: "0123456789abcdef"}
	got := kernel.ProcessEnviron("l", "n", p, "", "/root")
	want := []string{state.ProcessEnv + "=l:n:web:0123456789abcdef", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "NETLAB_LAB=l",
		"A=1", "NETLAB_NODE=mine"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ProcessEnviron (-want +got):\n%s", diff)
	}
	if got := kernel.ProcessEnviron("l", "n", &state.Process{Name: "x", Hash: "0123456789abcdef"}, "/bin", ""); got[1] != "PATH=/bin" || slices.ContainsFunc(got, func(s string) bool { return s[:5] == "HOME=" }) {
		t.Errorf("netlab's PATH, no HOME: %q", got)
	}
}

func TestHandEnviron(t *testing.T) {
	got := kernel.HandEnviron([]string{"A=1", state.ProcessEnv + "=l:n:p:0123456789abcdef", "B=" + state.ProcessEnv}, "l", "m")
	if !slices.Equal(got, []string{"A=1", "B=" + state.ProcessEnv, "NETLAB_LAB=l", "NETLAB_NODE=m"}) {
		t.Errorf("HandEnviron = %q", got)
	}
}

// TestHandEnvironNamesTheTargetNode: netlab exec run from inside a
// declared process of node n (which has NETLAB_LAB and NETLAB_NODE of
// n) into node m of another lab tells the command where it runs, not
// where its caller ran.
func TestHandEnvironNamesTheTargetNode(t *testing.T) {
	caller := kernel.ProcessEnviron("l", "n", &state.Process{Name: "x", Hash: "0123456789abcdef"}, "/bin", "")
	got := kernel.HandEnviron(caller, "other", "m")
	want := []string{"PATH=/bin", "NETLAB_LAB=other", "NETLAB_NODE=m"}
	if !slices.Equal(got, want) {
		t.Errorf("HandEnviron = %q, want %q", got, want)
	}
}

// TestNodeProcesses: the process of a name is the oldest root that
// carries the node's marker; its children are not listed; everything
// without this node's valid marker is an other.
func TestNodeProcesses(t *testing.T) {
	m := state.ProcessMarker("l", "n", "web", "0123456789abcdef")
	at := time.Unix(1000, 0)
	procs := []kernel.ProcessInfo{
		{Pid: 30, PPid: 1, Start: 300, Marker: m, Command: []string{"younger"}},
		{Pid: 20, PPid: 1, Start: 200, Marker: m, Command: []string{"web"}, StartedAt: at},
		{Pid: 21, PPid: 20, Start: 100, Marker: m, Command: []string{"child"}}, // older than its parent? a pid's start is its own
		{Pid: 40, PPid: 1, Start: 50, Marker: state.ProcessMarker("l", "other", "web", "0123456789abcdef"), Command: []string{"elsewhere"}},
		{Pid: 50, PPid: 1, Start: 60, Command: []string{"sh"}},
	}
	named, others := kernel.NodeProcesses("l", "n", procs)
	want := map[string]*state.Process{"web": {Name: "web", Argv: []string{"web"}, Hash: "0123456789abcdef", Pid: 20, Start: 200, StartedAt: at, PPid: 1}}
	if diff := cmp.Diff(want, named); diff != "" {
		t.Errorf("named (-want +got):\n%s", diff)
	}
	var pids []int
	for _, o := range others {
		pids = append(pids, o.Pid)
	}
	if !slices.Equal(pids, []int{40, 50}) {
		t.Errorf("others = %v, want [40 50]", pids)
	}
	if procs[0].Pid != 30 {
		t.Error("NodeProcesses reordered its argument")
	}
}

// A child that a declared process forked and that then set its own title
// (nginx's workers, perl's $0) has lost the marker, but is the declared
// process's all the same: not one started by hand. A child of a process
// started by hand stays one.
func TestNodeProcessesHidesRetitledChildren(t *testing.T) {
	m := state.ProcessMarker("l", "n", "web", "0123456789abcdef")
	procs := []kernel.ProcessInfo{
		{Pid: 20, PPid: 1, Start: 200, Marker: m, Command: []string{"web"}},
		{Pid: 21, PPid: 20, Start: 210, Command: []string{"worker retitled"}},
		{Pid: 22, PPid: 21, Start: 220, Command: []string{"its child"}},
		{Pid: 50, PPid: 1, Start: 60, Command: []string{"sh"}},
		{Pid: 51, PPid: 50, Start: 70, Command: []string{"sleep"}},
		{Pid: 60, PPid: 61, Start: 80, Command: []string{"loop a"}}, // a listing that loops ends
		{Pid: 61, PPid: 60, Start: 90, Command: []string{"loop b"}},
	}
	named, others := kernel.NodeProcesses("l", "n", procs)
	if named["web"] == nil || named["web"].Pid != 20 {
		t.Fatalf("named = %+v, want web = 20", named)
	}
	var pids []int
	for _, o := range others {
		pids = append(pids, o.Pid)
	}
	if !slices.Equal(pids, []int{50, 51, 60, 61}) {
		t.Errorf("others = %v, want [50 51 60 61]: the retitled descendants of web are web's", pids)
	}
}
