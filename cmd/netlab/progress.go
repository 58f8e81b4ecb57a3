package main

import (
	"io"
	"os"
	"strings"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/term"
)

// statusLine is the progress of a long up or down on a terminal: one line,
// redrawn in place (carriage return, erase to the end of the line) for
// each step, and cut to the terminal's width. A line longer than the
// terminal would wrap, and a carriage return goes back only to the start
// of its last row: every step would leave a line behind.
type statusLine struct {
	w     io.Writer
	width func() int // the terminal's width in columns; 0 if unknown
	shown bool
}

// defaultWidth is assumed when the terminal does not say its width.
const defaultWidth = 80

// newStatusLine returns the status line of w, a terminal; it reads the
// width at each step, so a resized window is followed.
func newStatusLine(w io.Writer) *statusLine {
	width := func() int { return 0 }
	if f, ok := w.(*os.File); ok {
		width = func() int {
			cols, _, err := term.GetSize(f.Fd())
			if err != nil {
				return 0
			}
			return cols
		}
	}
	return &statusLine{w: w, width: width}
}

// Show replaces the line with text.
func (s *statusLine) Show(text string) {
	width := s.width()
	if width <= 0 {
		width = defaultWidth
	}
	// One column short of the width: some terminals wrap as soon as the
	// last column is written.
	line := ansi.Truncate(printable(text), width-1, "…")
	io.WriteString(s.w, "\r\033[K"+line)
	s.shown = true
}

// Clear erases the line, if one is shown, leaving the cursor at its start
// for what comes next. A nil status line (no terminal) does nothing.
func (s *statusLine) Clear() {
	if s != nil && s.shown {
		io.WriteString(s.w, "\r\033[K")
		s.shown = false
	}
}

// printable replaces control characters, which would move the cursor, by
// spaces.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
}
