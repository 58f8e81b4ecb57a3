package tui

import (
	"bytes"
	"context"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"

	"netlab/lab/state"
)

// eventSource is a fakeSource that also sends change events.
type eventSource struct {
	fakeSource
	ch chan struct{}
}

func (e *eventSource) Events(context.Context) <-chan struct{} { return e.ch }

func (e *eventSource) set(s *state.State) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.states, e.calls = []*state.State{s}, 0
}

func contains(s string) func([]byte) bool {
	return func(b []byte) bool { return bytes.Contains(b, []byte(s)) }
}

// TestFlowNavigate starts the program, waits for the lab, moves to the
// Links pane and quits.
func TestFlowNavigate(t *testing.T) {
	src := &fakeSource{states: []*state.State{singleIP(1)}}
	// A refresh an hour away: the flow sees only the first snapshot.
	m := New(Options{Source: src, Interval: time.Hour, Now: func() time.Time { return t0 }})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(80, 24))
	teatest.WaitFor(t, tm.Output(), contains("server"), teatest.WithDuration(5*time.Second))
	tm.Send(tea.KeyMsg{Type: tea.KeyTab})
	teatest.WaitFor(t, tm.Output(), contains("[Links (5)]"), teatest.WithDuration(5*time.Second))
	tm.Type("j")
	tm.Type("q")
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(Model)
	if fm.Pane() != "Links" || fm.Selected() != "c2:veth0 <-> host:veth2" {
		t.Errorf("final pane %q, selected %q; want Links, c2:veth0 <-> host:veth2", fm.Pane(), fm.Selected())
	}
	requireGolden(t, fm.View())
}

// TestFlowEvent shows a link set down by hand as soon as the source
// reports the change, without waiting for the next refresh.
func TestFlowEvent(t *testing.T) {
	src := &eventSource{fakeSource: fakeSource{states: []*state.State{singleIP(1)}}, ch: make(chan struct{}, 1)}
	m := New(Options{Source: src, Interval: time.Hour, Now: func() time.Time { return t0 }})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(80, 24))
	teatest.WaitFor(t, tm.Output(), contains("server"), teatest.WithDuration(5*time.Second))
	src.set(c1Down(singleIP(2)))
	src.ch <- struct{}{}
	teatest.WaitFor(t, tm.Output(), contains("NO-CARR"), teatest.WithDuration(5*time.Second))
	tm.Type("q")
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(Model)
	if got := stateText(fm.st.Nodes["c1"].Links["veth0"]); got != "DOWN" {
		t.Errorf("c1 veth0 shows %q, want DOWN", got)
	}
}

// TestFlowTrace runs the program, traces from c2 to the server by typing
// the target, and goes back.
func TestFlowTrace(t *testing.T) {
	src := &traceSource{fakeSource: fakeSource{states: []*state.State{singleIP(1)}}, res: snatResult()}
	m := New(Options{Source: src, Interval: time.Hour, Now: func() time.Time { return t0 }})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(100, 44))
	teatest.WaitFor(t, tm.Output(), contains("server"), teatest.WithDuration(5*time.Second))
	tm.Type("jjt")
	teatest.WaitFor(t, tm.Output(), contains("Trace from c2"), teatest.WithDuration(5*time.Second))
	tm.Type("server udp 7")
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	teatest.WaitFor(t, tm.Output(), contains("end: delivered to c2"), teatest.WithDuration(5*time.Second))
	tm.Send(tea.KeyMsg{Type: tea.KeyEsc})
	tm.Type("q")
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(Model)
	if fm.Page() != "" || len(src.calls) != 1 || src.calls[0] != (traceCall{"c2", "server", "udp", 7}) {
		t.Errorf("final page %q, traces %+v; want none open, one from c2 to server udp 7", fm.Page(), src.calls)
	}
}
