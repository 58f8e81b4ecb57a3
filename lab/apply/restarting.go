package apply

import (
	"netlab/lab/name"
	"netlab/lab/plan"
	"netlab/lab/rundir"
	"netlab/lab/state"
)

// The restarting record lists the declared processes an up is restarting
// (a changed declaration, or one found not running), from before it
// stops them until it is done: status shows them as restarting while
// that up holds the lab's lock. Like the exits record, it only says more.

// Restarting is one process an up restarts.
type Restarting struct {
	Node string `json:"node"`
	Name string `json:"name"`
	// Pid and Start are the process the up stops to replace it, zero
	// for one that had ended: until it is gone it is still observed,
	// and is restarting, not running.
	Pid   int    `json:"pid,omitempty"`
	Start uint64 `json:"start,omitempty"`
}

// Stopping reports whether p is the process r is stopping.
func (r Restarting) Stopping(p *state.Process) bool {
	return p != nil && r.Pid != 0 && p.Pid == r.Pid && p.Start == r.Start
}

// RestartsOf are the processes p restarts: those it replaces, and those
// it starts again after they ended (drift).
func RestartsOf(p *plan.Plan) []Restarting {
	var out []Restarting
	for _, c := range p.Changes {
		if c.Object == plan.Process && (c.Action == plan.Replace || c.Action == plan.Create && c.Drift) {
			r := Restarting{Node: c.Node, Name: c.Name}
			if c.OldProc != nil {
				r.Pid, r.Start = c.OldProc.Pid, c.OldProc.Start
			}
			out = append(out, r)
		}
	}
	return out
}

// SaveRestarting keeps the processes an up restarts, or removes the
// record when there are none. The caller holds the lab's lock.
func SaveRestarting(dir rundir.Dir, lab string, rs []Restarting) error {
	if len(rs) == 0 {
		return removeJSON(dir, lab, rundir.Restarting, "keep the restarting record")
	}
	return saveJSON(dir, lab, rundir.Restarting, rs, "keep the restarting record")
}

// LoadRestarting returns the processes an up is restarting now, by node
// and name: those of the record, while a netlab command holds the lab's
// lock (a record left by a netlab that was killed says nothing).
func LoadRestarting(dir rundir.Dir, lab string) map[[2]string]Restarting {
	n, err := name.Parse("lab", lab)
	if err != nil || !dir.Held(n) {
		return nil
	}
	var rs []Restarting
	if !loadJSON(dir, lab, rundir.Restarting, &rs) {
		return nil
	}
	out := make(map[[2]string]Restarting, len(rs))
	for _, r := range rs {
		out[[2]string{r.Node, r.Name}] = r
	}
	return out
}
