package main

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
)

// fakeTerminal is the screen of a terminal of a fixed width, as far as a
// status line uses it: printable characters, carriage return, erase to
// the end of the line, newline, and wrapping at the last column.
type fakeTerminal struct {
	width    int
	rows     []string
	row, col int
}

func (t *fakeTerminal) Write(p []byte) (int, error) {
	s := string(p)
	for len(s) > 0 {
		switch {
		case strings.HasPrefix(s, "\033[K"):
			line := []rune(t.rows[t.row])
			if t.col < len(line) {
				t.rows[t.row] = string(line[:t.col])
			}
			s = s[len("\033[K"):]
			continue
		case s[0] == '\r':
			t.col = 0
		case s[0] == '\n':
			t.newRow()
		case s[0] < 0x20 || s[0] == 0x7f:
			return 0, fmt.Errorf("control byte %#x written to the terminal", s[0])
		default:
			r, n := utf8.DecodeRuneInString(s)
			if t.col == t.width { // the line is full: it wraps
				t.newRow()
			}
			line := []rune(t.rows[t.row])
			for len(line) < t.col {
				line = append(line, ' ')
			}
			if t.col < len(line) {
				line[t.col] = r
			} else {
				line = append(line, r)
			}
			t.rows[t.row] = string(line)
			t.col++
			s = s[n:]
			continue
		}
		s = s[1:]
	}
	return len(p), nil
}

func (t *fakeTerminal) newRow() {
	t.row++
	t.col = 0
	if t.row == len(t.rows) {
		t.rows = append(t.rows, "")
	}
}

// TestStatusLine runs the progress of a long up on an 80-column terminal:
// every step is cut to fit, so the whole run stays on one row, redrawn in
// place, and Clear leaves it empty.
func TestStatusLine(t *testing.T) {
	// The fake can fail: the first release's progress, a whole change a
	// line, wraps on it.
	old := &fakeTerminal{width: 80, rows: []string{""}}
	fmt.Fprintf(old, "\r\033[K[1/2] + veth node1:eth1 peer node2:eth1   # ip -n lab.node1 link add eth1 type veth peer name eth1 netns lab.node2")
	if old.row == 0 {
		t.Fatal("the fake terminal did not wrap a line of more than 80 columns")
	}

	term := &fakeTerminal{width: 80, rows: []string{""}}
	var raw bytes.Buffer
	s := &statusLine{w: io.MultiWriter(term, &raw), width: func() int { return term.width }}
	const total = 40
	var last string
	for i := 1; i <= total; i++ {
		last = fmt.Sprintf("[%d/%d] + veth node%d:eth%d peer node%d:eth%d   # ip -n lab.node%d link add eth%d type veth peer name eth%d netns lab.node%d",
			i, total, i, i, i+1, i, i, i, i, i+1)
		s.Show(last)
		if term.row != 0 {
			t.Fatalf("after step %d the cursor is on row %d: the status line wrapped\nscreen: %q", i, term.row, term.rows)
		}
		if got := term.rows[0]; !strings.HasPrefix(last, strings.TrimSuffix(got, "…")) || ansi.StringWidth(got) >= term.width {
			t.Fatalf("after step %d the screen shows %q, want the start of %q in fewer than %d columns", i, got, last, term.width)
		}
	}
	if want := fmt.Sprintf("[%d/%d] + veth node%d", total, total, total); !strings.HasPrefix(term.rows[0], want) {
		t.Errorf("the line shows %q, want the last step %q", term.rows[0], want)
	}
	for _, line := range strings.Split(raw.String(), "\r") {
		if w := ansi.StringWidth(line); w >= term.width {
			t.Errorf("a step is %d columns wide on an %d-column terminal: %q", w, term.width, line)
		}
	}
	if strings.Contains(raw.String(), "\n") {
		t.Errorf("the status line wrote a newline: %q", raw.String())
	}
	s.Clear()
	if len(term.rows) != 1 || term.rows[0] != "" || term.col != 0 {
		t.Errorf("after Clear the screen is %q, cursor at column %d; want one empty row", term.rows, term.col)
	}
}

// TestStatusLineWidth follows the terminal's width from step to step, and
// keeps characters that would move the cursor out of the line.
func TestStatusLineWidth(t *testing.T) {
	term := &fakeTerminal{width: 30, rows: []string{""}}
	s := &statusLine{w: term, width: func() int { return term.width }}
	s.Show("[1/2] + addr 192.0.2.1/24 dev eth0 on node a")
	if w := ansi.StringWidth(term.rows[0]); w != 29 {
		t.Errorf("on 30 columns the line is %d wide (%q), want 29", w, term.rows[0])
	}
	term.width = 20
	s.Show("[2/2] + route\n default\r via 192.0.2.254")
	if term.row != 0 || ansi.StringWidth(term.rows[0]) >= 20 {
		t.Errorf("after a resize to 20 columns: row %d, line %q", term.row, term.rows[0])
	}
	if !strings.HasPrefix(term.rows[0], "[2/2] + route  def") {
		t.Errorf("line %q, want the newline and carriage return shown as spaces", term.rows[0])
	}
	term = &fakeTerminal{width: 200, rows: []string{""}}
	s = &statusLine{w: term, width: func() int { return 0 }}
	s.Show(strings.Repeat("x", 200))
	if w := ansi.StringWidth(term.rows[0]); w != defaultWidth-1 {
		t.Errorf("with the width unknown the line is %d wide, want %d", w, defaultWidth-1)
	}
	var none *statusLine
	none.Clear() // no terminal: nothing to clear, and no panic
}
