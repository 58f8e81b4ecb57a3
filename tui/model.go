// Package tui is netlab's interactive terminal UI: a live view of a running
// lab, as the kernel has it. It reads the lab through a small Source
// interface, so tests feed it scripted snapshots and never need a kernel.
package tui

import (
	"context"
	"errors"
	"io"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"netlab/lab"
	"netlab/lab/device"
	"netlab/lab/plan"
	"netlab/lab/state"
	"netlab/tui/components/sparkline"
)

// Source reads the running lab. Snapshot returns the lab as the kernel has
// it now; a lab with no namespaces is returned as a state with no nodes,
// not as an error.
type Source interface {
	Snapshot(ctx context.Context) (*state.State, error)
}

// Planner is implemented by sources that know the lab file: Plan returns
// the plan from the last snapshot to the file (drift), called right after
// each Snapshot.
type Planner interface {
	Plan(ctx context.Context) (*plan.Plan, error)
}

// Notifier is implemented by sources that learn of changes (a link set
// down, a namespace deleted) as they happen. The channel gets a value after
// each burst of changes and is closed when ctx ends.
type Notifier interface {
	Events(ctx context.Context) <-chan struct{}
}

// CounterSource is implemented by sources that can read what changes
// fast, the counters, far cheaper than a Snapshot: on a thousand nodes a
// Snapshot reads every namespace's links, addresses, routes, rules,
// sysctls, processes and hosts file, where the counters of the rows on
// screen are one link dump for each of their nodes. The UI reads those at
// each tick and takes a full
// Snapshot only when something tells it the lab changed (an event, or
// Counters itself), when the user asks (r), and every fullEvery.
type CounterSource interface {
	// Counters returns the state of the last Snapshot with the state and
	// counters of the links of the nodes linksOf names read again, and
	// the rule counters of those rulesOf names. changed reports that what it read no longer matches
	// that snapshot (a namespace gone, a link gone or new, a link renamed,
	// set up or down, moved to another master or given another MTU, a
	// rule added or removed), or that there is no snapshot yet: the
	// state is then that of before, and the UI takes a Snapshot at once.
	Counters(ctx context.Context, linksOf, rulesOf []string) (s *state.State, changed bool, err error)
}

// ProcessLister is implemented by sources that know the lab's processes:
// Processes lists them, called right after each Snapshot.
type ProcessLister interface {
	Processes(ctx context.Context) ([]Process, error)
}

// Process is one process of the lab, as netlab status shows it.
type Process struct {
	Node    string
	Name    string // "" for a process started by hand
	Pid     int    // 0 when not running
	State   string // "running", "exited N", "exited", "not started"
	Uptime  time.Duration
	Command string
}

// CheckResult is the outcome of one of the lab's checks.
type CheckResult struct {
	Name   string // e.g. "c1 ping 192.168.31.11"
	Pass   bool
	Detail string // why it failed, or what was seen
}

// Options configure a Model.
type Options struct {
	Source Source
	// Lab is the lab file, when there is one: it names the remote and VNI
	// of a VXLAN and the parent of a MACVLAN, which the observed state
	// does not carry. May be nil.
	Lab *lab.Lab
	// LabName is shown before the first snapshot arrives.
	LabName string
	// StartHint is the command that starts the lab, shown when it is not
	// running; "sudo netlab up [FILE]" when empty.
	StartHint string
	// Interval between two refreshes; 1s when zero.
	Interval time.Duration
	// RunChecks runs the lab's checks for the c key; nil when this build
	// cannot run checks.
	RunChecks func(ctx context.Context) ([]CheckResult, error)
	// Context bounds every call to the source; Background when nil.
	Context context.Context
	// Now is the clock that stamps snapshots; time.Now when nil.
	Now func() time.Time
}

// pane is one of the three tables.
type pane int

const (
	paneIfaces pane = iota
	paneLinks
	paneRules
	paneProcs
	numPanes
)

func (p pane) String() string {
	return [...]string{"Interfaces", "Links", "Rules", "Processes"}[p]
}

// page is a full-screen text shown over the panes: detail, plan, checks,
// help.
type page struct {
	title string
	lines []string
	// live, when set, draws the lines from the latest snapshot instead:
	// a detail page keeps counting while it is open.
	live func(m *Model) []string
	// header, when set, is drawn above the lines and does not scroll.
	header func(m *Model) string
	kind   pageKind
	offset int
	// rule is the key of the rule a rule's detail page shows, and nodes
	// the nodes of an interface's or a link's: what is read at each
	// refresh.
	rule  string
	nodes []string
}

// pageKind tells the pages that answer keys of their own from the others.
type pageKind int

const (
	pageText      pageKind = iota
	pageTrace              // the trace page: t types a new target, esc cancels a trace under way
	pageConntrack          // the conntrack page: refreshes with every snapshot
)

// pageLines are the lines of the page shown.
func (m *Model) pageLines() []string {
	if m.page.live != nil {
		return m.page.live(m)
	}
	return m.page.lines
}

// historyLen is how many refreshes the sparkline remembers.
const historyLen = 60

// Model is the UI state.
type Model struct {
	opts   Options
	keys   KeyMap
	styles Styles
	help   help.Model
	filter textinput.Model

	width, height int

	// The last snapshot and what was derived from it.
	st       *state.State
	plan     *plan.Plan
	err      error
	at       time.Time
	received int // snapshots received

	fileDevs map[string]*lab.Interface // fileDevices of opts.Lab
	machines map[netip.Addr]string     // opts.Lab.MachinesByAddress()

	ifaces  []*ifaceRow
	links   []*linkRow
	rules   []*ruleRow
	procs   []*procRow
	procErr error // why the processes could not be read

	// Counters as last read, for rates.
	prevLinks map[string]linkSample
	prevRules map[string]ruleSample // by rule key
	history   map[string]*sparkline.Model

	pane      pane
	cursor    [numPanes]int
	offset    [numPanes]int
	filtering bool
	page      *page
	status    string // one-line message: checks result, errors of actions

	events       <-chan struct{} // nil without a Notifier
	fetching     bool
	fullWanted   bool          // the next refresh reads everything: an event, or r
	fullAt       time.Time     // when the last full snapshot was taken
	fullTook     time.Duration // how long it took
	pendingEvent bool
	eventTimer   bool      // an eventDueMsg is on its way
	lastFetch    time.Time // when the last refresh started
	tickSeq      int
	checking     bool

	// The trace page (t) and the conntrack page (n).
	traceInput textinput.Model
	trace      *traceRun // nil until t is first pressed
	traceSeq   int
	ct         *ctView // nil while the conntrack page is closed
}

// linkSample is one link's counters when they were last read: not all
// links are read at every refresh, so each keeps its own time.
type linkSample struct {
	index int
	c     state.Counters
	at    time.Time
}

// ruleSample is one rule's counters when they were last read: rules are
// not all read at every refresh (only those on screen are between two
// full snapshots), so each keeps its own time.
type ruleSample struct {
	packets, bytes uint64
	at             time.Time
}

// Rates are per-second rates of a link's counters.
type Rates struct {
	RxPackets, TxPackets float64
	RxBytes, TxBytes     float64
	Drops, Errors        float64
}

// ifaceRow is one interface of one node.
type ifaceRow struct {
	node  string
	link  *state.Link
	key   string // node/ifname
	rates Rates
	text  string // lower-case text the filter matches
}

// linkRow is one link of the lab: a veth pair, a bridge with its ports, a
// VXLAN or MACVLAN, or another device.
type linkRow struct {
	kind  device.Kind
	a, b  *ifaceRow // b only for a veth pair
	desc  string
	ports []string // bridge ports
	text  string
}

// ruleRow is one netfilter rule, or a chain without rules.
type ruleRow struct {
	node    string
	chain   *state.NFChain
	rule    *state.NFRule // nil for an empty chain
	key     string
	pktRate float64
	byteRt  float64
	text    string
}

// procRow is one process.
type procRow struct {
	p    Process
	key  string // node/name, or node/pid for one started by hand
	text string
}

// New returns a model reading from opts.Source.
func New(opts Options) Model {
	if opts.Interval <= 0 {
		opts.Interval = time.Second
	}
	if opts.Context == nil {
		opts.Context = context.Background()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	ti := textinput.New()
	ti.Prompt = "/"
	ti.Placeholder = "filter"
	ti.CharLimit = 64
	m := Model{
		opts:       opts,
		keys:       DefaultKeyMap(),
		styles:     DefaultStyles(),
		help:       help.New(),
		filter:     ti,
		traceInput: newTraceInput(),
		width:      80,
		height:     24,
		prevLinks:  make(map[string]linkSample),
		prevRules:  make(map[string]ruleSample),
		history:    make(map[string]*sparkline.Model),
		fileDevs:   fileDevices(opts.Lab),
		machines:   opts.Lab.MachinesByAddress(),
	}
	if n, ok := opts.Source.(Notifier); ok {
		m.events = n.Events(opts.Context)
	}
	return m
}

// Init starts the first refresh and, when the source has them, listens
// for change events.
func (m Model) Init() tea.Cmd {
	cmds := []tea.Cmd{m.fetch()}
	if m.events != nil {
		cmds = append(cmds, waitEvent(m.events))
	}
	return tea.Batch(cmds...)
}

// fullEvery is how often the UI reads everything when nothing told it
// the lab changed: what no event reports (a rule or a sysctl changed by
// hand, a process that ended) shows within that time. A lab whose full
// read is slow is read in full less often, so that it takes at most a
// twentieth of the time, but at least once a minute.
func (m Model) fullEvery() time.Duration {
	return min(max(minFullEvery, 20*m.fullTook), maxFullEvery)
}

// The shortest and the longest time between two full snapshots that no
// change asked for.
const (
	minFullEvery = 10 * time.Second
	maxFullEvery = time.Minute
)

// fetch reads the lab from the source: the counters alone when the
// source can and nothing asks for more, a full snapshot (with the plan
// and processes) otherwise.
func (m Model) fetch() tea.Cmd {
	src, ctx, now := m.opts.Source, m.opts.Context, m.opts.Now
	cs, counters := src.(CounterSource)
	if counters && !m.fullWanted && m.st != nil && m.err == nil && now().Sub(m.fullAt) < m.fullEvery() {
		linksOf, rulesOf := m.linksShown(), m.rulesShown()
		return func() tea.Msg {
			s, changed, err := cs.Counters(ctx, linksOf, rulesOf)
			if err == nil && !changed {
				return SnapshotMsg{State: s, At: now(), Partial: true, LinksRead: linksOf, RulesRead: rulesOf}
			}
			return fullSnapshot(ctx, src, now)
		}
	}
	return func() tea.Msg { return fullSnapshot(ctx, src, now) }
}

// fullSnapshot reads everything: the snapshot, the plan, the processes.
func fullSnapshot(ctx context.Context, src Source, now func() time.Time) SnapshotMsg {
	start := now()
	s, err := src.Snapshot(ctx)
	msg := SnapshotMsg{State: s, Err: err, At: now()}
	msg.Took = msg.At.Sub(start)
	if err == nil {
		if p, ok := src.(Planner); ok {
			msg.Plan, _ = p.Plan(ctx)
		}
		if p, ok := src.(ProcessLister); ok {
			msg.Processes, msg.ProcessErr = p.Processes(ctx)
		}
	}
	return msg
}

// nodeSet is a set of the names.
func nodeSet(names []string) map[string]bool {
	out := make(map[string]bool, len(names))
	for _, n := range names {
		out[n] = true
	}
	return out
}

// linksShown are the nodes whose links' counters are on screen: those of
// the rows of the Interfaces pane's page, of both ends of the Links
// pane's, or of the interface or link whose detail is open.
func (m Model) linksShown() []string {
	var nodes []string
	switch {
	case m.page != nil:
		nodes = append(nodes, m.page.nodes...)
	case m.pane == paneIfaces || m.pane == paneLinks:
		vis := m.visibleRows(m.pane)
		off, _ := m.window(len(vis))
		for _, i := range vis[off:min(off+m.bodyHeight(), len(vis))] {
			if m.pane == paneIfaces {
				nodes = append(nodes, m.ifaces[i].node)
				continue
			}
			lr := m.links[i]
			nodes = append(nodes, lr.a.node)
			if lr.b != nil {
				nodes = append(nodes, lr.b.node)
			}
		}
	}
	slices.Sort(nodes)
	return slices.Compact(nodes)
}

// rulesShown are the nodes whose rule counters are on screen: those of
// the rows of the Rules pane's page, or of the rule whose detail is open.
func (m Model) rulesShown() []string {
	var rows []int
	switch {
	case m.page != nil && m.page.rule != "":
		for i, r := range m.rules {
			if r.key == m.page.rule {
				rows = append(rows, i)
			}
		}
	case m.page == nil && m.pane == paneRules:
		vis := m.visibleRows(paneRules)
		off, _ := m.window(len(vis))
		rows = vis[off:min(off+m.bodyHeight(), len(vis))]
	}
	var nodes []string
	for _, i := range rows {
		if n := m.rules[i].node; len(nodes) == 0 || nodes[len(nodes)-1] != n {
			nodes = append(nodes, n)
		}
	}
	return nodes
}

// waitEvent turns the next value of ch into an eventMsg.
func waitEvent(ch <-chan struct{}) tea.Cmd {
	return func() tea.Msg {
		if _, ok := <-ch; !ok {
			return eventsClosedMsg{}
		}
		return eventMsg{}
	}
}

// minRateGap is the shortest time between two snapshots that rates are
// computed over; closer snapshots (an event right after a tick) keep the
// rates of before.
const minRateGap = 200 * time.Millisecond

// apply takes in a snapshot: computes rates against the previous one and
// rebuilds the rows.
func (m *Model) apply(msg SnapshotMsg) {
	m.received++
	m.err = msg.Err
	if msg.Err != nil {
		return
	}
	m.st, m.at = msg.State, msg.At
	if !msg.Partial {
		m.plan = msg.Plan
	}
	linksRead, rulesRead := nodeSet(msg.LinksRead), nodeSet(msg.RulesRead)
	old := m.ifaces
	oldRates := make(map[string]Rates, len(old))
	for _, r := range old {
		oldRates[r.key] = r.rates
	}
	oldRules := make(map[string][2]float64, len(m.rules))
	for _, r := range m.rules {
		oldRules[r.key] = [2]float64{r.pktRate, r.byteRt}
	}

	m.ifaces = m.ifaces[:0]
	m.rules = m.rules[:0]
	seen := make(map[string]bool)
	if s := m.st; s != nil {
		for _, nodeName := range s.NodeNames() {
			n := s.Nodes[nodeName]
			fresh := !msg.Partial || linksRead[nodeName]
			for _, ifName := range n.LinkNames() {
				l := n.Links[ifName]
				key := nodeName + "/" + ifName
				row := &ifaceRow{node: nodeName, link: l, key: key, rates: oldRates[key]}
				// Each link's rate is over the time since its own last
				// reading: between full snapshots only the links on
				// screen are read. Readings closer than minRateGap (an
				// event right after a tick) keep the rates of before.
				prev, had := m.prevLinks[key]
				gap := msg.At.Sub(prev.at)
				switch {
				case !fresh:
				case had && prev.index == l.Index && gap >= minRateGap:
					row.rates = rates(prev.c, l.Stats, gap.Seconds())
					m.prevLinks[key] = linkSample{index: l.Index, c: l.Stats, at: msg.At}
					h := m.history[key]
					if h == nil {
						sp := sparkline.New(historyLen)
						h = &sp
						m.history[key] = h
					}
					h.Push(row.rates.RxBytes + row.rates.TxBytes)
				case !had || prev.index != l.Index:
					row.rates = Rates{}
					m.prevLinks[key] = linkSample{index: l.Index, c: l.Stats, at: msg.At}
				}
				seen[key] = true
				row.text = strings.ToLower(strings.Join([]string{nodeName, ifName, string(l.Kind), l.Peer, l.Master, stateText(l), addrText(l.Addrs)}, " "))
				m.ifaces = append(m.ifaces, row)
			}
			if n.NFT == nil {
				continue
			}
			for _, c := range n.NFT.Chains {
				if len(c.Rules) == 0 {
					m.rules = append(m.rules, &ruleRow{node: nodeName, chain: c, key: nodeName + "/" + c.Name,
						text: strings.ToLower(nodeName + " " + c.Hook + " " + c.Name + " policy " + c.Policy)})
					continue
				}
				for i, r := range c.Rules {
					key := nodeName + "/" + c.Name + "/" + r.Tag
					if r.Tag == "" {
						key += "#" + itoa(i)
					}
					row := &ruleRow{node: nodeName, chain: c, rule: r, key: key}
					// Each rule's rate is over the time since its own
					// last reading: between full snapshots only the
					// rules on screen are read.
					prev, had := m.prevRules[key]
					fresh := !msg.Partial || rulesRead[nodeName]
					gap := msg.At.Sub(prev.at)
					switch {
					case fresh && had && gap >= minRateGap:
						row.pktRate = delta(prev.packets, r.Packets, gap.Seconds())
						row.byteRt = delta(prev.bytes, r.Bytes, gap.Seconds())
					default:
						o := oldRules[key]
						row.pktRate, row.byteRt = o[0], o[1]
					}
					if fresh && (!had || gap >= minRateGap) {
						m.prevRules[key] = ruleSample{packets: r.Packets, bytes: r.Bytes, at: msg.At}
					}
					seen[key] = true
					row.text = strings.ToLower(nodeName + " " + c.Hook + " " + c.Name + " " + r.Label())
					m.rules = append(m.rules, row)
				}
			}
		}
	}
	for k := range m.prevLinks {
		if !seen[k] {
			delete(m.prevLinks, k)
			delete(m.history, k)
		}
	}
	for k := range m.prevRules {
		if !seen[k] {
			delete(m.prevRules, k)
		}
	}
	m.links = buildLinks(m.ifaces, m.fileDevs, m.machines)
	if !msg.Partial {
		m.setProcesses(msg)
	}
	m.clampCursors()
}

// setProcesses takes in the processes of a full snapshot.
func (m *Model) setProcesses(msg SnapshotMsg) {
	m.procs, m.procErr = m.procs[:0], msg.ProcessErr
	for _, p := range msg.Processes {
		key := p.Node + "/" + p.Name
		if p.Name == "" {
			key = p.Node + "/" + itoa(p.Pid)
		}
		m.procs = append(m.procs, &procRow{p: p, key: key,
			text: strings.ToLower(strings.Join([]string{p.Node, procName(p.Name), p.State, p.Command}, " "))})
	}
}

func rates(a, b state.Counters, dt float64) Rates {
	return Rates{
		RxPackets: delta(a.RxPackets, b.RxPackets, dt),
		TxPackets: delta(a.TxPackets, b.TxPackets, dt),
		RxBytes:   delta(a.RxBytes, b.RxBytes, dt),
		TxBytes:   delta(a.TxBytes, b.TxBytes, dt),
		Drops:     delta(a.RxDropped+a.TxDropped, b.RxDropped+b.TxDropped, dt),
		Errors:    delta(a.RxErrors+a.TxErrors, b.RxErrors+b.TxErrors, dt),
	}
}

// delta is the per-second increase from a to b; a counter that went back
// (the link was made again) counts as no traffic.
func delta(a, b uint64, dt float64) float64 {
	if b < a || dt <= 0 {
		return 0
	}
	return float64(b-a) / dt
}

// buildLinks groups the interfaces into the lab's links.
func buildLinks(ifaces []*ifaceRow, devs map[string]*lab.Interface, machines map[netip.Addr]string) []*linkRow {
	byKey := make(map[string]*ifaceRow, len(ifaces))
	ports := make(map[string][]string) // node/bridge -> port names
	for _, r := range ifaces {
		byKey[r.node+":"+r.link.Name] = r
		if r.link.Master != "" {
			k := r.node + "/" + r.link.Master
			ports[k] = append(ports[k], r.link.Name)
		}
	}
	done := make(map[*ifaceRow]bool)
	var out []*linkRow
	for _, r := range ifaces {
		if done[r] || r.link.Kind == device.Loopback {
			continue
		}
		done[r] = true
		ref := r.node + ":" + r.link.Name
		lr := &linkRow{kind: r.link.Kind, a: r}
		switch r.link.Kind {
		case device.Veth:
			if p := byKey[r.link.Peer]; r.link.Peer != "" && p != nil {
				lr.b = p
				done[p] = true
				lr.desc = ref + " <-> " + r.link.Peer
			} else {
				lr.desc = ref + " <-> ?"
			}
		case device.Bridge:
			ps := ports[r.node+"/"+r.link.Name]
			sort.Strings(ps)
			lr.ports = ps
			if len(ps) == 0 {
				lr.desc = ref + " ports: none"
			} else {
				lr.desc = ref + " ports: " + strings.Join(ps, " ")
			}
		case device.VXLAN:
			lr.desc = ref + vxlanText(devs, r.node, r.link.Name)
			if x := r.link; x.ToMachine() {
				// A link to another machine: the file has no vxlan
				// there, the kernel has its VNI and remote.
				to := x.Remote.String()
				if name, ok := machines[x.Remote]; ok {
					to = "machine " + name + " (" + to + ")"
				}
				lr.desc = ref + " vni " + itoa(int(x.VNI)) + " to " + to
			}
		case device.MACVLAN:
			lr.desc = ref + macvlanText(devs, r.node, r.link.Name)
		case device.VLAN:
			if r.link.Master != "" {
				continue // a port, shown with its bridge
			}
			lr.desc = ref + " vlan " + itoa(int(r.link.VLANID)) + " on " + r.link.VLANParent
		default:
			if r.link.Master != "" {
				continue // a port, shown with its bridge
			}
			lr.desc = ref
		}
		if e := r.link.Egress; !e.IsZero() {
			lr.desc += " egress " + e.String() // netlab's qdisc on this end
		}
		lr.text = strings.ToLower(string(lr.kind) + " " + lr.desc)
		out = append(out, lr)
	}
	return out
}

// fileDevices indexes the VXLAN and MACVLAN interfaces of the lab file by
// node:name, once: what the Links pane names each one's remote, VNI or
// parent by, at every refresh, without a search of the file per row.
func fileDevices(l *lab.Lab) map[string]*lab.Interface {
	out := make(map[string]*lab.Interface)
	if l == nil {
		return out
	}
	for _, n := range l.Nodes {
		for _, i := range n.Interfaces {
			if i.VXLAN != nil || i.MACVLAN != nil {
				out[n.Name+":"+i.Name] = i
			}
		}
	}
	return out
}

func vxlanText(devs map[string]*lab.Interface, node, name string) string {
	i := devs[node+":"+name]
	if i == nil || i.VXLAN == nil {
		return " (vni and remote: not in the lab file)"
	}
	s := " vni " + itoa(int(i.VXLAN.VNI))
	switch {
	case i.VXLAN.Remote.IsValid():
		s += " remote " + i.VXLAN.Remote.String()
	case i.VXLAN.Group.IsValid():
		s += " group " + i.VXLAN.Group.String()
	}
	if i.VXLAN.Dev != "" {
		s += " dev " + i.VXLAN.Dev
	}
	return s
}

func macvlanText(devs map[string]*lab.Interface, node, name string) string {
	i := devs[node+":"+name]
	if i == nil || i.MACVLAN == nil {
		return " (parent: not in the lab file)"
	}
	pn := i.MACVLAN.ParentNode
	if pn == "" {
		pn = node
	}
	s := " parent " + pn + ":" + i.MACVLAN.Parent
	if i.MACVLAN.Mode != "" {
		s += " mode " + i.MACVLAN.Mode
	}
	return s
}

// visible returns the number of rows of the current pane after the filter.
func (m *Model) visibleRows(p pane) []int {
	q := strings.ToLower(strings.TrimSpace(m.filter.Value()))
	var n int
	var text func(i int) string
	switch p {
	case paneIfaces:
		n, text = len(m.ifaces), func(i int) string { return m.ifaces[i].text }
	case paneLinks:
		n, text = len(m.links), func(i int) string { return m.links[i].text }
	case paneProcs:
		n, text = len(m.procs), func(i int) string { return m.procs[i].text }
	default:
		n, text = len(m.rules), func(i int) string { return m.rules[i].text }
	}
	out := make([]int, 0, n)
	for i := 0; i < n; i++ {
		if q == "" || strings.Contains(text(i), q) {
			out = append(out, i)
		}
	}
	return out
}

func (m *Model) clampCursors() {
	for p := pane(0); p < numPanes; p++ {
		n := len(m.visibleRows(p))
		if m.cursor[p] >= n {
			m.cursor[p] = n - 1
		}
		if m.cursor[p] < 0 {
			m.cursor[p] = 0
		}
	}
}

// selectedIface is the interface under the cursor (for a link, its first
// end), or nil.
func (m *Model) selectedIface() *ifaceRow {
	rows := m.visibleRows(m.pane)
	if len(rows) == 0 {
		return nil
	}
	i := rows[m.cursor[m.pane]]
	switch m.pane {
	case paneIfaces:
		return m.ifaces[i]
	case paneLinks:
		return m.links[i].a
	}
	return nil
}

// Pane is the name of the pane shown, for tests.
func (m Model) Pane() string { return m.pane.String() }

// Selected is the key of the row under the cursor ("node/iface", a link's
// description, "node/chain/tag" or "node/process"), for tests.
func (m Model) Selected() string {
	rows := m.visibleRows(m.pane)
	if len(rows) == 0 {
		return ""
	}
	i := rows[m.cursor[m.pane]]
	switch m.pane {
	case paneIfaces:
		return m.ifaces[i].key
	case paneLinks:
		return m.links[i].desc
	case paneProcs:
		return m.procs[i].key
	}
	return m.rules[i].key
}

// Rates returns the rates of an interface ("node/iface") at the last
// snapshot, for tests.
func (m Model) Rates(key string) Rates {
	for _, r := range m.ifaces {
		if r.key == key {
			return r.rates
		}
	}
	return Rates{}
}

// Page is the title of the page shown over the panes, or "".
func (m Model) Page() string {
	if m.page == nil {
		return ""
	}
	return m.page.title
}

// Run shows the UI on out, reading keys from in, until the user quits or
// ctx ends.
func Run(ctx context.Context, opts Options, in io.Reader, out io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the source's event subscriptions
	opts.Context = ctx
	p := tea.NewProgram(New(opts), tea.WithAltScreen(), tea.WithContext(ctx), tea.WithInput(in), tea.WithOutput(out))
	_, err := p.Run()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil
	}
	return err
}
