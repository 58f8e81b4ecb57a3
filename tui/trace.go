package tui

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
)

// Tracer is implemented by sources that can trace a probe (netlab
// trace): Trace sends one probe from node from to target (a node's name
// or an address) with proto (icmp, tcp, udp) and port (tcp, udp) and
// returns the way it took. It must return soon after ctx ends: Esc
// cancels a trace that way.
type Tracer interface {
	Trace(ctx context.Context, from, target, proto string, port uint16) (*TraceResult, error)
}

// TraceResult is a finished trace as the UI draws it. It carries what
// lab/trace's Result does; the UI has its own copy because it never
// imports the kernel's packages (lab/trace does), and netlab tui fills
// it from the Result.
type TraceResult struct {
	From   string     // the node the probe left
	To     string     // the target node, "" for an address no node owns
	Target netip.Addr // the address probed
	Proto  string
	Port   uint16
	// Request is the request's way; Answer the answer's, nil when none
	// came.
	Request *TraceWay
	Answer  *TraceWay
}

// TraceWay is one packet's way, step by step, and how it ended.
type TraceWay struct {
	Packet string // "udp 192.168.31.11:40001 -> 198.51.100.183:7"
	Steps  []TraceStep
	End    TraceEnd
}

// TraceStep is one hook, routing decision or bridge hop of a way: the
// fields of lab/trace's Step.
type TraceStep struct {
	Node     string
	Kind     string // hook, route or bridge
	Hook     string
	Table    string // raw, mangle, nat, filter, or "" where the lab has no chain
	Chain    string
	Priority *int
	Rule     string // the rule's text, "" for a policy
	Verdict  string
	In, Out  string
	Route    string
	// Before and After are the packet's addresses when this step changed
	// them (a NAT), else nil.
	Before, After *TraceAddrs
}

// TraceAddrs are a packet's source and destination.
type TraceAddrs struct{ Src, Dst string }

// TraceEnd says how a way ended: What is delivered, dropped (Node, Hook,
// Rule), no-route (Node, Reason) or lost (seen last at Node).
type TraceEnd struct {
	What, Node, Hook, Rule, Reason string
}

// traceQuery is what the user asked to trace.
type traceQuery struct {
	target string
	proto  string
	port   uint16
}

func (q traceQuery) String() string {
	if q.proto == "icmp" {
		return q.target + " icmp"
	}
	return q.target + " " + q.proto + " " + strconv.Itoa(int(q.port))
}

// defaultTracePort is the port of a tcp or udp trace when none is given,
// as for checks.
const defaultTracePort = 7

// parseTraceQuery reads "TARGET [icmp|tcp|udp [PORT]]": the target is an
// address or one of nodes; the protocol icmp when left out; the port 7
// for tcp and udp when left out.
func parseTraceQuery(s string, nodes []string) (traceQuery, error) {
	f := strings.Fields(s)
	switch {
	case len(f) == 0:
		return traceQuery{}, errors.New("type a target: a node or an address")
	case len(f) > 3:
		return traceQuery{}, errors.New("too many words: TARGET [icmp|tcp|udp [PORT]]")
	}
	q := traceQuery{target: f[0], proto: "icmp"}
	if a, err := netip.ParseAddr(q.target); err == nil {
		q.target = a.Unmap().String()
	} else if !slices.Contains(nodes, q.target) {
		return traceQuery{}, fmt.Errorf("%q is neither an address nor a node of the lab (nodes: %s)", q.target, strings.Join(nodes, ", "))
	}
	if len(f) >= 2 {
		q.proto = strings.ToLower(f[1])
		switch q.proto {
		case "icmp", "tcp", "udp":
		default:
			return traceQuery{}, fmt.Errorf("protocol %q: use icmp, tcp or udp", f[1])
		}
	}
	if q.proto == "icmp" {
		if len(f) == 3 {
			return traceQuery{}, errors.New("icmp has no port: leave it out, or trace tcp or udp")
		}
		return q, nil
	}
	q.port = defaultTracePort
	if len(f) == 3 {
		p, err := strconv.ParseUint(f[2], 10, 16)
		if err != nil || p == 0 {
			return traceQuery{}, fmt.Errorf("port %q: use a number from 1 to 65535", f[2])
		}
		q.port = uint16(p)
	}
	return q, nil
}

// traceRun is the trace page's state: the prompt, and the trace under
// way or done.
type traceRun struct {
	from   string
	typing bool   // the target prompt has the keys
	bad    string // why the last target typed was refused
	query  traceQuery
	seq    int // of the trace; a result of another is dropped

	running   bool
	started   time.Time
	cancel    context.CancelFunc // ends the running trace's ctx
	cancelled bool
	res       *TraceResult
	err       error
}

// traceMsg carries the result of trace seq.
type traceMsg struct {
	seq int
	res *TraceResult
	err error
}

// newTraceInput is the target prompt.
func newTraceInput() textinput.Model {
	ti := textinput.New()
	ti.Prompt = "to: "
	ti.Placeholder = "NODE or ADDRESS [icmp|tcp|udp [PORT]]"
	ti.CharLimit = 80
	return ti
}

// openTrace opens the trace page from node, with the prompt.
func (m *Model) openTrace(node string) tea.Cmd {
	if node == "" {
		m.status = "trace: select a row of a node first"
		return nil
	}
	if _, ok := m.opts.Source.(Tracer); !ok {
		m.status = "trace: not available in this build"
		return nil
	}
	if m.trace == nil || m.trace.from != node {
		m.cancelTrace()
		m.trace = &traceRun{from: node}
		m.traceInput.SetValue("")
	}
	m.trace.typing, m.trace.bad = true, ""
	m.page = &page{title: "Trace from " + node, kind: pageTrace, live: func(m *Model) []string { return m.traceLines() }}
	return m.traceInput.Focus()
}

// traceKey handles a key while the target prompt is open.
func (m Model) traceKey(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	tr := m.trace
	switch msg.Type {
	case tea.KeyCtrlC:
		m.cancelTrace()
		return m, tea.Quit
	case tea.KeyEsc:
		tr.typing = false
		m.traceInput.Blur()
		if !tr.running && tr.res == nil && tr.err == nil && !tr.cancelled {
			m.page = nil // nothing to show behind the prompt
		}
		return m, nil
	case tea.KeyEnter:
		q, err := parseTraceQuery(m.traceInput.Value(), m.nodeNames())
		if err != nil {
			tr.bad = err.Error()
			return m, nil
		}
		tr.typing, tr.bad = false, ""
		m.traceInput.Blur()
		return m, m.startTrace(q)
	}
	var cmd tea.Cmd
	m.traceInput, cmd = m.traceInput.Update(msg)
	return m, cmd
}

// startTrace runs q from the page's node in the background; Esc cancels
// it through its ctx.
func (m *Model) startTrace(q traceQuery) tea.Cmd {
	m.cancelTrace()
	tracer := m.opts.Source.(Tracer)
	ctx, cancel := context.WithCancel(m.opts.Context)
	m.traceSeq++
	tr := m.trace
	tr.query, tr.seq = q, m.traceSeq
	tr.running, tr.started, tr.cancel = true, m.opts.Now(), cancel
	tr.cancelled, tr.res, tr.err = false, nil, nil
	m.page.offset = 0
	m.status = "trace: running from " + tr.from + " to " + q.String() + " (esc cancels)"
	from, seq := tr.from, tr.seq
	return func() tea.Msg {
		res, err := tracer.Trace(ctx, from, q.target, q.proto, q.port)
		return traceMsg{seq: seq, res: res, err: err}
	}
}

// cancelTrace ends the running trace, if any: its ctx is cancelled and
// its result, when it comes, is dropped.
func (m *Model) cancelTrace() {
	tr := m.trace
	if tr == nil || !tr.running {
		return
	}
	tr.cancel()
	tr.running, tr.cancelled = false, true
	m.status = "trace: cancelled"
}

// gotTrace takes in a trace's result.
func (m *Model) gotTrace(msg traceMsg) {
	tr := m.trace
	if tr == nil || !tr.running || msg.seq != tr.seq {
		return // cancelled, or replaced by a newer trace
	}
	tr.cancel() // done: let its ctx go
	tr.running, tr.res, tr.err = false, msg.res, msg.err
	if msg.err == nil && msg.res == nil {
		tr.err = errors.New("the trace returned nothing")
	}
	switch {
	case tr.err != nil:
		m.status = "trace: failed: " + tr.err.Error()
	default:
		m.status = "trace: " + endText(wayEnd(tr.res.Request), tr.res)
	}
}

func wayEnd(w *TraceWay) TraceEnd {
	if w == nil {
		return TraceEnd{What: "lost"}
	}
	return w.End
}

// nodeNames are the nodes of the last snapshot, sorted.
func (m *Model) nodeNames() []string {
	if m.st == nil {
		return nil
	}
	return m.st.NodeNames()
}

// selectedNode is the node of the row under the cursor, or "".
func (m *Model) selectedNode() string {
	rows := m.visibleRows(m.pane)
	if len(rows) == 0 {
		return ""
	}
	i := rows[m.cursor[m.pane]]
	switch m.pane {
	case paneIfaces:
		return m.ifaces[i].node
	case paneLinks:
		return m.links[i].a.node
	case paneProcs:
		return m.procs[i].p.Node
	}
	return m.rules[i].node
}

// traceLines draw the trace page: the prompt when it is open, then the
// trace, running or done.
func (m *Model) traceLines() []string {
	tr := m.trace
	if tr == nil {
		return nil
	}
	var lines []string
	if tr.typing {
		lines = append(lines,
			m.traceInput.View(),
			"    a node or an address, then icmp (the default), tcp or udp and a port",
			"    (7 when left out): server udp 7, 198.51.100.183 tcp 80",
			"    enter runs the trace, esc goes back",
		)
		if tr.bad != "" {
			lines = append(lines, m.styles.Error.Render("    refused: "+tr.bad))
		}
		lines = append(lines, "")
	}
	q := tr.query.String()
	switch {
	case tr.running:
		secs := int(m.opts.Now().Sub(tr.started).Seconds())
		lines = append(lines, fmt.Sprintf("tracing from %s to %s: running for %ds... (esc cancels)", tr.from, q, max(secs, 0)))
	case tr.cancelled:
		lines = append(lines, "trace from "+tr.from+" to "+q+": cancelled (t traces again, esc goes back)")
	case tr.err != nil:
		lines = append(lines, m.styles.Error.Render("trace from "+tr.from+" to "+q+" failed: "+tr.err.Error()))
	case tr.res != nil:
		lines = append(lines, m.resultLines(tr.res)...)
	case !tr.typing:
		lines = append(lines, "t: type a target to trace to")
	}
	return lines
}

// resultLines are a trace's ways, steps grouped by node, each way ended
// by how it ended.
func (m *Model) resultLines(r *TraceResult) []string {
	to := r.Target.String()
	if r.To != "" {
		to = r.To + " (" + to + ")"
	}
	head := "trace from " + r.From + " to " + to + ", " + r.Proto
	if r.Port != 0 {
		head += " port " + strconv.Itoa(int(r.Port))
	}
	lines := []string{m.styles.Title.Render(head), ""}
	ifw := ifaceWidth(r)
	lines = append(lines, m.wayLines("request", r.Request, false, r, ifw)...)
	lines = append(lines, "")
	switch {
	case r.Answer != nil:
		lines = append(lines, m.wayLines("answer", r.Answer, true, r, ifw)...)
	case r.Request != nil && r.Request.End.What == "delivered":
		lines = append(lines, "answer: none came back")
	default:
		lines = append(lines, "answer: none (the request did not arrive)")
	}
	return lines
}

// Widths of the step columns.
const (
	hookWidth  = 11 // "postrouting"
	tableWidth = 12 // "filter (-100)"
)

// stepIndent starts the lines under a step, in its table column.
var stepIndent = strings.Repeat(" ", 4+hookWidth+2)

// wayLines draw one way: its packet, its steps under a line per node
// (again when the way comes back to a node), its end. answer marks the
// translations as conntrack's reverse ones.
func (m *Model) wayLines(name string, w *TraceWay, answer bool, r *TraceResult, ifw int) []string {
	if w == nil {
		return []string{name + ": not seen"}
	}
	lines := []string{m.styles.Header.Render(name) + ": " + w.Packet}
	node := ""
	for _, s := range w.Steps {
		if s.Node != node || node == "" {
			node = s.Node
			lines = append(lines, "  "+m.styles.TabOn.Render(node))
		}
		line, what := stepText(s, ifw)
		full := strings.TrimRight("    "+line+"  "+what, " ")
		if len(full) > m.width && what != "" {
			// A long rule goes on a line of its own, under the table.
			full = strings.TrimRight("    "+line, " ") + "\n" + stepIndent + what
		}
		lines = append(lines, strings.Split(full, "\n")...)
		lines = append(lines, m.natLines(s, answer)...)
	}
	end := "  end: " + endText(w.End, r)
	if w.End.What != "delivered" {
		end = m.styles.Down.Render(end)
	}
	return append(lines, end)
}

// stepText is one step: hook, table (with its priority) and the
// interfaces in a column ifw wide in line; the rule and verdict or the
// route, the longest, in what.
func stepText(s TraceStep, ifw int) (line, what string) {
	table := "-"
	switch {
	case s.Kind == "route":
		table = "route"
	case s.Kind == "bridge":
		table = "bridge"
		if s.Table != "" {
			table += " " + s.Table
		}
	case s.Table != "":
		table = s.Table
	case s.Chain != "":
		table = s.Chain
	}
	if s.Priority != nil && s.Kind != "route" {
		table += " (" + strconv.Itoa(*s.Priority) + ")"
	}
	switch {
	case s.Kind == "route":
		what = dash(s.Route)
	case s.Rule != "":
		// The verdict first and the rule as nft prints it, quotes and
		// all, as netlab trace and netlab status show it.
		what = "rule " + s.Rule
		if s.Verdict != "" {
			what = s.Verdict + "  " + what
		}
	default:
		what = s.Verdict
	}
	line = pad(dash(s.Hook), hookWidth, false) + "  " + pad(table, tableWidth, false)
	if ifw > 0 && s.Kind != "route" { // a route names its interface
		line += "  " + pad(ifaceText(s), ifw, false)
	}
	return line, what
}

// ifaceText is a step's interfaces: "in br0 out eth0".
func ifaceText(s TraceStep) string {
	var f []string
	if s.In != "" {
		f = append(f, "in "+s.In)
	}
	if s.Out != "" {
		f = append(f, "out "+s.Out)
	}
	return strings.Join(f, " ")
}

// ifaceWidth is the width of the interfaces column of r's steps, at
// most 24.
func ifaceWidth(r *TraceResult) int {
	w := 0
	for _, way := range []*TraceWay{r.Request, r.Answer} {
		if way == nil {
			continue
		}
		for _, s := range way.Steps {
			w = max(w, len(ifaceText(s)))
		}
	}
	return min(w, 24)
}

// natLines say, under a step that changed the packet's addresses, which
// changed and how: "SNAT  src A -> B", in words and highlighted. In the
// answer's way the change is conntrack undoing the request's NAT.
func (m *Model) natLines(s TraceStep, answer bool) []string {
	if s.Before == nil || s.After == nil {
		return nil
	}
	var out []string
	one := func(label, field, before, after string) {
		if before == after {
			return
		}
		if answer {
			label = "NAT back (conntrack)"
		}
		out = append(out, stepIndent+label+"  "+field+" "+m.styles.NAT.Render(before+" -> "+after))
	}
	one("SNAT", "src", s.Before.Src, s.After.Src)
	one("DNAT", "dst", s.Before.Dst, s.After.Dst)
	return out
}

// endText says how a way ended, in words.
func endText(e TraceEnd, r *TraceResult) string {
	at := e.Node
	if e.Hook != "" {
		at += " " + e.Hook
	}
	switch e.What {
	case "delivered":
		to := e.Node
		if to == "" && r != nil {
			to = r.To
		}
		if to == "" && r != nil {
			to = r.Target.String()
		}
		return "delivered to " + to
	case "dropped":
		by := e.Rule
		switch {
		case by == "":
			by = "a drop"
		case !strings.HasPrefix(by, "policy"):
			by = "rule " + by
		}
		return "DROPPED at " + at + " by " + by
	case "no-route":
		s := "NO ROUTE at " + dash(at)
		if e.Reason != "" {
			s += ": " + e.Reason
		}
		return s
	case "left-machine":
		return "LEFT THIS MACHINE at " + at + ": the rest is on another machine"
	case "lost":
		if e.Node == "" {
			return "LOST: not seen anywhere"
		}
		return "LOST after " + at + ": nothing seen after it"
	}
	return e.What
}
