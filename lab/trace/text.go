package trace

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// WriteText writes r as one step a line, request then answer, in
// aligned columns: node, hook, what met the packet (route, bridge, a
// table and its priority, or "-" for a hook where no chain of the lab
// met it), the interfaces, the decision (the route, the verdict, the
// policy, conntrack's translation); then the addresses the step changed
// ("src A -> B") and the rule's text ("rule ..."). Each way starts with a
// header line and ends with a line saying how it ended. No colour: the
// words carry the meaning.
func (r *Result) WriteText(w io.Writer) error {
	ways := []struct {
		name string
		way  *Way
	}{{"request", r.Request}, {"answer", r.Answer}}
	var rows [][]string
	for _, wy := range ways {
		if wy.way == nil {
			continue
		}
		for _, s := range wy.way.Steps {
			rows = append(rows, stepColumns(s))
		}
	}
	widths := columnWidths(rows)
	var b strings.Builder
	for _, wy := range ways {
		if wy.way == nil {
			if wy.name == "answer" {
				b.WriteString("no answer\n")
			}
			continue
		}
		wy.way.write(&b, wy.name, widths)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteText writes the way alone, as trace --watch prints each packet:
// a header line ("packet udp A:P -> B:7"), its steps in aligned
// columns as Result.WriteText writes them, and how it ended.
func (w *Way) WriteText(out io.Writer) error {
	var rows [][]string
	for _, s := range w.Steps {
		rows = append(rows, stepColumns(s))
	}
	var b strings.Builder
	w.write(&b, "packet", columnWidths(rows))
	_, err := io.WriteString(out, b.String())
	return err
}

// write writes the way's block under the header name.
func (w *Way) write(b *strings.Builder, name string, widths []int) {
	fmt.Fprintf(b, "%s %s\n", name, w.Packet)
	for _, s := range w.Steps {
		b.WriteString(alignRow(stepColumns(s), widths))
	}
	fmt.Fprintf(b, "  %s\n", w.End.Text())
}

// Text says how a way ended, in a line: "delivered to server",
// "dropped at host forward by policy drop".
func (e End) Text() string {
	switch e.What {
	case "delivered":
		return "delivered to " + orUnknown(e.Node)
	case "dropped":
		by := e.Rule
		if by != "policy drop" {
			by = "rule " + by
		}
		return fmt.Sprintf("dropped at %s %s by %s", orUnknown(e.Node), e.Hook, by)
	case "no-route":
		return fmt.Sprintf("no route at %s: %s", orUnknown(e.Node), e.Reason)
	case "left-machine":
		return fmt.Sprintf("left this machine at %s %s %s", orUnknown(e.Node), e.Hook, e.Reason)
	}
	s := e.What
	if e.Node != "" {
		s += " after " + e.Node
		if e.Hook != "" {
			s += " " + e.Hook
		}
	}
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	return s
}

func orUnknown(node string) string {
	if node == "" {
		return "(unknown node)"
	}
	return node
}

// stepColumns are the aligned columns of a step's line (node, hook,
// what, interfaces, decision), then the parts that follow unaligned
// (the translation, the rule's text), each saying what it is.
func stepColumns(s Step) []string {
	what, decision := "-", s.Verdict
	switch {
	case s.Kind == "route":
		what, decision = "route", s.Route
	case s.Table != "":
		what = s.Table
		if s.Priority != nil {
			what += " (" + strconv.Itoa(*s.Priority) + ")"
		}
		if s.Kind == "bridge" {
			what = "bridge " + what
		}
	case s.Kind == "bridge":
		what = "bridge"
	case s.Kind == "untraced":
		what, decision = "(not traced)", "crossed, unseen"
	}
	var rest []string
	if c := changeText(s); c != "" {
		rest = append(rest, c)
	}
	if s.Kind != "route" && s.Rule != "" {
		if s.Table == "" {
			decision = s.Rule // conntrack: no rule, the kernel's own translation
		} else {
			rest = append(rest, "rule "+s.Rule)
		}
	}
	var ifs []string
	if s.In != "" {
		ifs = append(ifs, "in "+s.In)
	}
	if s.Out != "" {
		ifs = append(ifs, "out "+s.Out)
	}
	return []string{s.Node, s.Hook, what, strings.Join(ifs, " "), decision, strings.Join(rest, "  ")}
}

// changeText shows what a step translated: "src A -> B", "dst A -> B".
func changeText(s Step) string {
	if s.Before == nil || s.After == nil {
		return ""
	}
	var parts []string
	if s.Before.Src != s.After.Src {
		parts = append(parts, "src "+s.Before.Src+" -> "+s.After.Src)
	}
	if s.Before.Dst != s.After.Dst {
		parts = append(parts, "dst "+s.Before.Dst+" -> "+s.After.Dst)
	}
	return strings.Join(parts, ", ")
}

func columnWidths(rows [][]string) []int {
	var widths []int
	for _, row := range rows {
		for i, c := range row {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], len(c))
		}
	}
	return widths
}

// alignRow pads each column to its width, two spaces apart, with no
// trailing space.
func alignRow(row []string, widths []int) string {
	var b strings.Builder
	b.WriteString("  ")
	for i, c := range row {
		b.WriteString(c)
		if i < len(row)-1 {
			b.WriteString(strings.Repeat(" ", widths[i]-len(c)+2))
		}
	}
	return strings.TrimRight(b.String(), " ") + "\n"
}

// MarshalJSON writes the Result as its fields (see the package doc) and
// "path", its Path: what a grader reads.
func (r Result) MarshalJSON() ([]byte, error) {
	type plain Result // without this method
	return marshalReadable(struct {
		plain
		Path Path `json:"path"`
	}{plain(r), r.Path()})
}

// marshalReadable is json.Marshal without HTML escaping: a way's packet,
// "udp 192.168.31.11:40001 -> 198.51.100.10:7", and the rules' text
// keep their > and & as a grader reads them, not \u003e.
func marshalReadable(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
