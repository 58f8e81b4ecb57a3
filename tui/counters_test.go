package tui

import (
	"context"
	"testing"
	"time"

	"netlab/lab/state"
)

// counterSource is a fakeSource that reads counters too: each call
// returns the state of step, and changed when told to.
type counterSource struct {
	fakeSource
	counters int
	changed  bool
	step     int
}

func (c *counterSource) Counters(context.Context, []string, []string) (*state.State, bool, error) {
	c.counters++
	c.step++
	return singleIP(c.step), c.changed, nil
}

// run takes msg in.
func run(t *testing.T, m Model, msg any) Model {
	t.Helper()
	tm, _ := m.Update(msg)
	return tm.(Model)
}

// TestTickReadsCounters: a tick reads the counters, not a snapshot, and
// keeps the plan and processes of the last snapshot; an event, a change
// the counters report and the passing of fullEvery each make the next
// refresh a full snapshot.
func TestTickReadsCounters(t *testing.T) {
	src := &counterSource{fakeSource: fakeSource{states: []*state.State{singleIP(1)}}}
	now := t0
	m := New(Options{Source: src, Now: func() time.Time { return now }})
	m.SetSize(100, 30)
	refresh := func() {
		t.Helper()
		now = now.Add(time.Second)
		m = run(t, m, m.startFetch()())
	}
	refresh()
	if src.calls != 1 || src.counters != 0 {
		t.Fatalf("first refresh: %d snapshots, %d counters; want a snapshot", src.calls, src.counters)
	}
	for range 3 {
		refresh()
	}
	if src.calls != 1 || src.counters != 3 {
		t.Errorf("3 ticks: %d snapshots, %d counter reads; want 0 and 3", src.calls-1, src.counters)
	}
	if r := m.Rates("c1/veth0"); r.TxPackets != 10 {
		t.Errorf("c1/veth0 rates %+v from the counters, want 10 packets a second", r)
	}

	// An event, a second after the last refresh: the refresh it starts
	// at once is full.
	now = now.Add(time.Second)
	tm, cmd := m.Update(eventMsg{})
	m = tm.(Model)
	if cmd == nil {
		t.Fatal("an event starts no refresh")
	}
	m = run(t, m, cmd())
	if src.calls != 2 {
		t.Errorf("after an event: %d snapshots, want 2", src.calls)
	}

	// The counters report a change: the same refresh reads everything.
	src.changed = true
	refresh()
	if src.calls != 3 || src.counters != 4 {
		t.Errorf("a change in the counters: %d snapshots, %d counter reads; want 3 and 4", src.calls, src.counters)
	}
	src.changed = false

	// fullEvery after the last snapshot, one is due.
	n := src.calls
	for now.Add(time.Second).Sub(m.fullAt) < m.fullEvery() {
		refresh()
	}
	if src.calls != n {
		t.Errorf("quiet ticks took %d snapshots, want none", src.calls-n)
	}
	refresh()
	if src.calls != n+1 {
		t.Errorf("%s after the last snapshot: %d snapshots, want 1", m.fullEvery(), src.calls-n)
	}
}

// pageSource is a counter source over bigLab that records which nodes
// each Counters call reads.
type pageSource struct {
	step    int
	linksOf [][]string
}

func (p *pageSource) Snapshot(context.Context) (*state.State, error) { return bigLab(p.step), nil }

func (p *pageSource) Counters(_ context.Context, linksOf, _ []string) (*state.State, bool, error) {
	p.step++
	p.linksOf = append(p.linksOf, linksOf)
	return bigLab(p.step), false, nil
}

// TestTickReadsPageOnly: on a 200-node lab a tick reads the links of the
// nodes on the Interfaces pane's page only, and a row that scrolls into
// view gets its rate over the time since its own last reading.
func TestTickReadsPageOnly(t *testing.T) {
	src := &pageSource{step: 1}
	now := t0
	m := New(Options{Source: src, Now: func() time.Time { return now }})
	m.SetSize(100, 20) // a page of 13 rows
	refresh := func() {
		t.Helper()
		now = now.Add(time.Second)
		m = run(t, m, m.startFetch()())
	}
	refresh()
	refresh()
	if len(src.linksOf) != 1 || len(src.linksOf[0]) == 0 || len(src.linksOf[0]) > m.bodyHeight() {
		t.Fatalf("a tick read the links of %v, want the nodes of the page's %d rows", src.linksOf, m.bodyHeight())
	}
	if got := src.linksOf[0]; got[0] != "hub" {
		t.Errorf("the first page's nodes %v, want hub's first", got)
	}
	// n100's eth0, far down: its rate once in view is its traffic (100
	// packets a step) over the time since the full read that last saw
	// it, not over one tick.
	for m.Selected() != "n100/eth0" {
		m.move(1)
	}
	refresh()
	now = now.Add(time.Second)
	m = run(t, m, m.startFetch()())
	if r := m.Rates("n100/eth0"); r.TxPackets != 100 {
		t.Errorf("n100/eth0 rates %+v, want 100 packets a second", r)
	}
}
