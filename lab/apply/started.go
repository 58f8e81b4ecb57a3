package apply

import (
	"cmp"
	"context"
	"slices"

	"netlab/lab/kernel"
	"netlab/lab/rundir"
	"netlab/lab/state"
)

// The started record keeps, per declared process, the pid and start time
// of the last one an up started: netlab's second way to know a declared
// process, for one whose marker is gone. A program that sets its own
// title (perl's $0, setproctitle in nginx or PostgreSQL) writes over
// /proc/PID/environ, and the marker with it. The marker stays the first
// way: a process that carries it is taken by it, and the record only
// names a process that carries none.

// StartedProc is one entry of the started record.
type StartedProc struct {
	Node  string `json:"node"`
	Name  string `json:"name"`
	Hash  string `json:"hash"`
	Pid   int    `json:"pid"`
	Start uint64 `json:"start"`
}

// maxStarted bounds the entries of a started record read back: one per
// declared process of a lab, never this many.
const maxStarted = 4096

// maxPid is the largest pid Linux gives (PID_MAX_LIMIT).
const maxPid = 1 << 22

// valid reports whether e is an entry netlab could have written for lab:
// its names pass the validators the marker's do, its pid and start time
// are a process's.
func (e StartedProc) valid(lab string) bool {
	_, _, _, _, ok := state.ParseProcessMarker(state.ProcessMarker(lab, e.Node, e.Name, e.Hash))
	return ok && e.Pid > 0 && e.Pid < maxPid && e.Start > 0
}

// LoadStarted returns the processes a lab's ups started, or nil if there
// are none or the record cannot be read. A record with one entry netlab
// could not have written is not netlab's, and is ignored whole: a hostile
// file changes nothing.
func LoadStarted(dir rundir.Dir, lab string) []StartedProc {
	var entries []StartedProc
	if !loadJSON(dir, lab, rundir.Started, &entries) || len(entries) > maxStarted {
		return nil
	}
	seen := make(map[[2]string]bool, len(entries))
	for _, e := range entries {
		key := [2]string{e.Node, e.Name}
		if !e.valid(lab) || seen[key] {
			return nil
		}
		seen[key] = true
	}
	return entries
}

// StartedRecord is the started record as an up keeps it: read once, then
// written whole after each process the up starts, so that a netlab killed
// right after still knows it. The caller holds the lab's lock, so no one
// else writes the record meanwhile.
type StartedRecord struct {
	dir     *rundir.Dir // nil: no run directory, kept in memory only
	desired *state.State
	entries []StartedProc
}

// LoadStartedRecord reads the started record of desired's lab from dir
// (nil for none), for an up that keeps it.
func LoadStartedRecord(dir *rundir.Dir, desired *state.State) *StartedRecord {
	r := &StartedRecord{dir: dir, desired: desired}
	if dir != nil {
		r.entries = LoadStarted(*dir, desired.Lab)
	}
	return r
}

// Record keeps s in the record, as the latest of its node and name, and
// forgets the entries of processes desired no longer declares.
func (r *StartedRecord) Record(s Started) error {
	r.entries = slices.DeleteFunc(r.entries, func(e StartedProc) bool {
		node := r.desired.Nodes[e.Node]
		return node == nil || node.Procs[e.Name] == nil || e.Node == s.Node && e.Name == s.Proc.Name
	})
	r.entries = append(r.entries, StartedProc{Node: s.Node, Name: s.Proc.Name, Hash: s.Proc.Hash, Pid: s.Proc.Pid, Start: s.Proc.Start})
	slices.SortFunc(r.entries, func(a, b StartedProc) int {
		return cmp.Or(cmp.Compare(a.Node, b.Node), cmp.Compare(a.Name, b.Name))
	})
	if r.dir == nil {
		return nil
	}
	return saveJSON(*r.dir, r.desired.Lab, rundir.Started, r.entries, "keep the started record")
}

// Entries are the processes the record names, as Adopt takes them.
func (r *StartedRecord) Entries() []StartedProc { return r.entries }

// DeleteStarted removes a lab's started record, after down. The caller
// holds the lab's lock.
func DeleteStarted(dir rundir.Dir, lab string) error {
	return removeJSON(dir, lab, rundir.Started, "remove the started record")
}

// Observe reads the lab from the kernel (k.Observe), then adopts the
// processes of started: every caller that looks at a lab's processes
// reads them through here.
func Observe(ctx context.Context, k kernel.Kernel, lab string, desired *state.State, started []StartedProc) (*state.State, error) {
	observed, err := k.Observe(ctx, lab, desired)
	if err != nil {
		return nil, err
	}
	Adopt(observed, started)
	return observed, nil
}

// Adopt names, in an observed state, the declared processes that lost
// their marker: a process started by hand (Node.Others) whose pid and
// start time are those of a started entry of its node becomes
// Node.Procs[NAME], with the entry's hash. The namespace is the node's by
// construction, and the pid and start time together are one process,
// never a recycled pid. The marker wins: a NAME already in Procs keeps
// its process, unless that one descends from the adopted process (its
// child exec'd a program, which got the environment, marker included,
// back). The processes that descend from an adopted one (children it
// forked after it set its title) are its own, and leave Others.
func Adopt(observed *state.State, started []StartedProc) {
	if observed == nil {
		return
	}
	for _, e := range started {
		n := observed.Nodes[e.Node]
		if n == nil || n.Foreign {
			continue
		}
		i := slices.IndexFunc(n.Others, func(o *state.Process) bool { return o.Pid == e.Pid && o.Start == e.Start })
		if i < 0 {
			continue
		}
		o := n.Others[i]
		parents := parentsOf(n)
		if p := n.Procs[e.Name]; p != nil && !kernel.Descends(p.Pid, parents, map[int]bool{o.Pid: true}) {
			continue
		}
		if n.Procs == nil {
			n.Procs = make(map[string]*state.Process)
		}
		n.Procs[e.Name] = &state.Process{Name: e.Name, Argv: slices.Clone(o.Argv), Hash: e.Hash, Pid: o.Pid, Start: o.Start, StartedAt: o.StartedAt, PPid: o.PPid}
		n.Others = slices.Delete(n.Others, i, i+1)
		roots := map[int]bool{o.Pid: true}
		n.Others = slices.DeleteFunc(n.Others, func(p *state.Process) bool { return kernel.Descends(p.Pid, parents, roots) })
	}
}

// parentsOf maps the pids of a node's listed processes to their parents'.
func parentsOf(n *state.Node) map[int]int {
	parents := make(map[int]int, len(n.Procs)+len(n.Others))
	for _, p := range n.Procs {
		parents[p.Pid] = p.PPid
	}
	for _, p := range n.Others {
		parents[p.Pid] = p.PPid
	}
	return parents
}
