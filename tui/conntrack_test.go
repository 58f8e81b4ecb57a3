package tui

import (
	"errors"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
)

// hostTable is the host's conntrack table of the default lab after a
// UDP probe from c2 (masqueraded) and a published port (DNAT), and one
// untranslated ping, listed in no particular order.
func hostTable(timeout time.Duration) []ConntrackEntry {
	return []ConntrackEntry{
		{Proto: "udp", Timeout: timeout,
			Orig: "192.168.31.11:40001 -> 198.51.100.183:7", Reply: "198.51.100.183:7 -> 198.51.100.86:40001",
			NAT: "SNAT", SeenReply: true, Counters: true, OrigPackets: 1, OrigBytes: 29, ReplyPackets: 1, ReplyBytes: 29},
		{Proto: "tcp", State: "ESTABLISHED", Timeout: 431999 * time.Second,
			Orig: "198.51.100.183:50000 -> 198.51.100.86:8080", Reply: "192.168.31.10:80 -> 198.51.100.183:50000",
			NAT: "DNAT", SeenReply: true, Assured: true},
		{Proto: "icmp", Timeout: timeout,
			Orig: "192.168.31.10 -> 192.168.31.1 id 4711", Reply: "192.168.31.1 -> 192.168.31.10 id 4711"},
	}
}

// openCT selects the host (the Rules pane's first row) and opens its
// conntrack page: the model and the page's first reading.
func openCT(t *testing.T, m Model) (Model, tea.Msg) {
	t.Helper()
	m = press(t, m, "tab", "tab")
	m, cmd := send(t, m, keyMsg("n"))
	if cmd == nil || !strings.HasPrefix(m.Page(), "Conntrack of host (refreshes every ") {
		t.Fatalf("n: page %q, command %v", m.Page(), cmd != nil)
	}
	return m, cmd()
}

// TestConntrackView draws the page: SNAT and DNAT rows with the NAT
// column in words, sorted by protocol and tuple; two lines a row on 80
// columns, one on a wide terminal; an empty table; an error.
func TestConntrackView(t *testing.T) {
	tests := []struct {
		name string
		w, h int
		rows []ConntrackEntry
		err  error
	}{
		{name: "nat_80x24", w: 80, h: 24, rows: hostTable(29 * time.Second)},
		{name: "nat_160x30", w: 160, h: 30, rows: hostTable(29 * time.Second)},
		{name: "empty", w: 80, h: 24, rows: []ConntrackEntry{}},
		{name: "error", w: 80, h: 24, err: errors.New("open namespace single-ip.host: permission denied")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := &traceSource{ct: [][]ConntrackEntry{tc.rows}, ctErr: tc.err}
			m, msg := openCT(t, traceModel(t, tc.w, tc.h, src))
			m, _ = send(t, m, msg)
			got := m.View()
			checkShape(t, got, tc.w, tc.h)
			requireGolden(t, got)
		})
	}
	// In words, whatever the colours.
	src := &traceSource{ct: [][]ConntrackEntry{hostTable(29 * time.Second)}}
	m, msg := openCT(t, traceModel(t, 160, 30, src))
	m, _ = send(t, m, msg)
	v := m.View()
	for _, want := range []string{
		"icmp  -               29s -         192.168.31.10 -> 192.168.31.1 id 4711",
		"tcp   ESTABLISHED   4d23h DNAT      198.51.100.183:50000 -> 198.51.100.86:8080",
		"udp   -               29s SNAT      192.168.31.11:40001 -> 198.51.100.183:7",
		"198.51.100.183:7 -> 198.51.100.86:40001  pkts 1/1 bytes 29/29",
		"[ASSURED]",
		"[UNREPLIED]",
		"3 connection(s), 2 translated",
	} {
		if !strings.Contains(v, want) {
			t.Errorf("the conntrack page lacks %q:\n%s", want, v)
		}
	}
	if src.ctNodes[0] != "host" {
		t.Errorf("read the table of %q, want host", src.ctNodes[0])
	}
}

// TestConntrackRefresh: the open page reads the table again with every
// snapshot (one reading at a time), rows keep their order as the kernel
// lists them differently, and closing the page stops the readings.
func TestConntrackRefresh(t *testing.T) {
	first := hostTable(29 * time.Second)
	second := hostTable(28 * time.Second)
	second[0], second[2] = second[2], second[0] // listed in another order
	second = append(second, ConntrackEntry{Proto: "udp", Timeout: 30 * time.Second,
		Orig: "192.168.31.12:40003 -> 198.51.100.183:7", Reply: "198.51.100.183:7 -> 198.51.100.86:40003", NAT: "SNAT"})
	src := &traceSource{ct: [][]ConntrackEntry{first, second}}
	m := traceModel(t, 160, 30, src)
	m.opts.Interval = time.Millisecond // the refresh ticks come at once
	m, msg := openCT(t, m)
	m, _ = send(t, m, msg)
	if !strings.Contains(m.View(), "29s SNAT") {
		t.Fatalf("first reading not shown:\n%s", m.View())
	}

	// A snapshot: the page reads again.
	m, cmd := send(t, m, snap(3))
	got := runCmds(t, cmd)
	if len(got) != 1 {
		t.Fatalf("a snapshot started %d conntrack readings, want 1", len(got))
	}
	// Another snapshot while that reading is under way starts none.
	if _, cmd := send(t, m, snap(4)); len(runCmds(t, cmd)) != 0 {
		t.Error("a snapshot during a reading started another")
	}
	m, _ = send(t, m, got[0])
	v := m.View()
	order := []string{"icmp  -               28s", "tcp   ESTABLISHED", "udp   -               28s SNAT      192.168.31.11:40001", "udp   -               30s SNAT      192.168.31.12:40003"}
	last := -1
	for _, o := range order {
		i := strings.Index(v, o)
		if i < 0 || i < last {
			t.Fatalf("after the refresh, %q is missing or out of order:\n%s", o, v)
		}
		last = i
	}

	// Closed: no more readings.
	m = press(t, m, "esc")
	if m.Page() != "" {
		t.Fatalf("esc left page %q", m.Page())
	}
	_, cmd = send(t, m, snap(5))
	if n := len(runCmds(t, cmd)); n != 0 {
		t.Errorf("with the page closed a snapshot started %d conntrack readings", n)
	}
	// A reading that comes after the page closed is dropped.
	m, _ = send(t, m, conntrackMsg{node: "host", rows: first})
	if m.ct != nil {
		t.Error("a late reading reopened the conntrack state")
	}
}

// runCmds runs cmd and the commands of its batches, and returns the
// conntrack readings among their messages (the refresh ticks, at the
// model's short interval, return at once).
func runCmds(t *testing.T, cmd tea.Cmd) []tea.Msg {
	t.Helper()
	if cmd == nil {
		return nil
	}
	var out []tea.Msg
	switch msg := cmd().(type) {
	case tea.BatchMsg:
		for _, c := range msg {
			out = append(out, runCmds(t, c)...)
		}
	case conntrackMsg:
		out = append(out, msg)
	}
	return out
}

func TestTimeoutText(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 29 * time.Second: "29s", 299 * time.Second: "4m59s", 2*time.Hour + 5*time.Minute: "2h05m",
		431999 * time.Second: "4d23h", 1500 * time.Millisecond: "2s",
	} {
		if got := timeoutText(d); got != want {
			t.Errorf("timeoutText(%v) = %q, want %q", d, got, want)
		}
	}
}
