package tui

import "time"

// RefreshOnce runs one refresh of m as a tick of --interval runs it, the
// clock reading at, and returns the model with its result taken in: for
// tests and benchmarks of a source and the model together, outside a
// terminal.
func RefreshOnce(m Model, at time.Time) Model {
	m.opts.Now = func() time.Time { return at }
	msg := m.startFetch()()
	tm, _ := m.Update(msg)
	return tm.(Model)
}
