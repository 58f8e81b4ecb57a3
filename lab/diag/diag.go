// Package diag holds positions in a lab file and the diagnostics that point
// at them. It is the one vocabulary for "what is wrong, and where" shared by
// loading, validation and the command line.
package diag

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
)

// Pos is a position in a lab file. Line and Col are 1-based; a zero Line
// means the position is unknown, and a zero Col that only the line is known
// (as for a YAML syntax error).
type Pos struct {
	File string
	Line int
	Col  int
}

// String renders the position as FILE:LINE:COL, leaving out what is unknown.
func (p Pos) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
		if p.Col > 0 {
			fmt.Fprintf(&b, ":%d", p.Col)
		}
	}
	return b.String()
}

// Before reports whether p sorts before q: by file, line, then column.
func (p Pos) Before(q Pos) bool { return comparePos(p, q) < 0 }

func comparePos(p, q Pos) int {
	return cmp.Or(cmp.Compare(p.File, q.File), cmp.Compare(p.Line, q.Line), cmp.Compare(p.Col, q.Col))
}

// Severity says whether a diagnostic stops the lab from being used.
type Severity int

const (
	Error Severity = iota
	Warning
)

func (s Severity) String() string {
	if s == Warning {
		return "warning"
	}
	return "error"
}

// Diagnostic is one problem in a lab file.
//
// Msg states the rule that was broken, starting lowercase; Hint, if set,
// says how to fix it. The text form joins them as "Msg: Hint", except a
// suggestion ("did you mean ...?") which reads better in parentheses.
type Diagnostic struct {
	Pos      Pos
	Severity Severity
	Msg      string
	Hint     string
}

// Text is the message with its hint, without the position.
func (d Diagnostic) Text() string {
	switch {
	case d.Hint == "":
		return d.Msg
	case strings.HasPrefix(d.Hint, "did you mean"):
		return d.Msg + " (" + d.Hint + ")"
	default:
		return d.Msg + ": " + d.Hint
	}
}

// String renders the diagnostic as FILE:LINE:COL: text, with "warning: "
// before the text of a warning.
func (d Diagnostic) String() string {
	text := d.Text()
	if d.Severity == Warning {
		text = "warning: " + text
	}
	return d.Pos.String() + ": " + text
}

// List is every problem found in one file. The zero value is empty and
// ready to use.
type List []Diagnostic

// Errorf appends an error at pos.
func (l *List) Errorf(pos Pos, format string, args ...any) {
	*l = append(*l, Diagnostic{Pos: pos, Severity: Error, Msg: fmt.Sprintf(format, args...)})
}

// Hintf appends an error at pos with a hint on how to fix it.
func (l *List) Hintf(pos Pos, hint, format string, args ...any) {
	*l = append(*l, Diagnostic{Pos: pos, Severity: Error, Msg: fmt.Sprintf(format, args...), Hint: hint})
}

// Warnf appends a warning at pos.
func (l *List) Warnf(pos Pos, format string, args ...any) {
	*l = append(*l, Diagnostic{Pos: pos, Severity: Warning, Msg: fmt.Sprintf(format, args...)})
}

// Append adds the diagnostics of another list.
func (l *List) Append(more ...Diagnostic) { *l = append(*l, more...) }

// HasErrors reports whether any diagnostic is an error.
func (l List) HasErrors() bool {
	return slices.ContainsFunc(l, func(d Diagnostic) bool { return d.Severity == Error })
}

// Sort orders the list by position, then text, and drops exact repeats.
func (l *List) Sort() {
	slices.SortStableFunc(*l, func(a, b Diagnostic) int {
		return cmp.Or(comparePos(a.Pos, b.Pos), cmp.Compare(a.Text(), b.Text()))
	})
	*l = slices.Compact(*l)
}

// Err returns the errors of the list as one error, or nil if it has none.
// Each line of the error's text is one diagnostic.
func (l List) Err() error {
	if !l.HasErrors() {
		return nil
	}
	return &ListError{List: l}
}

// ListError carries a List through code that deals in errors.
type ListError struct{ List List }

func (e *ListError) Error() string {
	lines := make([]string, 0, len(e.List))
	for _, d := range e.List {
		lines = append(lines, d.String())
	}
	return strings.Join(lines, "\n")
}

// AsList returns the diagnostics carried by err, if it is a ListError.
func AsList(err error) (List, bool) {
	var le *ListError
	if errors.As(err, &le) {
		return le.List, true
	}
	return nil, false
}

// WriteText writes one line per diagnostic.
func (l List) WriteText(w io.Writer) error {
	for _, d := range l {
		if _, err := fmt.Fprintln(w, d.String()); err != nil {
			return err
		}
	}
	return nil
}

// jsonDiagnostic is the stable JSON form of a Diagnostic.
type jsonDiagnostic struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Col      int    `json:"col"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
	Hint     string `json:"hint,omitempty"`
}

// MarshalJSON encodes the list as an array of
// {"file","line","col","severity","message","hint"} objects; an empty list
// is [] rather than null.
func (l List) MarshalJSON() ([]byte, error) {
	out := make([]jsonDiagnostic, 0, len(l))
	for _, d := range l {
		out = append(out, jsonDiagnostic{
			File: d.Pos.File, Line: d.Pos.Line, Col: d.Pos.Col,
			Severity: d.Severity.String(), Message: d.Msg, Hint: d.Hint,
		})
	}
	return json.Marshal(out)
}

// RelFile shortens path to be relative to dir when it lies below dir, as
// users expect to see it in a message; otherwise it returns path unchanged.
func RelFile(dir, path string) string {
	if dir == "" || !filepath.IsAbs(path) {
		return path
	}
	rel, err := filepath.Rel(dir, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return path
	}
	return rel
}
