package tui

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"netlab/lab/state"
)

// ConntrackLister is implemented by sources that read a node's
// connection-tracking table (netlab conntrack).
type ConntrackLister interface {
	Conntrack(ctx context.Context, node string) ([]ConntrackEntry, error)
}

// ConntrackEntry is one tracked connection as the UI shows it: netlab
// tui fills it from the kernel's entry, with lab/conntrack's words for
// the tuples and the translation (the UI never imports the kernel's
// packages).
type ConntrackEntry struct {
	Proto   string // tcp, udp, icmp...
	State   string // TCP's state, "" for others
	Timeout time.Duration
	// Orig and Reply are the two directions, "192.168.31.11:40001 ->
	// 198.51.100.183:7"; NAT is SNAT, DNAT, SNAT+DNAT, or "" when the
	// reply mirrors the original.
	Orig, Reply string
	NAT         string
	Assured     bool
	SeenReply   bool
	// Counters is set when the kernel counts packets and bytes.
	Counters                 bool
	OrigPackets, OrigBytes   uint64
	ReplyPackets, ReplyBytes uint64
}

// ctView is the conntrack page's state: the node, its last reading.
type ctView struct {
	node     string
	rows     []ConntrackEntry
	err      error
	at       time.Time
	read     bool // a reading came
	fetching bool
}

// conntrackMsg carries one reading of node's table.
type conntrackMsg struct {
	node string
	rows []ConntrackEntry
	err  error
	at   time.Time
}

// openConntrack opens the conntrack page of node and reads its table.
func (m *Model) openConntrack(node string) tea.Cmd {
	if node == "" {
		m.status = "conntrack: select a row of a node first"
		return nil
	}
	if _, ok := m.opts.Source.(ConntrackLister); !ok {
		m.status = "conntrack: not available in this build"
		return nil
	}
	m.cancelTrace()
	m.ct = &ctView{node: node}
	m.page = &page{title: "Conntrack of " + node + " (refreshes every " + m.opts.Interval.String() + ")", kind: pageConntrack,
		live:   func(m *Model) []string { return m.conntrackLines() },
		header: func(m *Model) string { return m.conntrackHeader() }}
	return m.fetchConntrack()
}

// fetchConntrack reads the open page's table, unless a reading is under
// way; the page refreshes with every snapshot.
func (m *Model) fetchConntrack() tea.Cmd {
	ct := m.ct
	if ct == nil || ct.fetching {
		return nil
	}
	ct.fetching = true
	src, ctx, now, node := m.opts.Source.(ConntrackLister), m.opts.Context, m.opts.Now, ct.node
	return func() tea.Msg {
		rows, err := src.Conntrack(ctx, node)
		return conntrackMsg{node: node, rows: rows, err: err, at: now()}
	}
}

// gotConntrack takes in a reading, sorted so that rows keep their place
// from one refresh to the next.
func (m *Model) gotConntrack(msg conntrackMsg) {
	ct := m.ct
	if ct == nil || ct.node != msg.node {
		return // the page was closed, or opened on another node
	}
	ct.fetching, ct.read, ct.err, ct.at = false, true, msg.err, msg.at
	if msg.err != nil {
		return
	}
	ct.rows = append(ct.rows[:0], msg.rows...)
	sort.SliceStable(ct.rows, func(i, j int) bool {
		a, b := ct.rows[i], ct.rows[j]
		if a.Proto != b.Proto {
			return a.Proto < b.Proto
		}
		if a.Orig != b.Orig {
			return a.Orig < b.Orig
		}
		return a.Reply < b.Reply
	})
}

// conntrackHeader is the page's column header, fixed above the rows.
func (m *Model) conntrackHeader() string {
	if m.ct == nil || len(m.ct.rows) == 0 {
		return ""
	}
	wo, _, two := m.ctWidths()
	h := fmt.Sprintf("%-5s %-11s %7s %-9s ", "PROTO", "STATE", "TIMEOUT", "NAT")
	if two {
		h += "ORIGINAL (the reply under it)"
	} else {
		h += fmt.Sprintf("%-*s REPLY", wo, "ORIGINAL")
	}
	return m.styles.Header.Render(strings.TrimRight(h, " "))
}

// ctWidths are the widths of the original and reply columns, and whether
// a row takes two lines (the reply under the original) to fit the width.
func (m *Model) ctWidths() (orig, reply int, two bool) {
	orig, reply = len("ORIGINAL"), len("REPLY")
	for _, r := range m.ct.rows {
		orig, reply = max(orig, len(r.Orig)), max(reply, len(r.Reply))
	}
	const fixed = 5 + 1 + 11 + 1 + 7 + 1 + 9 + 1 // PROTO STATE TIMEOUT NAT
	return orig, reply, fixed+orig+1+reply+2+28 > m.width
}

// conntrackLines draw the page: one row per connection (two on a narrow
// terminal), the NAT column in words and highlighted.
func (m *Model) conntrackLines() []string {
	ct := m.ct
	switch {
	case ct == nil:
		return nil
	case !ct.read:
		return []string{"Reading the conntrack table of " + ct.node + "..."}
	case ct.err != nil:
		return []string{m.styles.Error.Render("Cannot read the conntrack table of " + ct.node + ": " + ct.err.Error()),
			"Trying again every " + m.opts.Interval.String() + "."}
	case len(ct.rows) == 0:
		return []string{"No connection is tracked in " + ct.node + " (its table is empty).",
			"Send traffic through it (t traces a probe) and the entries show here."}
	}
	wo, _, two := m.ctWidths()
	indent := strings.Repeat(" ", 5+1) // under STATE: the reply and the counters fit 80 columns
	lines := make([]string, 0, len(ct.rows)*2+2)
	nat := 0
	for _, r := range ct.rows {
		natCell := pad(dash(r.NAT), 9, false)
		if r.NAT != "" {
			natCell = m.styles.NAT.Render(natCell)
			nat++
		}
		line := fmt.Sprintf("%-5s %-11s %7s %s %-*s", r.Proto, dash(r.State), timeoutText(r.Timeout), natCell, wo, r.Orig)
		tail := ctCounters(r) + "  " + ctFlags(r)
		if two {
			lines = append(lines, strings.TrimRight(line, " "), strings.TrimRight(indent+"reply "+r.Reply+"  "+tail, " "))
			continue
		}
		lines = append(lines, strings.TrimRight(line+" "+r.Reply+"  "+tail, " "))
	}
	lines = append(lines, "", fmt.Sprintf("%d connection(s), %d translated; read %s", len(ct.rows), nat, ct.at.Format("15:04:05")))
	return lines
}

// ctCounters are a row's packets and bytes, original/reply.
func ctCounters(r ConntrackEntry) string {
	if !r.Counters {
		return "pkts -"
	}
	return fmt.Sprintf("pkts %d/%d bytes %d/%d", r.OrigPackets, r.ReplyPackets, r.OrigBytes, r.ReplyBytes)
}

// ctFlags are conntrack(8)'s flags: [UNREPLIED], [ASSURED].
func ctFlags(r ConntrackEntry) string {
	var f []string
	if !r.SeenReply {
		f = append(f, "[UNREPLIED]")
	}
	if r.Assured {
		f = append(f, "[ASSURED]")
	}
	return strings.Join(f, " ")
}

// timeoutText is a timeout in at most 7 characters, as uptimes are
// shown: 29s, 4m59s, 4d23h.
func timeoutText(d time.Duration) string { return state.Uptime(d.Round(time.Second)) }
