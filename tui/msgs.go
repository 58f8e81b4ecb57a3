package tui

import (
	"time"

	"netlab/lab/plan"
	"netlab/lab/state"
)

// SnapshotMsg is one reading of the lab: the state, the plan against the
// file (nil when there is no file or no planner), and when it was taken.
// Tests send it to Update directly with scripted states and times.
type SnapshotMsg struct {
	State *state.State
	Plan  *plan.Plan
	Err   error
	At    time.Time
	// Processes are the lab's processes, from a ProcessLister source;
	// ProcessErr is why they could not be read.
	Processes  []Process
	ProcessErr error
	// Partial is set when only the counters were read (CounterSource):
	// the plan and the processes are those of the last full snapshot;
	// the links' counters were read again only for the nodes in
	// LinksRead, and the rules' for those in RulesRead.
	Partial              bool
	LinksRead, RulesRead []string
	// Took is how long a full snapshot took to read.
	Took time.Duration
}

// tickMsg asks for the next refresh; seq drops ticks of an older chain.
type tickMsg struct{ seq int }

// eventMsg is a change notification from the source (a link went down, a
// namespace was deleted).
type eventMsg struct{}

// eventDueMsg ends the wait between an event and its refresh.
type eventDueMsg struct{}

// eventsClosedMsg says the source's event channel closed.
type eventsClosedMsg struct{}

// checksMsg carries the results of the lab's checks.
type checksMsg struct {
	Results []CheckResult
	Err     error
}
