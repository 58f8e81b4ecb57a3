package reconcile

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"netlab/lab/apply"
	"netlab/lab/kernel"
	"netlab/lab/plan"
	"netlab/lab/rundir"
	"netlab/lab/state"
)

// ProcessStatus is one process of a running lab, as status and the
// terminal UI show it.
type ProcessStatus struct {
	Node    string        `json:"node"`
	Name    string        `json:"name"`           // "" for a process started by hand
	Pid     int           `json:"pid,omitempty"`  // 0 when not running
	State   string        `json:"state"`          // "running", "exited", "exited N", "not started"
	Exit    *int          `json:"exit,omitempty"` // the exit status, when netlab saw the end
	Uptime  time.Duration `json:"uptime_ns,omitempty"`
	Command string        `json:"command"`
}

// The states of a process, as ProcessStatus.State says them.
const (
	StateRunning    = "running"
	StateExited     = "exited" // ended (or killed) unseen: netlab does not know how
	StateNotStarted = "not started"
	StateRestarting = "restarting" // being stopped, or not running, while an up restarts it
)

// Processes lists the processes of a running lab: each declared one (from
// the applied lab's record in dir, when there is one) with its state, and
// every other process running in the lab's namespaces, by node, declared
// ones first by name, then the others by pid. A declared process is
// running, "restarting" while an up restarts it (being stopped, or
// stopped and not started again yet), "exited N" when up saw it end with status N (the exits
// record), "exited" when it ended unseen, or "not started" when its node
// has no namespace. Without a record, the processes that carry the lab's
// marker are listed by name, running.
func Processes(ctx context.Context, k kernel.Kernel, lab string, dir *rundir.Dir) ([]ProcessStatus, error) {
	recs := loadProcessRecords(dir, lab)
	observed, err := Observe(ctx, k, lab, recs.record, dir)
	if err != nil {
		return nil, fmt.Errorf("lab %s: read the kernel: %w", lab, err)
	}
	return processesIn(observed, recs), nil
}

// ProcessesIn is Processes for a caller that has observed the lab already
// through Observe with the same dir (status), which adopted the processes
// of the started record, and read the last-applied record (NameRules
// returns it; nil for none): the same list, from observed, record, and
// the exits and restarting records in dir, without reading the kernel or
// the record again (that of a 1000-node lab is most of a megabyte).
func ProcessesIn(observed, record *state.State, dir *rundir.Dir) []ProcessStatus {
	return processesIn(observed, withRecord(dir, observed.Lab, record))
}

// processRecords are the run directory's records a process list reads:
// the lab's last-applied record, the ends up saw, and the processes an
// up is restarting now.
type processRecords struct {
	record     *state.State
	exits      []state.Exit
	restarting map[[2]string]apply.Restarting
}

// loadProcessRecords reads the lab's process records from dir; nil dir
// has none.
func loadProcessRecords(dir *rundir.Dir, lab string) processRecords {
	if dir == nil {
		return processRecords{}
	}
	return withRecord(dir, lab, apply.LoadRecord(*dir, lab))
}

// withRecord is the process records of dir with record as the
// last-applied one.
func withRecord(dir *rundir.Dir, lab string, record *state.State) processRecords {
	recs := processRecords{record: record}
	if dir != nil {
		recs.exits = apply.LoadExits(*dir, lab)
		recs.restarting = apply.LoadRestarting(*dir, lab)
	}
	return recs
}

// processesIn lists the processes of observed against the lab's records
// (a nil record for none), as Processes says.
func processesIn(observed *state.State, recs processRecords) []ProcessStatus {
	record, exits, restarting := recs.record, recs.exits, recs.restarting
	if record == nil {
		record = state.New(observed.Lab)
	}
	now := time.Now()
	var out []ProcessStatus
	for _, node := range unionKeys(record.Nodes, observed.Nodes) {
		want, have := record.Nodes[node], observed.Nodes[node]
		if have != nil && have.Foreign {
			continue // not the lab's
		}
		var declared, running map[string]*state.Process
		if want != nil {
			declared = want.Procs
		}
		if have != nil {
			running = have.Procs
		}
		for _, name := range unionKeys(declared, running) {
			w, h := declared[name], running[name]
			ps := ProcessStatus{Node: node, Name: name}
			if w != nil {
				ps.Command = plan.ShortCommand(w)
			}
			r, isRestarting := restarting[[2]string{node, name}]
			switch {
			case h != nil:
				ps.State, ps.Pid = StateRunning, h.Pid
				if isRestarting && r.Stopping(h) {
					ps.State = StateRestarting // the old one, on its way out
				}
				if !h.StartedAt.IsZero() {
					ps.Uptime = now.Sub(h.StartedAt).Truncate(time.Second)
				}
				if ps.Command == "" {
					ps.Command = plan.ShortCommand(h)
				}
			case isRestarting:
				ps.State = StateRestarting
			case have == nil:
				ps.State = StateNotStarted
			default:
				ps.State = StateExited
				if e, ok := state.FindExit(exits, node, name); ok {
					status := e.Status
					ps.State, ps.Exit = fmt.Sprintf("%s %d", StateExited, status), &status
				}
			}
			out = append(out, ps)
		}
		if have != nil {
			for _, o := range have.Others {
				ps := ProcessStatus{Node: node, Pid: o.Pid, State: StateRunning, Command: strings.Join(o.Argv, " ")}
				if !o.StartedAt.IsZero() {
					ps.Uptime = now.Sub(o.StartedAt).Truncate(time.Second)
				}
				out = append(out, ps)
			}
		}
	}
	return out
}

// unionKeys are the keys of a and b, each once, sorted.
func unionKeys[V any](a, b map[string]V) []string {
	keys := append(slices.Collect(maps.Keys(a)), slices.Collect(maps.Keys(b))...)
	slices.Sort(keys)
	return slices.Compact(keys)
}
