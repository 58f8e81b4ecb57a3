// Package sparkline draws a small history of numbers as one line of block
// characters, followed by its minimum and maximum as numbers, so that the
// scale is readable without colour.
package sparkline

import (
	"strings"

	tea "github.com/charmbracelet/bubbletea"
)

// blocks are the eight heights, lowest first.
var blocks = []rune("▁▂▃▄▅▆▇█")

// Model is a fixed-capacity history of values and the width it is drawn at.
type Model struct {
	values []float64 // oldest first, at most capacity
	cap    int
	width  int
	// Format renders the min/max labels; nil prints plain numbers.
	Format func(float64) string
}

// New returns an empty sparkline that keeps the last capacity values.
func New(capacity int) Model {
	if capacity < 1 {
		capacity = 1
	}
	return Model{cap: capacity, width: capacity}
}

// Push appends a value, dropping the oldest when the history is full.
func (m *Model) Push(v float64) {
	if len(m.values) == m.cap {
		copy(m.values, m.values[1:])
		m.values = m.values[:len(m.values)-1]
	}
	m.values = append(m.values, v)
}

// Values returns the history, oldest first.
func (m Model) Values() []float64 { return m.values }

// Len is the number of values held.
func (m Model) Len() int { return len(m.values) }

// SetSize sets the number of cells the graph takes; the height is always
// one line.
func (m *Model) SetSize(w, _ int) { m.width = w }

// Update does nothing: a sparkline is fed with Push.
func (m Model) Update(tea.Msg) (Model, tea.Cmd) { return m, nil }

// Graph returns the block characters only: the last width values, scaled
// between their minimum and maximum, right-aligned and padded with spaces
// on the left. An empty history is all spaces.
func (m Model) Graph() string {
	w := m.width
	if w <= 0 {
		return ""
	}
	vals := m.values
	if len(vals) > w {
		vals = vals[len(vals)-w:]
	}
	lo, hi := bounds(vals)
	var b strings.Builder
	b.WriteString(strings.Repeat(" ", w-len(vals)))
	for _, v := range vals {
		i := 0
		if hi > lo {
			i = int((v - lo) / (hi - lo) * float64(len(blocks)-1))
		}
		b.WriteRune(blocks[min(max(i, 0), len(blocks)-1)])
	}
	return b.String()
}

// View is the graph followed by its label.
func (m Model) View() string { return m.Graph() + " " + m.Label() }

// Label is "min X max Y" over the values the graph shows: the scale, in
// numbers.
func (m Model) Label() string {
	vals := m.values
	if m.width > 0 && len(vals) > m.width {
		vals = vals[len(vals)-m.width:]
	}
	lo, hi := bounds(vals)
	f := m.Format
	if f == nil {
		f = plain
	}
	return "min " + f(lo) + " max " + f(hi)
}

func bounds(vals []float64) (lo, hi float64) {
	for i, v := range vals {
		if i == 0 || v < lo {
			lo = v
		}
		if i == 0 || v > hi {
			hi = v
		}
	}
	return lo, hi
}

func plain(v float64) string {
	return strings.TrimRight(strings.TrimRight(strconvFloat(v), "0"), ".")
}
