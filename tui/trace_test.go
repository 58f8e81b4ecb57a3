package tui

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/google/go-cmp/cmp"

	"netlab/lab/state"
)

// traceCall is one call to a traceSource's Trace.
type traceCall struct {
	from, target, proto string
	port                uint16
}

// traceSource is a fakeSource that traces and reads conntrack tables
// from fixed data. With block set, Trace waits for its ctx to end and
// reports the ctx's error on ended.
type traceSource struct {
	fakeSource
	res   *TraceResult
	err   error
	block bool
	ended chan error

	mu    sync.Mutex
	calls []traceCall
	// ct are the tables of successive readings; the last one again once
	// they run out.
	ct      [][]ConntrackEntry
	ctErr   error
	ctCalls int
	ctNodes []string
}

func (s *traceSource) Trace(ctx context.Context, from, target, proto string, port uint16) (*TraceResult, error) {
	s.mu.Lock()
	s.calls = append(s.calls, traceCall{from, target, proto, port})
	s.mu.Unlock()
	if s.block {
		<-ctx.Done()
		s.ended <- ctx.Err()
		return nil, ctx.Err()
	}
	return s.res, s.err
}

func (s *traceSource) Conntrack(_ context.Context, node string) ([]ConntrackEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ctNodes = append(s.ctNodes, node)
	if s.ctErr != nil {
		return nil, s.ctErr
	}
	i := min(s.ctCalls, len(s.ct)-1)
	s.ctCalls++
	return s.ct[i], nil
}

func prio(p int) *int { return &p }

// snatResult is the UDP trace of the default lab from c2 to the server:
// masqueraded at the host's postrouting, the answer translated back at
// its prerouting.
func snatResult() *TraceResult {
	before := &TraceAddrs{Src: "192.168.31.11:40001", Dst: "198.51.100.183:7"}
	after := &TraceAddrs{Src: "198.51.100.86:40001", Dst: "198.51.100.183:7"}
	return &TraceResult{
		From: "c2", To: "server", Target: netip.MustParseAddr("198.51.100.183"), Proto: "udp", Port: 7,
		Request: &TraceWay{
			Packet: "udp 192.168.31.11:40001 -> 198.51.100.183:7",
			Steps: []TraceStep{
				{Node: "c2", Kind: "route", Hook: "output", Route: "-> veth0 via 192.168.31.1"},
				{Node: "c2", Kind: "hook", Hook: "output", Verdict: "accept", Out: "veth0"},
				{Node: "c2", Kind: "hook", Hook: "postrouting", Verdict: "accept", Out: "veth0"},
				{Node: "host", Kind: "bridge", Hook: "prerouting", In: "veth2"},
				{Node: "host", Kind: "hook", Hook: "prerouting", In: "br0"},
				{Node: "host", Kind: "route", Hook: "forward", Route: "-> eth0 (on link)"},
				{Node: "host", Kind: "hook", Hook: "forward", Table: "filter", Chain: "filter_forward", Priority: prio(0), Verdict: "policy accept", In: "br0", Out: "eth0"},
				{Node: "host", Kind: "hook", Hook: "postrouting", Table: "nat", Chain: "nat_postrouting", Priority: prio(100),
					Rule: `ip saddr 192.168.31.0/24 oifname "eth0" counter masquerade`, Verdict: "accept", Out: "eth0", Before: before, After: after},
				{Node: "server", Kind: "hook", Hook: "prerouting", In: "eth0"},
				{Node: "server", Kind: "hook", Hook: "input", In: "eth0"},
			},
			End: TraceEnd{What: "delivered", Node: "server"},
		},
		Answer: &TraceWay{
			Packet: "udp 198.51.100.183:7 -> 198.51.100.86:40001",
			Steps: []TraceStep{
				{Node: "server", Kind: "route", Hook: "output", Route: "-> eth0 (on link)"},
				{Node: "server", Kind: "hook", Hook: "output", Out: "eth0"},
				{Node: "host", Kind: "hook", Hook: "prerouting", In: "eth0",
					Before: &TraceAddrs{Src: "198.51.100.183:7", Dst: "198.51.100.86:40001"},
					After:  &TraceAddrs{Src: "198.51.100.183:7", Dst: "192.168.31.11:40001"}},
				{Node: "host", Kind: "hook", Hook: "forward", Table: "filter", Chain: "filter_forward", Priority: prio(0), Verdict: "policy accept", In: "eth0", Out: "br0"},
				{Node: "c2", Kind: "hook", Hook: "input", In: "veth0"},
			},
			End: TraceEnd{What: "delivered", Node: "c2"},
		},
	}
}

// droppedResult is a request dropped by the host's forward policy.
func droppedResult() *TraceResult {
	return &TraceResult{
		From: "c2", To: "server", Target: netip.MustParseAddr("198.51.100.183"), Proto: "tcp", Port: 80,
		Request: &TraceWay{
			Packet: "tcp 192.168.31.11:40002 -> 198.51.100.183:80",
			Steps: []TraceStep{
				{Node: "c2", Kind: "route", Hook: "output", Route: "-> veth0 via 192.168.31.1"},
				{Node: "host", Kind: "hook", Hook: "prerouting", In: "br0"},
				{Node: "host", Kind: "hook", Hook: "forward", Table: "filter", Chain: "filter_forward", Priority: prio(0), Verdict: "policy drop", In: "br0", Out: "eth0"},
			},
			End: TraceEnd{What: "dropped", Node: "host", Hook: "forward", Rule: "policy drop"},
		},
	}
}

// traceModel is the default lab running, with src as its source.
func traceModel(t *testing.T, w, h int, src *traceSource) Model {
	t.Helper()
	if src.states == nil {
		src.states = []*state.State{singleIP(1)}
	}
	return running(t, w, h, Options{Source: src, Now: func() time.Time { return t0.Add(3 * time.Second) }})
}

// typeText presses each rune of s.
func typeText(t *testing.T, m Model, s string) Model {
	t.Helper()
	for _, r := range s {
		m, _ = send(t, m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
	return m
}

// runTrace selects c2, types q and presses Enter: the model with the
// trace running, and the trace's command.
func runTrace(t *testing.T, m Model, q string) (Model, tea.Cmd) {
	t.Helper()
	m = press(t, m, "j", "j", "t") // c2/lo
	if m.Page() != "Trace from c2" {
		t.Fatalf("t opened page %q, want Trace from c2", m.Page())
	}
	m = typeText(t, m, q)
	m, cmd := send(t, m, keyMsg("enter"))
	if cmd == nil {
		t.Fatalf("enter after %q started no trace (page:\n%s)", q, m.View())
	}
	return m, cmd
}

func TestParseTraceQuery(t *testing.T) {
	nodes := []string{"c1", "c2", "host", "server"}
	tests := []struct {
		in      string
		want    traceQuery
		wantErr string
	}{
		{in: "server", want: traceQuery{target: "server", proto: "icmp"}},
		{in: "server udp", want: traceQuery{target: "server", proto: "udp", port: 7}},
		{in: "  server   UDP  53 ", want: traceQuery{target: "server", proto: "udp", port: 53}},
		{in: "198.51.100.183 tcp 80", want: traceQuery{target: "198.51.100.183", proto: "tcp", port: 80}},
		{in: "::ffff:198.51.100.183", want: traceQuery{target: "198.51.100.183", proto: "icmp"}},
		{in: "2001:db8::1 udp 7", want: traceQuery{target: "2001:db8::1", proto: "udp", port: 7}},
		{in: "", wantErr: "type a target"},
		{in: "a b c d", wantErr: "too many words"},
		{in: "nosuch", wantErr: `"nosuch" is neither an address nor a node of the lab (nodes: c1, c2, host, server)`},
		{in: "../etc", wantErr: "neither an address nor a node"},
		{in: "server sctp", wantErr: `protocol "sctp": use icmp, tcp or udp`},
		{in: "server icmp 7", wantErr: "icmp has no port"},
		{in: "server udp 0", wantErr: `port "0"`},
		{in: "server udp 65536", wantErr: `port "65536"`},
		{in: "server udp x", wantErr: `port "x"`},
	}
	for _, tc := range tests {
		got, err := parseTraceQuery(tc.in, nodes)
		switch {
		case tc.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: error %v, want one with %q", tc.in, err, tc.wantErr)
			}
		case err != nil:
			t.Errorf("%q: %v", tc.in, err)
		case got != tc.want:
			t.Errorf("%q = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

// TestTraceView draws the trace page: a way with a SNAT and its answer
// translated back, a dropped way, a failed trace, one under way, a target
// refused. Goldens without colour: every meaning is in the text.
func TestTraceView(t *testing.T) {
	tests := []struct {
		name    string
		w, h    int
		res     *TraceResult
		err     error
		query   string
		running bool
	}{
		{name: "snat", w: 120, h: 44, res: snatResult(), query: "server udp 7"},
		{name: "snat_80x24", w: 80, h: 24, res: snatResult(), query: "server udp 7"},
		{name: "dropped", w: 80, h: 24, res: droppedResult(), query: "server tcp 80"},
		{name: "error", w: 80, h: 24, err: errors.New("node c2: open namespace: permission denied"), query: "server"},
		{name: "running", w: 80, h: 24, running: true, query: "198.51.100.183"},
		{name: "refused", w: 80, h: 24, query: "serverr udp"},
		{name: "refused_empty", w: 80, h: 24, query: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := &traceSource{res: tc.res, err: tc.err}
			m := traceModel(t, tc.w, tc.h, src)
			m = press(t, m, "j", "j", "t")
			m = typeText(t, m, tc.query)
			m, cmd := send(t, m, keyMsg("enter"))
			switch {
			case strings.HasPrefix(tc.name, "refused"):
				if cmd != nil {
					t.Fatal("a refused target started a trace")
				}
			case !tc.running:
				m, _ = send(t, m, cmd())
			}
			got := m.View()
			checkShape(t, got, tc.w, tc.h)
			requireGolden(t, got)
		})
	}
}

// TestTraceViewText checks what the goldens show, in words: the
// translation with its label and arrow, the end of each way.
func TestTraceViewText(t *testing.T) {
	m := traceModel(t, 120, 44, &traceSource{res: snatResult()})
	m, cmd := runTrace(t, m, "server udp 7")
	m, _ = send(t, m, cmd())
	v := m.View()
	for _, want := range []string{
		"request: udp 192.168.31.11:40001 -> 198.51.100.183:7",
		// The rule as nft and netlab trace print it: its quotes not escaped.
		`postrouting  nat (100)     out eth0         accept  rule ip saddr 192.168.31.0/24 oifname "eth0" counter masquerade`,
		"SNAT  src 192.168.31.11:40001 -> 198.51.100.86:40001",
		"NAT back (conntrack)  dst 198.51.100.86:40001 -> 192.168.31.11:40001",
		"end: delivered to server",
		"end: delivered to c2",
		"prerouting   bridge        in veth2",
	} {
		if !strings.Contains(v, want) {
			t.Errorf("the trace page lacks %q:\n%s", want, v)
		}
	}
	if want := "trace: delivered to server"; m.status != want {
		t.Errorf("status %q, want %q", m.status, want)
	}

	m = traceModel(t, 80, 24, &traceSource{res: droppedResult()})
	m, cmd = runTrace(t, m, "server tcp 80")
	m, _ = send(t, m, cmd())
	v = m.View()
	for _, want := range []string{"end: DROPPED at host forward by policy drop", "answer: none (the request did not arrive)"} {
		if !strings.Contains(v, want) {
			t.Errorf("the dropped trace lacks %q:\n%s", want, v)
		}
	}
	byRule := TraceEnd{What: "dropped", Node: "fw", Hook: "forward", Rule: `iifname "lan" tcp dport 25 drop`}
	if got, want := endText(byRule, nil), `DROPPED at fw forward by rule iifname "lan" tcp dport 25 drop`; got != want {
		t.Errorf("end of a way a rule dropped: %q, want %q", got, want)
	}
}

// TestTraceArgs: the trace runs from the selected row's node with what
// was typed.
func TestTraceArgs(t *testing.T) {
	for _, tc := range []struct {
		keys []string
		q    string
		want traceCall
	}{
		{keys: []string{"j", "j"}, q: "server udp 53", want: traceCall{"c2", "server", "udp", 53}},
		{keys: []string{"tab", "tab"}, q: "192.168.31.10", want: traceCall{"host", "192.168.31.10", "icmp", 0}},
		{keys: []string{"shift+tab", "j"}, q: "c1 tcp", want: traceCall{"server", "c1", "tcp", 7}},
	} {
		src := &traceSource{res: snatResult()}
		m := traceModel(t, 80, 24, src)
		m = press(t, m, tc.keys...)
		m = press(t, m, "t")
		m = typeText(t, m, tc.q)
		_, cmd := send(t, m, keyMsg("enter"))
		if cmd == nil {
			t.Fatalf("%v %q: no trace started", tc.keys, tc.q)
		}
		cmd()
		if diff := cmp.Diff([]traceCall{tc.want}, src.calls, cmp.AllowUnexported(traceCall{})); diff != "" {
			t.Errorf("%v %q: calls (-want +got):\n%s", tc.keys, tc.q, diff)
		}
	}
}

// TestTraceCancel: Esc while a trace runs cancels its ctx (the source
// sees it), the page says so, and the result that comes after is
// dropped. A second Esc closes the page.
func TestTraceCancel(t *testing.T) {
	src := &traceSource{block: true, ended: make(chan error, 1)}
	m := traceModel(t, 80, 24, src)
	m, cmd := runTrace(t, m, "server udp 7")
	if !strings.Contains(m.View(), "tracing from c2 to server udp 7: running for 0s... (esc cancels)") {
		t.Errorf("the page does not say the trace runs:\n%s", m.View())
	}
	done := make(chan tea.Msg, 1)
	go func() { done <- cmd() }()
	// Enter closes other pages; here the trace would run on unseen.
	m = press(t, m, "enter")
	if m.Page() != "Trace from c2" || !m.trace.running {
		t.Fatalf("enter while tracing: page %q, running %v", m.Page(), m.trace.running)
	}

	m, _ = send(t, m, keyMsg("esc"))
	select {
	case err := <-src.ended:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("the trace's ctx ended with %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("esc did not cancel the trace's ctx")
	}
	late := <-done
	m, _ = send(t, m, late)
	if m.Page() != "Trace from c2" || m.status != "trace: cancelled" {
		t.Errorf("after esc: page %q, status %q; want the trace page, trace: cancelled", m.Page(), m.status)
	}
	if v := m.View(); !strings.Contains(v, "trace from c2 to server udp 7: cancelled") || strings.Contains(v, "failed") {
		t.Errorf("after esc the page shows:\n%s", v)
	}
	m = press(t, m, "esc")
	if m.Page() != "" {
		t.Errorf("a second esc left page %q open", m.Page())
	}
}

// TestTraceKeys: Esc in the prompt goes back without tracing; Enter on a
// bad target keeps the prompt with the reason; t on a finished trace
// types a new target; q while typing is text, not quit; a new trace
// drops the result of the one it replaced.
func TestTraceKeys(t *testing.T) {
	src := &traceSource{res: snatResult()}
	m := traceModel(t, 80, 24, src)
	m = press(t, m, "j", "j", "t")
	m = typeText(t, m, "q")
	if m.Page() != "Trace from c2" || m.traceInput.Value() != "q" {
		t.Fatalf("q in the prompt: page %q, input %q", m.Page(), m.traceInput.Value())
	}
	m = press(t, m, "esc")
	if m.Page() != "" || len(src.calls) != 0 {
		t.Fatalf("esc in an empty trace page: page %q, %d traces", m.Page(), len(src.calls))
	}

	m = press(t, m, "t", "backspace")
	m = typeText(t, m, "nosuch")
	m, cmd := send(t, m, keyMsg("enter"))
	if cmd != nil || !strings.Contains(m.View(), `refused: "nosuch" is neither an address nor a node`) {
		t.Fatalf("a bad target: cmd %v, page:\n%s", cmd != nil, m.View())
	}

	m = press(t, m, "esc", "t")
	m.traceInput.SetValue("")
	m = typeText(t, m, "server udp")
	m, first := send(t, m, keyMsg("enter"))
	// t while it runs: a new target, and a second trace that replaces it.
	m = press(t, m, "t")
	m.traceInput.SetValue("")
	m = typeText(t, m, "c1")
	m, second := send(t, m, keyMsg("enter"))
	m, _ = send(t, m, first()) // the first's result, late: dropped
	if m.trace.running != true {
		t.Error("the result of a replaced trace ended the new one")
	}
	src.res = droppedResult()
	m, _ = send(t, m, second())
	if v := m.View(); !strings.Contains(v, "DROPPED") {
		t.Errorf("the second trace's result is not shown:\n%s", v)
	}
	// Esc on a finished trace goes back; t opens it again with its result.
	m = press(t, m, "esc")
	m = press(t, m, "t")
	if v := m.View(); !strings.Contains(v, "to: c1") || !strings.Contains(v, "DROPPED") {
		t.Errorf("t again does not keep the last target and result:\n%s", v)
	}
}

// TestTraceNotAvailable: without a Tracer, t says so.
func TestTraceNotAvailable(t *testing.T) {
	m := running(t, 80, 24, Options{})
	m = press(t, m, "t")
	if m.Page() != "" || m.status != "trace: not available in this build" {
		t.Errorf("page %q, status %q", m.Page(), m.status)
	}
	m = press(t, m, "n")
	if m.Page() != "" || m.status != "conntrack: not available in this build" {
		t.Errorf("page %q, status %q", m.Page(), m.status)
	}
}

// TestTraceScroll: a way longer than the screen scrolls to its end.
func TestTraceScroll(t *testing.T) {
	m := traceModel(t, 80, 24, &traceSource{res: snatResult()})
	m, cmd := runTrace(t, m, "server udp 7")
	m, _ = send(t, m, cmd())
	if strings.Contains(m.View(), "end: delivered to c2") {
		t.Fatal("the whole trace fits: the test needs a longer one")
	}
	for i := 0; i < 40; i++ {
		m = press(t, m, "j")
	}
	v := m.View()
	if !strings.Contains(v, "end: delivered to c2") {
		t.Errorf("scrolled down, the answer's end is not shown:\n%s", v)
	}
	checkShape(t, v, 80, 24)
}

// TestTraceConntrackSizes draws the trace and conntrack pages from tiny
// to large: never more lines than the height, none wider than the width.
func TestTraceConntrackSizes(t *testing.T) {
	for _, sz := range [][2]int{{20, 5}, {40, 10}, {60, 15}, {80, 24}, {100, 30}, {200, 60}} {
		src := &traceSource{res: snatResult(), ct: [][]ConntrackEntry{hostTable(time.Minute)}}
		m := traceModel(t, 80, 24, src)
		m, _ = send(t, m, tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
		typing := press(t, m, "j", "j", "t")
		checkShape(t, typing.View(), sz[0], sz[1])
		done, cmd := runTrace(t, m, "server udp")
		done, _ = send(t, done, cmd())
		checkShape(t, done.View(), sz[0], sz[1])
		ct, msg := openCT(t, m)
		ct, _ = send(t, ct, msg)
		checkShape(t, ct.View(), sz[0], sz[1])
	}
}
