package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// Update handles keys, window sizes, snapshots and events.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.SetSize(msg.Width, msg.Height)
		return m, nil
	case SnapshotMsg:
		m.fetching = false
		if !msg.Partial && msg.Err == nil {
			m.fullWanted = false
			m.fullAt, m.fullTook = msg.At, msg.Took
		}
		m.apply(msg)
		m.tickSeq++
		seq := m.tickSeq
		next := tea.Tick(m.opts.Interval, func(time.Time) tea.Msg { return tickMsg{seq: seq} })
		// An open conntrack page reads its table again with each snapshot.
		next = tea.Batch(next, m.fetchConntrack())
		if m.pendingEvent {
			m.pendingEvent = false
			return m, tea.Batch(next, m.onEvent())
		}
		return m, next
	case tickMsg:
		if msg.seq != m.tickSeq || m.fetching {
			return m, nil
		}
		return m, m.startFetch()
	case eventMsg:
		cmd := m.onEvent()
		if m.events != nil {
			return m, tea.Batch(cmd, waitEvent(m.events))
		}
		return m, cmd
	case eventDueMsg:
		m.eventTimer = false
		if m.fetching {
			m.pendingEvent = true
			return m, nil
		}
		return m, m.startFetch()
	case eventsClosedMsg:
		return m, nil
	case checksMsg:
		m.checking = false
		m.showChecks(msg)
		return m, nil
	case traceMsg:
		m.gotTrace(msg)
		return m, nil
	case conntrackMsg:
		m.gotConntrack(msg)
		return m, nil
	case tea.KeyMsg:
		return m.key(msg)
	}
	return m, nil
}

// minEventGap is the shortest time between two refreshes that events
// start: a burst of changes (an up of a large lab) costs a few refreshes,
// not one per change.
const minEventGap = 250 * time.Millisecond

// startFetch starts a refresh.
func (m *Model) startFetch() tea.Cmd {
	m.fetching = true
	m.lastFetch = m.opts.Now()
	return m.fetch()
}

// onEvent answers a change event: a refresh now, or as soon as the one
// under way ends, or minEventGap after the last one started.
func (m *Model) onEvent() tea.Cmd {
	// What changed is more than counters: read everything.
	m.fullWanted = true
	if m.fetching {
		m.pendingEvent = true
		return nil
	}
	if m.eventTimer {
		return nil
	}
	if wait := minEventGap - m.opts.Now().Sub(m.lastFetch); wait > 0 {
		m.eventTimer = true
		return tea.Tick(wait, func(time.Time) tea.Msg { return eventDueMsg{} })
	}
	return m.startFetch()
}

// SetSize sets the terminal size the view is drawn for.
func (m *Model) SetSize(w, h int) {
	m.width, m.height = w, h
	m.help.Width = w
	m.filter.Width = max(w-20, 10)
}

func (m Model) key(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	k := m.keys
	if m.filtering {
		switch msg.Type {
		case tea.KeyEnter:
			m.filtering = false
			m.filter.Blur()
			return m, nil
		case tea.KeyEsc:
			m.filtering = false
			m.filter.Blur()
			m.filter.SetValue("")
			m.clampCursors()
			return m, nil
		case tea.KeyCtrlC:
			return m, tea.Quit
		}
		var cmd tea.Cmd
		m.filter, cmd = m.filter.Update(msg)
		m.cursor[m.pane], m.offset[m.pane] = 0, 0
		m.clampCursors()
		return m, cmd
	}
	if m.page != nil && m.page.kind == pageTrace && m.trace.typing {
		return m.traceKey(msg)
	}
	if m.page != nil {
		switch {
		case key.Matches(msg, k.Quit):
			m.cancelTrace()
			return m, tea.Quit
		case m.page.kind == pageTrace && key.Matches(msg, k.Back) && m.trace.running:
			m.cancelTrace() // the page stays, saying so
		case m.page.kind == pageTrace && key.Matches(msg, k.Detail) && m.trace.running:
			// Enter closes other pages; here it would leave the trace
			// running unseen: only esc (which cancels it) goes back.
		case m.page.kind == pageTrace && key.Matches(msg, k.Trace):
			return m, m.openTrace(m.trace.from)
		case key.Matches(msg, k.Back), key.Matches(msg, k.Detail), key.Matches(msg, k.Help) && m.page.title == "Help":
			m.closePage()
		case key.Matches(msg, k.Down):
			m.scrollPage(1)
		case key.Matches(msg, k.Up):
			m.scrollPage(-1)
		case key.Matches(msg, k.PageDown):
			m.scrollPage(m.bodyHeight())
		case key.Matches(msg, k.PageUp):
			m.scrollPage(-m.bodyHeight())
		}
		return m, nil
	}
	switch {
	case key.Matches(msg, k.Quit):
		return m, tea.Quit
	case key.Matches(msg, k.Up):
		m.move(-1)
	case key.Matches(msg, k.Down):
		m.move(1)
	case key.Matches(msg, k.PageUp):
		m.move(-m.bodyHeight())
	case key.Matches(msg, k.PageDown):
		m.move(m.bodyHeight())
	case key.Matches(msg, k.NextPane):
		m.pane = (m.pane + 1) % numPanes
		m.clampCursors()
	case key.Matches(msg, k.PrevPane):
		m.pane = (m.pane + numPanes - 1) % numPanes
		m.clampCursors()
	case key.Matches(msg, k.Filter):
		m.filtering = true
		return m, m.filter.Focus()
	case key.Matches(msg, k.Back):
		if m.filter.Value() != "" {
			m.filter.SetValue("")
			m.clampCursors()
		}
		m.status = ""
	case key.Matches(msg, k.Detail):
		m.showDetail()
	case key.Matches(msg, k.Plan):
		m.showPlan()
	case key.Matches(msg, k.Reread):
		// Everything read again now, not at the next full read.
		m.fullWanted = true
		if m.fetching {
			m.pendingEvent = true // as soon as the read under way ends
			return m, nil
		}
		return m, m.startFetch()
	case key.Matches(msg, k.Help):
		m.page = &page{title: "Help", lines: m.helpLines()}
	case key.Matches(msg, k.Trace):
		return m, m.openTrace(m.selectedNode())
	case key.Matches(msg, k.Conntrack):
		return m, m.openConntrack(m.selectedNode())
	case key.Matches(msg, k.Checks):
		if m.opts.RunChecks == nil {
			m.status = "checks: not available in this build"
			return m, nil
		}
		if m.checking {
			return m, nil
		}
		m.checking = true
		m.status = "checks: running..."
		run, ctx := m.opts.RunChecks, m.opts.Context
		return m, func() tea.Msg {
			res, err := run(ctx)
			return checksMsg{Results: res, Err: err}
		}
	}
	return m, nil
}

func (m *Model) move(d int) {
	n := len(m.visibleRows(m.pane))
	c := m.cursor[m.pane] + d
	m.cursor[m.pane] = min(max(c, 0), max(n-1, 0))
}

func (m *Model) scrollPage(d int) {
	p := m.page
	maxOff := max(len(m.pageLines())-m.pageHeight(), 0)
	p.offset = min(max(p.offset+d, 0), maxOff)
}

// closePage goes back to the panes. A closed conntrack page stops
// reading; the trace page keeps its last trace for the next t.
func (m *Model) closePage() {
	if m.page.kind == pageConntrack {
		m.ct = nil
	}
	m.page = nil
}

func (m *Model) showPlan() {
	if m.plan == nil {
		m.status = "plan: no lab file to compare with (start netlab tui with the lab's file)"
		return
	}
	var b strings.Builder
	m.plan.WriteText(&b)
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	m.page = &page{title: "Plan (drift from the file)", lines: lines}
}

func (m *Model) showChecks(msg checksMsg) {
	if msg.Err != nil {
		m.status = "checks: " + msg.Err.Error()
		return
	}
	pass := 0
	var lines []string
	for _, r := range msg.Results {
		mark := "FAIL"
		if r.Pass {
			mark = "PASS"
			pass++
		}
		line := mark + "  " + r.Name
		if r.Detail != "" {
			line += ": " + r.Detail
		}
		lines = append(lines, line)
	}
	m.status = fmt.Sprintf("checks: %d passed, %d failed", pass, len(msg.Results)-pass)
	m.page = &page{title: "Checks", lines: lines}
}
