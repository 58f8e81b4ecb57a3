package reconcile

import (
	"context"
	"time"

	"netlab/lab/kernel"
	"netlab/lab/rundir"
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

// Processes lists the processes of a running lab: each declared one (from
// the applied lab's record in dir, when there is one) with its state, and
// every other process running in the lab's namespaces.
// TODO(issue 14): the apply helper fills this in.
func Processes(ctx context.Context, k kernel.Kernel, lab string, dir *rundir.Dir) ([]ProcessStatus, error) {
	return nil, nil
}
