package tui

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"strconv"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"netlab/lab/state"
)

// Lines above and below the table: title, drift, tabs, column header;
// sparkline, status, keys.
const (
	chromeTop    = 4
	chromeBottom = 3
)

func (m Model) bodyHeight() int { return max(m.height-chromeTop-chromeBottom, 1) }

// pageHeight is the number of lines of a page shown at once: all but the
// title, drift, page title, status and keys lines, and its header.
func (m Model) pageHeight() int {
	h := m.height - 5
	if m.page != nil && m.page.header != nil {
		h--
	}
	return max(h, 0)
}

// View draws the whole screen: exactly height lines, none wider than width.
func (m Model) View() string {
	lines := make([]string, 0, m.height)
	lines = append(lines, m.titleLine(), m.driftLine())
	if m.page != nil {
		lines = append(lines, m.styles.TabOn.Render(fit(m.page.title+"  (esc: back, j/k: scroll)", m.width)))
		if m.page.header != nil {
			lines = append(lines, fit(m.page.header(&m), m.width))
		}
		all := m.pageLines()
		body := all[min(m.page.offset, len(all)):]
		h := m.pageHeight()
		for i := 0; i < h; i++ {
			if i < len(body) {
				lines = append(lines, fit(body[i], m.width))
			} else {
				lines = append(lines, "")
			}
		}
		lines = append(lines, fit(m.status, m.width))
	} else {
		lines = append(lines, m.tabsLine())
		lines = append(lines, m.table()...)
		lines = append(lines, m.sparkLine(), m.statusLine())
	}
	keys := m.keys.ShortHelp()
	if m.page != nil {
		keys = m.keys.pageHelp(m.page.kind, m.page.kind == pageTrace && m.trace.typing)
	}
	lines = append(lines, m.help.ShortHelpView(keys))
	if len(lines) > m.height {
		lines = lines[:m.height]
	}
	for i, l := range lines {
		if ansi.StringWidth(l) > m.width {
			lines[i] = ansi.Truncate(l, m.width, "")
		}
	}
	return strings.Join(lines, "\n")
}

func (m Model) labName() string {
	if m.st != nil && m.st.Lab != "" {
		return m.st.Lab
	}
	return m.opts.LabName
}

func (m Model) titleLine() string {
	t := "netlab tui: lab " + m.labName()
	if m.st != nil {
		t += fmt.Sprintf(", %d nodes, %d interfaces", len(m.st.Nodes), len(m.ifaces))
	}
	t += ", every " + m.opts.Interval.String()
	if !m.at.IsZero() {
		t += ", read " + m.at.Format("15:04:05")
	}
	// Between two full reads only the counters are read again: say since
	// when the rest (drift, addresses, routes, processes) is as shown.
	if !m.fullAt.IsZero() && !m.fullAt.Equal(m.at) {
		t += ", the rest " + m.fullAt.Format("15:04:05")
	}
	return m.styles.Title.Render(fit(t, m.width))
}

func (m Model) driftLine() string {
	switch {
	case m.plan == nil && m.opts.Lab == nil:
		return fit("drift: not checked (no lab file: run netlab tui FILE to compare)", m.width)
	case m.st != nil && len(m.st.Nodes) == 0:
		return fit("drift: the lab is not running", m.width)
	case m.plan == nil:
		return fit("drift: not known yet", m.width)
	}
	n := len(m.plan.Changes) + len(m.plan.Conflicts)
	if n == 0 {
		return m.styles.OK.Render(fit("drift: none, the lab matches the file", m.width))
	}
	return m.styles.Drift.Render(fit(fmt.Sprintf("DRIFT: %d object(s) differ from the file (p: show the plan)", n), m.width))
}

func (m Model) tabsLine() string {
	var parts []string
	for p := pane(0); p < numPanes; p++ {
		n := len(m.visibleRows(p))
		label := fmt.Sprintf("%s (%d)", p, n)
		if p == m.pane {
			parts = append(parts, m.styles.TabOn.Render("["+label+"]"))
		} else {
			parts = append(parts, m.styles.Tab.Render(" "+label+" "))
		}
	}
	return fit(strings.Join(parts, " ")+" (tab: next)", m.width)
}

func (m Model) statusLine() string {
	switch {
	case m.filtering:
		return m.filter.View()
	case m.filter.Value() != "":
		s := "filter: " + m.filter.Value() + " (esc clears)"
		if m.status != "" {
			s += "  " + m.status
		}
		return fit(s, m.width)
	}
	return fit(m.status, m.width)
}

// table is the column header and the rows of the current pane, or a
// message when there is nothing to show: exactly 1+bodyHeight lines.
func (m Model) table() []string {
	h := m.bodyHeight()
	out := make([]string, 0, h+1)
	if msg := m.emptyMessage(); msg != nil {
		out = append(out, "")
		for _, l := range msg {
			out = append(out, fit(l, m.width))
		}
		for len(out) < h+1 {
			out = append(out, "")
		}
		return out[:h+1]
	}
	cols, cells := m.paneColumns()
	rows := m.visibleRows(m.pane)
	widths := layout(cols, m.width-2)
	out = append(out, m.styles.Header.Render(fit("  "+joinCells(cols, widths, func(c int) string { return cols[c].title }), m.width)))

	off, cur := m.window(len(rows))
	for i := off; i < off+h; i++ {
		if i >= len(rows) {
			out = append(out, "")
			continue
		}
		line := joinCells(cols, widths, func(c int) string { return cells(rows[i], c) })
		if i == cur {
			out = append(out, m.styles.Selected.Render(fit("> "+line, m.width)))
			continue
		}
		text := fit("  "+line, m.width)
		if m.rowDown(rows[i]) {
			text = m.styles.Down.Render(text)
		}
		out = append(out, text)
	}
	return out
}

// window returns the first of the n rows of the pane that the table
// shows, and the cursor's.
func (m Model) window(n int) (off, cur int) {
	h := m.bodyHeight()
	cur = m.cursor[m.pane]
	off = m.offset[m.pane]
	if cur < off {
		off = cur
	}
	if cur >= off+h {
		off = cur - h + 1
	}
	return min(max(off, 0), max(n-1, 0)), cur
}

// rowDown reports whether a row shows a link that is down, to decorate it
// (the STATE column says so in words).
func (m Model) rowDown(i int) bool {
	switch m.pane {
	case paneIfaces:
		return stateText(m.ifaces[i].link) != "up"
	case paneLinks:
		lr := m.links[i]
		return stateText(lr.a.link) != "up" || (lr.b != nil && stateText(lr.b.link) != "up")
	case paneProcs:
		return m.procs[i].p.State != "running"
	}
	return false
}

func (m Model) emptyMessage() []string {
	switch {
	case m.err != nil && errors.Is(m.err, fs.ErrPermission):
		return []string{
			"Cannot read the counters: " + m.err.Error() + ".",
			"Reading the namespaces of a lab needs root: run sudo netlab tui.",
		}
	case m.err != nil:
		return []string{"Cannot read the lab: " + m.err.Error(), "Trying again every " + m.opts.Interval.String() + "."}
	case m.st == nil:
		return []string{"Reading lab " + m.labName() + " from the kernel..."}
	case len(m.st.Nodes) == 0:
		return []string{
			"Lab " + m.labName() + " is not running.",
			"Start it with: " + m.startHint(),
			"This view shows it as soon as it is up.",
		}
	case len(m.visibleRows(m.pane)) == 0 && m.filter.Value() != "":
		return []string{"No " + strings.ToLower(m.pane.String()) + " match the filter " + strconv.Quote(m.filter.Value()) + " (esc clears it)."}
	case len(m.visibleRows(m.pane)) == 0 && m.pane == paneRules:
		return []string{"No node of this lab has netfilter rules."}
	case m.pane == paneProcs && m.procErr != nil:
		return []string{"Cannot read the processes: " + m.procErr.Error()}
	case len(m.visibleRows(m.pane)) == 0 && m.pane == paneProcs:
		return []string{"No process runs in this lab: declare some under a node's run: in the lab file."}
	case len(m.visibleRows(m.pane)) == 0:
		return []string{"Nothing to show."}
	}
	return nil
}

func (m Model) startHint() string {
	if m.opts.StartHint != "" {
		return m.opts.StartHint
	}
	return "sudo netlab up [FILE]"
}

// column is one column of a table: its title, its width (0: as wide as
// what is left), right alignment, and the priority that decides which
// columns a narrow terminal shows (1 always).
type column struct {
	title string
	width int
	right bool
	prio  int
}

// layout returns the width of each column at the given total width, 0 for
// a column left out: the most columns that fit, by priority.
func layout(cols []column, total int) []int {
	for level := 3; level >= 1; level-- {
		w := make([]int, len(cols))
		used, flex := 0, -1
		for i, c := range cols {
			if c.prio > level {
				continue
			}
			if c.width == 0 {
				flex = i
				continue
			}
			w[i] = c.width
			used += c.width + 1
		}
		if flex >= 0 {
			rest := total - used
			if rest < 30 && level > 1 {
				continue
			}
			w[flex] = max(rest, 0)
		}
		if used <= total+1 || level == 1 {
			return w
		}
	}
	return nil
}

func joinCells(cols []column, widths []int, cell func(c int) string) string {
	var b strings.Builder
	first := true
	for i, c := range cols {
		if widths[i] == 0 {
			continue
		}
		if !first {
			b.WriteByte(' ')
		}
		first = false
		b.WriteString(pad(cell(i), widths[i], c.right))
	}
	return strings.TrimRight(b.String(), " ")
}

// paneColumns returns the columns of the current pane and a function that
// renders cell c of row i.
func (m Model) paneColumns() ([]column, func(i, c int) string) {
	switch m.pane {
	case paneIfaces:
		nw, iw := 4, 5
		for _, r := range m.ifaces {
			nw, iw = max(nw, len(r.node)), max(iw, len(r.link.Name))
		}
		nw, iw = min(nw, 12), min(iw, 12)
		pw := 4
		for _, r := range m.ifaces {
			pw = max(pw, len(r.link.Peer))
		}
		pw = min(pw, 16)
		cols := []column{
			{"NODE", nw, false, 1}, {"IFACE", iw, false, 1}, {"KIND", 8, false, 1}, {"STATE", 7, false, 1},
			{"MTU", 5, true, 1}, {"RXp/s", 6, true, 1}, {"TXp/s", 6, true, 1}, {"RXB/s", 6, true, 1}, {"TXB/s", 6, true, 1},
			{"DRP/ERR", 7, true, 1}, {"PEER", pw, false, 2}, {"MASTER", 6, false, 2}, {"RXPKTS", 7, true, 3}, {"TXPKTS", 7, true, 3},
			{"ADDRESSES", 0, false, 2},
		}
		return cols, func(i, c int) string {
			r := m.ifaces[i]
			l := r.link
			switch c {
			case 0:
				return r.node
			case 1:
				return l.Name
			case 2:
				return kindText(l)
			case 3:
				return stateText(l)
			case 4:
				return strconv.Itoa(l.MTU)
			case 5:
				return human(r.rates.RxPackets)
			case 6:
				return human(r.rates.TxPackets)
			case 7:
				return human(r.rates.RxBytes)
			case 8:
				return human(r.rates.TxBytes)
			case 9:
				return count(l.Stats.RxDropped+l.Stats.TxDropped) + "/" + count(l.Stats.RxErrors+l.Stats.TxErrors)
			case 10:
				return dash(l.Peer)
			case 11:
				return masterText(l)
			case 12:
				return count(l.Stats.RxPackets)
			case 13:
				return count(l.Stats.TxPackets)
			default:
				return dash(addrText(l.Addrs))
			}
		}
	case paneLinks:
		cols := []column{{"KIND", 8, false, 1}, {"STATE", 15, false, 1}, {"->p/s", 6, true, 1}, {"<-p/s", 6, true, 1},
			{"->B/s", 6, true, 3}, {"<-B/s", 6, true, 3}, {"LINK", 0, false, 1}}
		return cols, func(i, c int) string {
			lr := m.links[i]
			fwdP, revP := lr.a.rates.TxPackets, lr.a.rates.RxPackets
			fwdB, revB := lr.a.rates.TxBytes, lr.a.rates.RxBytes
			if lr.b != nil {
				revP, revB = lr.b.rates.TxPackets, lr.b.rates.TxBytes
			}
			switch c {
			case 0:
				return string(lr.kind)
			case 1:
				if lr.b != nil {
					return stateText(lr.a.link) + " <-> " + stateText(lr.b.link)
				}
				return stateText(lr.a.link)
			case 2:
				return human(fwdP)
			case 3:
				return human(revP)
			case 4:
				return human(fwdB)
			case 5:
				return human(revB)
			default:
				return lr.desc
			}
		}
	}
	if m.pane == paneProcs {
		return m.procColumns()
	}
	nw := 4
	for _, r := range m.rules {
		nw = max(nw, len(r.node))
	}
	cols := []column{{"NODE", min(nw, 12), false, 1}, {"HOOK", 11, false, 1}, {"PKTS", 7, true, 1}, {"PKT/s", 6, true, 1},
		{"B/s", 6, true, 1}, {"CHAIN", 16, false, 2}, {"RULE", 0, false, 1}}
	return cols, func(i, c int) string {
		r := m.rules[i]
		switch c {
		case 0:
			return r.node
		case 1:
			return r.chain.Hook
		case 2:
			if r.rule == nil {
				return "-"
			}
			return count(r.rule.Packets)
		case 3:
			if r.rule == nil {
				return "-"
			}
			return human(r.pktRate)
		case 4:
			if r.rule == nil {
				return "-"
			}
			return human(r.byteRt)
		case 5:
			return r.chain.Name
		default:
			if r.rule == nil {
				return "(no rules) policy " + r.chain.Policy
			}
			return r.rule.Label()
		}
	}
}

// procColumns are the columns of the Processes pane.
func (m Model) procColumns() ([]column, func(i, c int) string) {
	nw, pw := 4, 7
	for _, r := range m.procs {
		nw, pw = max(nw, len(r.p.Node)), max(pw, len(procName(r.p.Name)))
	}
	cols := []column{{"NODE", min(nw, 12), false, 1}, {"PROCESS", min(pw, 16), false, 1}, {"PID", 7, true, 1},
		{"STATE", 11, false, 1}, {"UPTIME", 6, true, 1}, {"COMMAND", 0, false, 1}}
	return cols, func(i, c int) string {
		p := m.procs[i].p
		switch c {
		case 0:
			return p.Node
		case 1:
			return procName(p.Name)
		case 2:
			if p.Pid == 0 {
				return "-"
			}
			return itoa(p.Pid)
		case 3:
			return p.State
		case 4:
			if p.Pid == 0 {
				return "-"
			}
			return state.Uptime(p.Uptime)
		default:
			return p.Command
		}
	}
}

// procName is a process's name as the UI shows it.
func procName(name string) string {
	if name == "" {
		return "(by hand)"
	}
	return name
}

func (m Model) sparkLine() string {
	r := m.selectedIface()
	if r == nil {
		return ""
	}
	prefix := r.node + "/" + r.link.Name + " rx+tx B/s "
	h := m.history[r.key]
	if h == nil {
		return fit(prefix+"(history starts with the next refresh)", m.width)
	}
	sp := *h
	sp.Format = human
	w := min(max(m.width-len(prefix)-24, 0), historyLen)
	sp.SetSize(w, 1)
	return fit(prefix+sp.Label()+" "+sp.Graph(), m.width)
}

// showDetail opens the page of the selected row. The page follows the
// row by its key through later snapshots.
func (m *Model) showDetail() {
	rows := m.visibleRows(m.pane)
	if len(rows) == 0 {
		return
	}
	i := rows[m.cursor[m.pane]]
	switch m.pane {
	case paneIfaces:
		key := m.ifaces[i].key
		m.page = &page{title: "Interface " + strings.Replace(key, "/", ":", 1), nodes: []string{m.ifaces[i].node}, live: func(m *Model) []string {
			for _, r := range m.ifaces {
				if r.key == key {
					return m.ifaceDetail(r)
				}
			}
			return []string{"The interface is gone: deleted since, or its namespace was."}
		}}
	case paneLinks:
		desc := m.links[i].desc
		nodes := []string{m.links[i].a.node}
		if b := m.links[i].b; b != nil {
			nodes = append(nodes, b.node)
		}
		m.page = &page{title: "Link " + desc, nodes: nodes, live: func(m *Model) []string {
			for _, lr := range m.links {
				if lr.desc == desc {
					return m.linkDetail(lr)
				}
			}
			return []string{"The link is gone, or has changed: esc and look again."}
		}}
	case paneProcs:
		key := m.procs[i].key
		m.page = &page{title: "Process " + key, live: func(m *Model) []string {
			for _, r := range m.procs {
				if r.key == key {
					return procDetail(r.p)
				}
			}
			return []string{"The process is gone: stopped since, or its node was removed."}
		}}
	default:
		key := m.rules[i].key
		r := m.rules[i]
		m.page = &page{title: "Rule in " + r.node + " " + r.chain.Name, rule: key, live: func(m *Model) []string {
			for _, r := range m.rules {
				if r.key == key {
					return ruleDetail(r)
				}
			}
			return []string{"The rule is gone: the table was changed since."}
		}}
	}
}

func (m *Model) linkDetail(lr *linkRow) []string {
	lines := []string{string(lr.kind) + " " + lr.desc, ""}
	lines = append(lines, m.ifaceDetail(lr.a)...)
	if lr.b != nil {
		lines = append(lines, "")
		lines = append(lines, m.ifaceDetail(lr.b)...)
	}
	return lines
}

func procDetail(p Process) []string {
	pid, uptime := "-", "-"
	if p.Pid != 0 {
		pid, uptime = itoa(p.Pid), state.Uptime(p.Uptime)
	}
	lines := []string{
		"node      " + p.Node,
		"process   " + procName(p.Name),
		"pid       " + pid,
		"state     " + p.State,
		"uptime    " + uptime,
		"command   " + p.Command,
		"",
	}
	if p.Name == "" {
		return append(lines, "Started by hand (netlab exec): its output went to that terminal, and",
			"netlab down stops it with the lab's own processes.")
	}
	return append(lines, "Its output: netlab logs "+p.Node+"/"+p.Name+" (-f to follow).")
}

func ruleDetail(r *ruleRow) []string {
	c := r.chain
	lines := []string{
		"node      " + r.node,
		"hook      " + c.Hook,
		fmt.Sprintf("chain     %s (type %s, priority %d, policy %s)", c.Name, c.Type, c.Priority, c.Policy),
	}
	if r.rule == nil {
		return append(lines, "rules     none: every packet takes the policy")
	}
	lines = append(lines,
		"rule      "+r.rule.Label(),
		"tag       "+dash(r.rule.Tag),
		fmt.Sprintf("packets   %d (%s/s)", r.rule.Packets, human(r.pktRate)),
		fmt.Sprintf("bytes     %d (%s/s)", r.rule.Bytes, human(r.byteRt)),
	)
	if r.rule.Origin != "" {
		lines = append(lines, "written   "+r.rule.Origin)
	}
	return lines
}

func (m *Model) ifaceDetail(r *ifaceRow) []string {
	l := r.link
	managed := "managed by netlab"
	if !l.Owned {
		managed = "not created by netlab"
	}
	var addrs []string
	for _, a := range l.Addrs {
		addrs = append(addrs, a.String())
	}
	oper := l.OperState
	if oper == "" {
		oper = "?"
	}
	s, rt := l.Stats, r.rates
	lines := []string{
		fmt.Sprintf("%s:%s  %s, %s", r.node, l.Name, kindText(l), managed),
		"  peer       " + dash(l.Peer),
		"  master     " + dash(l.Master),
	}
	if l.PortState != "" {
		lines = append(lines, "  stp state  "+l.PortState)
	}
	if l.BridgePort != nil && *l.BridgePort != state.DefaultPortFlags {
		lines = append(lines, "  port       "+l.BridgePort.String())
	}
	for _, nb := range l.Neighbors {
		lines = append(lines, "  neighbor   "+nb.String()+" (permanent)")
	}
	lines = append(lines,
		"  state      "+stateText(l)+" (operstate "+oper+")",
		"  mtu        "+strconv.Itoa(l.MTU),
		"  mac        "+dash(l.MAC),
		"  addresses  "+dash(strings.Join(addrs, ", ")),
		fmt.Sprintf("  %-10s %14s %10s %14s %10s", "", "rx", "rx/s", "tx", "tx/s"),
		fmt.Sprintf("  %-10s %14d %10s %14d %10s", "packets", s.RxPackets, human(rt.RxPackets), s.TxPackets, human(rt.TxPackets)),
		fmt.Sprintf("  %-10s %14d %10s %14d %10s", "bytes", s.RxBytes, human(rt.RxBytes), s.TxBytes, human(rt.TxBytes)),
		fmt.Sprintf("  %-10s %14d %10s %14d %10s", "dropped", s.RxDropped, "", s.TxDropped, ""),
		fmt.Sprintf("  %-10s %14d %10s %14d %10s", "errors", s.RxErrors, "", s.TxErrors, ""),
	)
	if h := m.history[r.key]; h != nil {
		sp := *h
		sp.Format = human
		sp.SetSize(min(historyLen, max(m.width-30, 8)), 1)
		lines = append(lines, "  rx+tx B/s  "+sp.Label()+" "+sp.Graph())
	}
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return lines
}

func (m Model) helpLines() []string {
	return []string{
		"keys",
		"  up/k down/j    move           pgup pgdn   a page",
		"  tab shift+tab  next / previous pane (Interfaces, Links, Rules,",
		"                 Processes)",
		"  /              filter rows: type, enter keeps it, esc clears it",
		"  enter          detail of the selected row; esc goes back",
		"  p              the plan: what differs from the lab file (drift)",
		"  c              run the lab's checks and show the results",
		"  t              trace a probe from the selected row's node: type a",
		"                 target (server udp 7), enter runs it, esc cancels;",
		"                 its way hook by hook, NAT marked SNAT/DNAT",
		"  n              the selected row's node's conntrack table, live",
		"  r              read everything again now",
		"  ?              this help      q   quit",
		"",
		"what the columns mean",
		"  STATE    up, DOWN (set down), NO-CARR (up, but no carrier:",
		"           the other end of the veth is down or gone)",
		"  RXp/s TXp/s  packets per second received / sent",
		"  RXB/s TXB/s  bytes per second received / sent",
		"  DRP/ERR  packets dropped / errors so far, rx and tx together",
		"  Links    ->p/s: sent by the left end; <-p/s: sent by the right",
		"           end (for a single device: sent / received)",
		"  Rules    per node, by hook in the order a packet meets them:",
		"           prerouting, input, forward, output, postrouting;",
		"           PKTS is the rule's counter, PKT/s how fast it grows",
		"  Processes  those the file declares under run:, and those",
		"           started by hand; STATE running, exited N (netlab saw",
		"           it end with status N), exited, not started",
		"  the line under the table: the selected interface's traffic",
		"  over the last refreshes, with its minimum and maximum",
		"",
		"what is read when",
		"  every refresh  the state and counters of the links and rules",
		"                 on screen",
		"  everything     (addresses, routes, rules, drift, processes) on a",
		"                 change the kernel reports or the counters show,",
		"                 on r, and every 10s: the title line says when",
	}
}

// stateText is a link's state in words: up, DOWN, or NO-CARR when it is
// up but the kernel reports no carrier.
func stateText(l *state.Link) string {
	if !l.Up {
		return "DOWN"
	}
	switch l.OperState {
	case "", "up", "unknown":
		return "up"
	}
	return "NO-CARR"
}

func kindText(l *state.Link) string {
	if l.Kind == "" {
		return "?"
	}
	return string(l.Kind)
}

// addrText lists the addresses a student set: without loopback and IPv6
// link-local ones.
func addrText(as []netip.Prefix) string {
	var out []string
	for _, a := range as {
		if a.Addr().IsLoopback() || (a.Addr().Is6() && a.Addr().IsLinkLocalUnicast()) {
			continue
		}
		out = append(out, a.String())
	}
	return strings.Join(out, ",")
}

// human prints a rate in at most 6 characters: 0, 2.5, 340, 12.3k, 4.1M.
func human(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v < 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case v < 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	for _, u := range []string{"k", "M", "G", "T"} {
		v /= 1000
		if v < 100 {
			return strconv.FormatFloat(v, 'f', 1, 64) + u
		}
		if v < 1000 {
			return strconv.FormatFloat(v, 'f', 0, 64) + u
		}
	}
	return strconv.FormatFloat(v, 'e', 0, 64)
}

// count prints a counter in at most 7 characters.
func count(v uint64) string {
	if v < 1000000 {
		return strconv.FormatUint(v, 10)
	}
	return human(float64(v))
}

func itoa(i int) string { return strconv.Itoa(i) }

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// pad fits s into exactly w cells.
func pad(s string, w int, right bool) string {
	if ansi.StringWidth(s) > w {
		return ansi.Truncate(s, w, "…")
	}
	sp := strings.Repeat(" ", w-ansi.StringWidth(s))
	if right {
		return sp + s
	}
	return s + sp
}

// fit cuts s to w cells.
func fit(s string, w int) string {
	if ansi.StringWidth(s) > w {
		return ansi.Truncate(s, w, "…")
	}
	return s
}

// masterText is a link's master, with its STP state when it is not
// forwarding (blocking, listening, learning: a spanning tree at work).
func masterText(l *state.Link) string {
	if l.Master != "" && l.PortState != "" && l.PortState != "forwarding" {
		return l.Master + " " + l.PortState
	}
	return dash(l.Master)
}
