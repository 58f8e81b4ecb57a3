package state

import (
	"fmt"
	"time"
)

// Exit is the end of a declared process that netlab saw: only up, the
// parent of the processes it starts while it waits for them to be ready,
// can know an exit status (netlab leaves no supervisor behind). The run
// directory keeps the last one of each process, for status and the plan.
type Exit struct {
	Node   string    `json:"node"`
	Name   string    `json:"name"`
	Pid    int       `json:"pid"`
	Status int       `json:"status"` // as kernel.ExitStatus gives it: the exit code, or 128+N for a signal N
	Time   time.Time `json:"time"`
}

// String is the end as the plan and status say it: "exited with status 1
// at 12:03:04".
func (e Exit) String() string {
	return fmt.Sprintf("exited with status %d at %s", e.Status, e.Time.Format("15:04:05"))
}

// FindExit returns the exit of node's process name in exits, if any.
func FindExit(exits []Exit, node, name string) (Exit, bool) {
	for _, e := range exits {
		if e.Node == node && e.Name == name {
			return e, true
		}
	}
	return Exit{}, false
}
