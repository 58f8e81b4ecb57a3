package apply_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"netlab/lab/apply"
	"netlab/lab/name"
	"netlab/lab/rundir"
	"netlab/lab/state"
)

const hashA = "0123456789abcdef"

// observedNode is an observed state of lab l, node n, with the given
// named processes and others.
func observedNode(procs map[string]*state.Process, others ...*state.Process) *state.State {
	s := state.New("l")
	n := state.NewNode("n", state.NetNSName("l", "n"))
	for k, v := range procs {
		n.Procs[k] = v
	}
	n.Others = others
	s.Nodes["n"] = n
	return s
}

func otherPids(n *state.Node) []int {
	var out []int
	for _, o := range n.Others {
		out = append(out, o.Pid)
	}
	return out
}

// TestAdopt: a process started by hand whose pid and start time are a
// started entry's becomes that declared process, with the entry's hash,
// and its descendants leave Others; one whose start time differs (a
// recycled pid) does not; an entry of another node adopts nothing here.
func TestAdopt(t *testing.T) {
	s := observedNode(nil,
		&state.Process{Pid: 10, PPid: 1, Start: 100, Argv: []string{"AAAA"}},
		&state.Process{Pid: 11, PPid: 10, Start: 110, Argv: []string{"worker"}},
		&state.Process{Pid: 12, PPid: 11, Start: 120, Argv: []string{"its child"}},
		&state.Process{Pid: 20, PPid: 1, Start: 999, Argv: []string{"recycled"}},
		&state.Process{Pid: 30, PPid: 1, Start: 300, Argv: []string{"by hand"}},
	)
	apply.Adopt(s, []apply.StartedProc{
		{Node: "n", Name: "web", Hash: hashA, Pid: 10, Start: 100},
		{Node: "n", Name: "db", Hash: hashA, Pid: 20, Start: 200},
		{Node: "m", Name: "x", Hash: hashA, Pid: 30, Start: 300},
	})
	n := s.Nodes["n"]
	if p := n.Procs["web"]; p == nil || p.Pid != 10 || p.Hash != hashA || p.Argv[0] != "AAAA" {
		t.Errorf("web = %+v, want pid 10 adopted", p)
	}
	if n.Procs["db"] != nil || n.Procs["x"] != nil {
		t.Errorf("adopted a recycled pid or another node's entry: %v", n.Procs)
	}
	if got := fmt.Sprint(otherPids(n)); got != "[20 30]" {
		t.Errorf("others = %s, want [20 30]", got)
	}
	apply.Adopt(s, []apply.StartedProc{{Node: "n", Name: "web", Hash: hashA, Pid: 10, Start: 100}})
	if len(n.Procs) != 1 || len(n.Others) != 2 {
		t.Errorf("a second Adopt changed %+v", n)
	}
}

// TestAdoptMarkerWins: a name that a marked process holds keeps it; the
// entry's process stays started by hand. Unless the marked one descends
// from it: a child of the retitled process that exec'd a program, which
// got the environment and the marker back, is its child, not it.
func TestAdoptMarkerWins(t *testing.T) {
	marked := &state.Process{Name: "web", Hash: hashA, Pid: 40, PPid: 1, Start: 400}
	s := observedNode(map[string]*state.Process{"web": marked}, &state.Process{Pid: 10, PPid: 1, Start: 100})
	apply.Adopt(s, []apply.StartedProc{{Node: "n", Name: "web", Hash: hashA, Pid: 10, Start: 100}})
	if n := s.Nodes["n"]; n.Procs["web"] != marked || len(n.Others) != 1 {
		t.Errorf("the marker lost: web %+v, others %v", n.Procs["web"], otherPids(n))
	}

	child := &state.Process{Name: "web", Hash: hashA, Pid: 41, PPid: 11, Start: 410}
	s = observedNode(map[string]*state.Process{"web": child},
		&state.Process{Pid: 10, PPid: 1, Start: 100}, &state.Process{Pid: 11, PPid: 10, Start: 110})
	apply.Adopt(s, []apply.StartedProc{{Node: "n", Name: "web", Hash: hashA, Pid: 10, Start: 100}})
	if n := s.Nodes["n"]; n.Procs["web"].Pid != 10 || len(n.Others) != 0 {
		t.Errorf("web %+v, others %v; want the retitled parent 10, and its descendants none of others", n.Procs["web"], otherPids(n))
	}
}

// TestStartedRecordHostile: a started record netlab could not have
// written (not JSON, a name that no validator passes, a bad hash, no pid,
// one node and name twice, too many entries, a link) is ignored whole,
// so that it adopts nothing.
func TestStartedRecordHostile(t *testing.T) {
	good := apply.StartedProc{Node: "n", Name: "web", Hash: hashA, Pid: 10, Start: 100}
	entries := func(es ...apply.StartedProc) string {
		data, _ := json.Marshal(es)
		return string(data)
	}
	with := func(f func(e *apply.StartedProc)) apply.StartedProc { e := good; f(&e); return e }
	many := make([]apply.StartedProc, 5000)
	for i := range many {
		many[i] = with(func(e *apply.StartedProc) { e.Name = fmt.Sprintf("p%d", i) })
	}
	for what, content := range map[string]string{
		"not JSON":     "{",
		"a node ../x":  entries(good, with(func(e *apply.StartedProc) { e.Node = "../x" })),
		"a name A:B":   entries(good, with(func(e *apply.StartedProc) { e.Name = "A:B" })),
		"a bad hash":   entries(good, with(func(e *apply.StartedProc) { e.Name, e.Hash = "db", "x" })),
		"pid 0":        entries(good, with(func(e *apply.StartedProc) { e.Name, e.Pid = "db", 0 })),
		"start 0":      entries(good, with(func(e *apply.StartedProc) { e.Name, e.Start = "db", 0 })),
		"a huge pid":   entries(good, with(func(e *apply.StartedProc) { e.Name, e.Pid = "db", 1<<40 })),
		"twice":        entries(good, good),
		"too many":     entries(many...),
		"not an array": `{"node":"n"}`,
	} {
		dir := rundir.At(t.TempDir())
		lab, _ := name.Parse("lab", "l")
		if err := dir.Write(lab, rundir.Started, []byte(content)); err != nil {
			t.Fatal(err)
		}
		got := apply.LoadStarted(dir, "l")
		s := observedNode(nil, &state.Process{Pid: 10, PPid: 1, Start: 100})
		apply.Adopt(s, got)
		if got != nil || len(s.Nodes["n"].Procs) != 0 {
			t.Errorf("%s: loaded %v, adopted %v; want the record ignored", what, got, s.Nodes["n"].Procs)
		}
	}

	// A link planted as the record is not followed.
	base := t.TempDir()
	real := filepath.Join(base, "elsewhere.json")
	if err := os.WriteFile(real, []byte(entries(good)), 0o600); err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(base, "run")
	if err := os.Mkdir(run, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, filepath.Join(run, "l.started.json")); err != nil {
		t.Fatal(err)
	}
	if got := apply.LoadStarted(rundir.At(run), "l"); got != nil {
		t.Errorf("read the record through a link: %v", got)
	}
	// A bad lab name reads nothing.
	if got := apply.LoadStarted(rundir.At(run), "../l"); got != nil || strings.Contains(fmt.Sprint(got), "web") {
		t.Errorf("a bad lab name read %v", got)
	}
}

// TestStartedRecordKeepsTheLatest: the record keeps one entry per node
// and name, the latest, and forgets the processes the lab no longer
// declares.
func TestStartedRecordKeepsTheLatest(t *testing.T) {
	dir := rundir.At(t.TempDir())
	desired := state.New("l")
	n := state.NewNode("n", state.NetNSName("l", "n"))
	n.Procs["web"] = &state.Process{Name: "web", Hash: hashA}
	n.Procs["db"] = &state.Process{Name: "db", Hash: hashA}
	desired.Nodes["n"] = n
	record := apply.LoadStartedRecord(&dir, desired)
	start := func(name string, pid int) {
		t.Helper()
		if err := record.Record(apply.Started{Node: "n", Proc: &state.Process{Name: name, Hash: hashA, Pid: pid, Start: uint64(pid) * 10}}); err != nil {
			t.Fatal(err)
		}
	}
	start("web", 10)
	start("db", 20)
	start("web", 11)
	if got := fmt.Sprint(apply.LoadStarted(dir, "l")); got != "[{n db "+hashA+" 20 200} {n web "+hashA+" 11 110}]" {
		t.Errorf("record = %s", got)
	}
	delete(n.Procs, "db")
	start("web", 12)
	if got := fmt.Sprint(apply.LoadStarted(dir, "l")); got != "[{n web "+hashA+" 12 120}]" {
		t.Errorf("after db is no longer declared: record = %s", got)
	}
}
