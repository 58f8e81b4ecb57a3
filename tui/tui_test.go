package tui

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/google/go-cmp/cmp"
	"github.com/muesli/termenv"

	"netlab/lab"
	"netlab/lab/device"
	"netlab/lab/plan"
	"netlab/lab/state"
)

// update reports whether -update was given. The flag itself is defined by
// teatest's golden package, which this test imports.
func update() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

func TestMain(m *testing.M) {
	// Goldens hold text only: no colour codes.
	lipgloss.SetColorProfile(termenv.Ascii)
	os.Exit(m.Run())
}

// requireGolden compares got with testdata/<test name>.golden.
func requireGolden(t *testing.T, got string) {
	t.Helper()
	path := filepath.Join("testdata", strings.ReplaceAll(t.Name(), "/", "_")+".golden")
	if update() {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./tui -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("view differs from %s (-want +got):\n%s", path, diff)
	}
}

// keys turns "j", "tab", "enter", "esc" or any runes into key messages.
func keyMsg(k string) tea.KeyMsg {
	switch k {
	case "tab":
		return tea.KeyMsg{Type: tea.KeyTab}
	case "shift+tab":
		return tea.KeyMsg{Type: tea.KeyShiftTab}
	case "enter":
		return tea.KeyMsg{Type: tea.KeyEnter}
	case "esc":
		return tea.KeyMsg{Type: tea.KeyEsc}
	case "down":
		return tea.KeyMsg{Type: tea.KeyDown}
	case "up":
		return tea.KeyMsg{Type: tea.KeyUp}
	case "backspace":
		return tea.KeyMsg{Type: tea.KeyBackspace}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
}

// send runs msgs through Update and returns the model and the last command.
func send(t *testing.T, m Model, msgs ...tea.Msg) (Model, tea.Cmd) {
	t.Helper()
	var cmd tea.Cmd
	for _, msg := range msgs {
		var tm tea.Model
		tm, cmd = m.Update(msg)
		m = tm.(Model)
	}
	return m, cmd
}

func press(t *testing.T, m Model, ks ...string) Model {
	t.Helper()
	for _, k := range ks {
		m, _ = send(t, m, keyMsg(k))
	}
	return m
}

// running is a model at the given size that has seen two snapshots one
// second apart, so that rates and the sparkline have values.
func running(t *testing.T, w, h int, opts Options) Model {
	t.Helper()
	if opts.Source == nil {
		opts.Source = &fakeSource{states: []*state.State{singleIP(1)}}
	}
	m := New(opts)
	m.SetSize(w, h)
	m, _ = send(t, m, snap(0), snap(1), snap(2))
	return m
}

func driftPlan() *plan.Plan {
	return &plan.Plan{Lab: "single-ip", Changes: []*plan.Change{{
		Action: plan.Update, Object: plan.Link, Node: "c1", NetNS: "single-ip.c1", Name: "veth0", Drift: true,
		Link:    &state.Link{Name: "veth0", Kind: "veth", Up: true},
		OldLink: &state.Link{Name: "veth0", Kind: "veth"},
		Attrs:   []plan.AttrChange{{Link: state.AttrUp, Old: "false", New: "true"}},
	}}}
}

func TestView(t *testing.T) {
	sizes := []struct{ w, h int }{{80, 24}, {120, 40}}
	tests := []struct {
		name string
		opts Options
		msgs []tea.Msg // after the three snapshots
		keys []string
	}{
		{name: "interfaces"},
		{name: "interfaces_selected", keys: []string{"j", "j", "j"}},
		{name: "links", keys: []string{"tab"}},
		{name: "rules", keys: []string{"tab", "tab", "j"}},
		{name: "filter", keys: []string{"/", "c", "1", "enter"}},
		{name: "filter_typing", keys: []string{"/", "v", "e", "t", "h"}},
		{name: "detail", keys: []string{"j", "j", "j", "j", "enter"}},
		{name: "link_detail", keys: []string{"tab", "j", "enter"}},
		{name: "rule_detail", keys: []string{"tab", "tab", "j", "enter"}},
		{name: "processes", keys: []string{"shift+tab", "j", "j"}},
		{name: "process_detail", keys: []string{"shift+tab", "j", "j", "enter"}},
		{name: "process_by_hand", keys: []string{"shift+tab", "enter"}},
		{name: "help", keys: []string{"?"}},
		{name: "no_checks", keys: []string{"c"}},
		{name: "drift", msgs: []tea.Msg{SnapshotMsg{State: singleIP(4), Plan: driftPlan(), At: t0.Add(3 * time.Second)}}},
		{name: "link_down", msgs: []tea.Msg{SnapshotMsg{State: c1Down(singleIP(4)), At: t0.Add(3 * time.Second)}}},
	}
	for _, sz := range sizes {
		for _, tc := range tests {
			t.Run(fmt.Sprintf("%dx%d/%s", sz.w, sz.h, tc.name), func(t *testing.T) {
				m := running(t, sz.w, sz.h, tc.opts)
				m, _ = send(t, m, tc.msgs...)
				m = press(t, m, tc.keys...)
				got := m.View()
				checkShape(t, got, sz.w, sz.h)
				requireGolden(t, got)
			})
		}
	}
}

// c1Down is s with c1's veth0 set down by hand: the host end loses its
// carrier.
func c1Down(s *state.State) *state.State {
	s.Nodes["c1"].Links["veth0"].Up = false
	s.Nodes["c1"].Links["veth0"].OperState = "down"
	s.Nodes["host"].Links["veth1"].OperState = "lowerlayerdown"
	return s
}

// checkShape fails unless v has exactly h lines, none wider than w.
func checkShape(t *testing.T, v string, w, h int) {
	t.Helper()
	lines := strings.Split(v, "\n")
	if len(lines) != h {
		t.Errorf("view has %d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if n := lipgloss.Width(l); n > w {
			t.Errorf("line %d is %d cells wide, more than %d: %q", i+1, n, w, l)
		}
	}
}

func TestViewStates(t *testing.T) {
	tests := []struct {
		name string
		msg  tea.Msg
	}{
		{"starting", nil},
		{"not_running", SnapshotMsg{State: state.New("single-ip"), At: t0}},
		{"not_root", SnapshotMsg{Err: fmt.Errorf("open namespace single-ip.c1: %w", fs.ErrPermission), At: t0}},
		{"error", SnapshotMsg{Err: errors.New("list namespaces: input/output error"), At: t0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := New(Options{Source: &fakeSource{}, LabName: "single-ip"})
			m.SetSize(80, 24)
			if tc.msg != nil {
				m, _ = send(t, m, tc.msg)
			}
			got := m.View()
			checkShape(t, got, 80, 24)
			requireGolden(t, got)
		})
	}
}

func TestRates(t *testing.T) {
	m := New(Options{Source: &fakeSource{}})
	m, _ = send(t, m, snap(0))
	if got := m.Rates("c1/veth0"); got != (Rates{}) {
		t.Errorf("rates after one snapshot = %+v, want zero", got)
	}
	// Two seconds later, 20 packets more: 10 a second.
	m, _ = send(t, m, SnapshotMsg{State: singleIP(3), At: t0.Add(2 * time.Second)})
	want := Rates{TxPackets: 10, TxBytes: 980}
	if diff := cmp.Diff(want, m.Rates("c1/veth0")); diff != "" {
		t.Errorf("c1/veth0 rates (-want +got):\n%s", diff)
	}
	// An event right after: too close to compute rates, the old ones stay.
	m, _ = send(t, m, SnapshotMsg{State: singleIP(4), At: t0.Add(2*time.Second + 10*time.Millisecond)})
	if diff := cmp.Diff(want, m.Rates("c1/veth0")); diff != "" {
		t.Errorf("rates after a close snapshot (-want +got):\n%s", diff)
	}
	// The link made again (new ifindex, counters from zero): no rate
	// rather than a huge one.
	s := singleIP(1)
	s.Nodes["c1"].Links["veth0"].Index = 99
	m, _ = send(t, m, SnapshotMsg{State: s, At: t0.Add(3 * time.Second)})
	if got := m.Rates("c1/veth0"); got != (Rates{}) {
		t.Errorf("rates of a link made again = %+v, want zero", got)
	}
}

func TestRuleRates(t *testing.T) {
	m := running(t, 120, 40, Options{})
	m = press(t, m, "tab", "tab", "j")
	if got, want := m.Selected(), "host/nat_postrouting/netlab-0123456789ab"; got != want {
		t.Fatalf("selected %q, want %q", got, want)
	}
	if got := m.rules[1].pktRate; got != 10 {
		t.Errorf("masquerade rule rate = %v packets/s, want 10", got)
	}
}

func TestKeys(t *testing.T) {
	tests := []struct {
		name     string
		keys     []string
		pane     string
		selected string
		page     string
	}{
		{name: "start", pane: "Interfaces", selected: "c1/lo"},
		{name: "down", keys: []string{"j"}, pane: "Interfaces", selected: "c1/veth0"},
		{name: "arrow down and up", keys: []string{"down", "down", "up"}, pane: "Interfaces", selected: "c1/veth0"},
		{name: "up at the top stays", keys: []string{"k", "k"}, pane: "Interfaces", selected: "c1/lo"},
		{name: "down past the end stays", keys: strings.Split(strings.Repeat("j", 40), ""), pane: "Interfaces", selected: "server/lo"},
		{name: "tab", keys: []string{"tab"}, pane: "Links", selected: "c1:veth0 <-> host:veth1"},
		{name: "tab twice", keys: []string{"tab", "tab"}, pane: "Rules", selected: "host/filter_forward"},
		{name: "tab thrice", keys: []string{"tab", "tab", "tab"}, pane: "Processes", selected: "c1/4711"},
		{name: "tab wraps", keys: []string{"tab", "tab", "tab", "tab"}, pane: "Interfaces", selected: "c1/lo"},
		{name: "shift tab", keys: []string{"shift+tab"}, pane: "Processes", selected: "c1/4711"},
		{name: "process filter", keys: []string{"shift+tab", "/", "e", "x", "i", "enter"}, pane: "Processes", selected: "server/dns"},
		{name: "process detail", keys: []string{"shift+tab", "j", "j", "enter"}, pane: "Processes", selected: "server/http", page: "Process server/http"},
		{name: "filter", keys: []string{"/", "c", "3", "enter"}, pane: "Interfaces", selected: "c3/lo"},
		{name: "filter then move", keys: []string{"/", "v", "e", "t", "h", "enter", "j", "j"}, pane: "Interfaces", selected: "c3/veth0"},
		{name: "filter cleared", keys: []string{"/", "s", "e", "r", "v", "enter", "esc"}, pane: "Interfaces", selected: "c1/lo"},
		{name: "filter escaped", keys: []string{"/", "s", "e", "esc"}, pane: "Interfaces", selected: "c1/lo"},
		{name: "q while filtering is text", keys: []string{"/", "q"}, pane: "Interfaces", selected: ""},
		{name: "detail", keys: []string{"j", "enter"}, pane: "Interfaces", selected: "c1/veth0", page: "Interface c1:veth0"},
		{name: "detail closed", keys: []string{"j", "enter", "esc"}, pane: "Interfaces", selected: "c1/veth0"},
		{name: "help", keys: []string{"?"}, pane: "Interfaces", selected: "c1/lo", page: "Help"},
		{name: "help closed", keys: []string{"?", "?"}, pane: "Interfaces", selected: "c1/lo"},
		{name: "plan without file", keys: []string{"p"}, pane: "Interfaces", selected: "c1/lo"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := running(t, 80, 24, Options{})
			m = press(t, m, tc.keys...)
			if m.Pane() != tc.pane || m.Selected() != tc.selected || m.Page() != tc.page {
				t.Errorf("pane %q, selected %q, page %q; want %q, %q, %q", m.Pane(), m.Selected(), m.Page(), tc.pane, tc.selected, tc.page)
			}
		})
	}
}

func TestQuit(t *testing.T) {
	for _, k := range []string{"q", "ctrl+c"} {
		m := running(t, 80, 24, Options{})
		msg := keyMsg(k)
		if k == "ctrl+c" {
			msg = tea.KeyMsg{Type: tea.KeyCtrlC}
		}
		_, cmd := send(t, m, msg)
		if cmd == nil {
			t.Fatalf("%s: no command, want tea.Quit", k)
		}
		if _, ok := cmd().(tea.QuitMsg); !ok {
			t.Errorf("%s: command does not quit", k)
		}
	}
}

func TestChecks(t *testing.T) {
	run := func(context.Context) ([]CheckResult, error) {
		return []CheckResult{
			{Name: "c1 ping 192.168.31.11", Pass: true},
			{Name: "server ping 192.168.31.10 (expect fail)", Pass: false, Detail: "got a reply"},
		}, nil
	}
	m := running(t, 80, 24, Options{RunChecks: run})
	m, cmd := send(t, m, keyMsg("c"))
	if cmd == nil {
		t.Fatal("c returned no command")
	}
	if m.status != "checks: running..." {
		t.Errorf("status while running = %q", m.status)
	}
	m, _ = send(t, m, cmd())
	if m.Page() != "Checks" {
		t.Fatalf("page %q, want Checks", m.Page())
	}
	requireGolden(t, m.View())

	// Without a check runner, c says so.
	m = running(t, 80, 24, Options{})
	m = press(t, m, "c")
	if want := "checks: not available in this build"; m.status != want {
		t.Errorf("status %q, want %q", m.status, want)
	}
}

func TestPlanPage(t *testing.T) {
	m := running(t, 80, 24, Options{})
	p := driftPlan()
	m, _ = send(t, m, SnapshotMsg{State: singleIP(4), Plan: p, At: t0.Add(3 * time.Second)})
	m = press(t, m, "p")
	if m.Page() != "Plan (drift from the file)" {
		t.Fatalf("page %q", m.Page())
	}
	if v := m.View(); !strings.Contains(v, p.Summary()) {
		t.Errorf("plan page does not show the summary %q:\n%s", p.Summary(), v)
	}
}

func TestRefreshLoop(t *testing.T) {
	src := &fakeSource{states: []*state.State{singleIP(1)}}
	m := New(Options{Source: src})
	if cmd := m.Init(); cmd == nil {
		t.Fatal("Init returned no command")
	}
	m.fetching = true
	m, cmd := send(t, m, snap(0))
	if cmd == nil || m.fetching {
		t.Fatal("a snapshot must schedule the next tick")
	}
	seq := m.tickSeq
	// A stale tick (of an older chain) does nothing.
	if _, cmd := send(t, m, tickMsg{seq: seq - 1}); cmd != nil {
		t.Error("a stale tick started a refresh")
	}
	// The current tick fetches; a second tick meanwhile does not.
	m, cmd = send(t, m, tickMsg{seq: seq})
	if cmd == nil || !m.fetching {
		t.Fatal("the tick did not start a refresh")
	}
	if msg, ok := cmd().(SnapshotMsg); !ok || msg.State == nil {
		t.Fatalf("fetch returned %#v", msg)
	}
	if _, cmd := send(t, m, tickMsg{seq: seq}); cmd != nil {
		t.Error("a tick during a refresh started another")
	}
	// An event during a refresh is remembered and served right after.
	m, _ = send(t, m, eventMsg{})
	if !m.pendingEvent {
		t.Error("an event during a refresh was lost")
	}
	m, _ = send(t, m, snap(1))
	if m.pendingEvent || !m.eventTimer {
		t.Fatal("the pending event did not schedule a refresh")
	}
	// More events meanwhile add nothing; the timer starts one refresh.
	m, cmd = send(t, m, eventMsg{})
	if cmd != nil {
		t.Error("an event while a refresh is scheduled started another")
	}
	m, cmd = send(t, m, eventDueMsg{})
	if cmd == nil || !m.fetching || m.eventTimer {
		t.Error("the scheduled refresh did not start")
	}
}

// TestDetailLive keeps an open detail page counting with each snapshot.
func TestDetailLive(t *testing.T) {
	m := running(t, 80, 24, Options{})
	m = press(t, m, "j", "enter")
	if !strings.Contains(m.View(), "packets                 1          0             30         10") {
		t.Fatalf("detail before:\n%s", m.View())
	}
	m, _ = send(t, m, SnapshotMsg{State: singleIP(5), At: t0.Add(4 * time.Second)})
	if !strings.Contains(m.View(), "packets                 1          0             50         10") {
		t.Errorf("detail after a snapshot did not follow the counters:\n%s", m.View())
	}
	m, _ = send(t, m, SnapshotMsg{State: c1Gone(singleIP(6)), At: t0.Add(5 * time.Second)})
	if !strings.Contains(m.View(), "The interface is gone") {
		t.Errorf("detail of a deleted interface:\n%s", m.View())
	}
}

func c1Gone(s *state.State) *state.State {
	delete(s.Nodes, "c1")
	return s
}

// TestViewSizes draws every pane and page at sizes from tiny to large:
// never more lines than the height, never a line wider than the width.
func TestViewSizes(t *testing.T) {
	for _, sz := range [][2]int{{20, 5}, {40, 10}, {60, 15}, {80, 24}, {100, 30}, {200, 60}} {
		for _, keys := range [][]string{nil, {"tab"}, {"tab", "tab"}, {"enter"}, {"?"}, {"/", "x"}} {
			m := running(t, 80, 24, Options{})
			m, _ = send(t, m, tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
			m = press(t, m, keys...)
			checkShape(t, m.View(), sz[0], sz[1])
		}
	}
}

// TestLinkRows shows a VXLAN with its VNI and remote and a MACVLAN with
// its parent, from the lab file, which the observed state lacks.
func TestLinkRows(t *testing.T) {
	s := state.New("t")
	n := state.NewNode("a", "t.a")
	n.Links["eth0"] = &state.Link{Name: "eth0", Kind: "veth", Up: true, Owned: true}
	n.Links["vx0"] = &state.Link{Name: "vx0", Kind: "vxlan", Up: true, Owned: true}
	n.Links["mv0"] = &state.Link{Name: "mv0", Kind: "macvlan", Up: true, Owned: true}
	s.Nodes["a"] = n
	l := &lab.Lab{Name: "t", Nodes: []*lab.Node{{Name: "a", Interfaces: []*lab.Interface{
		{Name: "vx0", Kind: device.VXLAN, VXLAN: &lab.VXLANOptions{VNI: 42, Remote: netip.MustParseAddr("10.0.0.2"), Dev: "eth0"}},
		{Name: "mv0", Kind: device.MACVLAN, MACVLAN: &lab.MACVLANOptions{Parent: "eth0", Mode: "bridge"}},
	}}}}
	for _, tc := range []struct {
		name string
		lab  *lab.Lab
		want []string
	}{
		{"with file", l, []string{"a:eth0 <-> ?", "a:mv0 parent a:eth0 mode bridge", "a:vx0 vni 42 remote 10.0.0.2 dev eth0"}},
		{"without file", nil, []string{"a:eth0 <-> ?", "a:mv0 (parent: not in the lab file)", "a:vx0 (vni and remote: not in the lab file)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := New(Options{Source: &fakeSource{}, Lab: tc.lab})
			m, _ = send(t, m, SnapshotMsg{State: s, At: t0})
			var got []string
			for _, lr := range m.links {
				got = append(got, lr.desc)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("links (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLinkRowsAcrossMachines: a link to another machine, which the file
// declares as a veth pair, shows the VNI and far machine the kernel has.
func TestLinkRowsAcrossMachines(t *testing.T) {
	s := state.New("t")
	n := state.NewNode("a", "t.a")
	n.Links["eth0"] = &state.Link{Name: "eth0", Kind: "vxlan", Up: true, Owned: true,
		Device: state.Device{VNI: 9594391, Remote: netip.MustParseAddr("203.0.113.2"), UnderlayNetNS: state.HostNetNS}}
	s.Nodes["a"] = n
	l := &lab.Lab{Name: "t", Machines: []*lab.Machine{{Name: "m1", Address: netip.MustParseAddr("203.0.113.1")}, {Name: "m2", Address: netip.MustParseAddr("203.0.113.2")}},
		Nodes: []*lab.Node{{Name: "a", Machine: "m1", Interfaces: []*lab.Interface{{Name: "eth0", Kind: device.Veth}}}}}
	for _, tc := range []struct {
		name string
		lab  *lab.Lab
		want string
	}{
		{"with file", l, "a:eth0 vni 9594391 to machine m2 (203.0.113.2)"},
		{"without file", nil, "a:eth0 vni 9594391 to 203.0.113.2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := New(Options{Source: &fakeSource{}, Lab: tc.lab})
			m, _ = send(t, m, SnapshotMsg{State: s, At: t0})
			if len(m.links) != 1 || m.links[0].desc != tc.want {
				var got []string
				for _, lr := range m.links {
					got = append(got, lr.desc)
				}
				t.Errorf("links %q, want [%q]", got, tc.want)
			}
		})
	}
}

// TestProcessesFromSource: a source that lists processes feeds the
// Processes pane at each refresh; one that cannot read them says why.
func TestProcessesFromSource(t *testing.T) {
	src := &procSource{fakeSource: fakeSource{states: []*state.State{singleIP(1)}}, procs: someProcesses(0)}
	m := New(Options{Source: src})
	msg, ok := m.fetch()().(SnapshotMsg)
	if !ok || len(msg.Processes) != 4 {
		t.Fatalf("fetch from a ProcessLister returned %#v", msg)
	}
	m, _ = send(t, m, msg)
	m = press(t, m, "shift+tab", "j", "j")
	if got := m.Selected(); got != "server/http" {
		t.Errorf("selected %q, want server/http", got)
	}
	if v := m.View(); !strings.Contains(v, "server http         4242 running      3m00s python3 -m http.server 80") {
		t.Errorf("the Processes pane does not show server/http:\n%s", v)
	}
	m, _ = send(t, m, SnapshotMsg{State: singleIP(2), ProcessErr: errors.New("read /proc: permission denied"), At: t0.Add(time.Second)})
	if v := m.View(); !strings.Contains(v, "Cannot read the processes: read /proc: permission denied") {
		t.Errorf("a failed read of the processes is not said:\n%s", v)
	}
}
