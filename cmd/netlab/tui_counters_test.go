package main

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/reconcile"
	"netlab/lab/rundir"
	"netlab/lab/state"
	"netlab/tui"
)

// countersLab is two nodes on a veth pair; b counts the UDP it is sent.
const countersLab = `name: t
nodes:
  a:
    interfaces:
      eth0: {addresses: [10.0.0.1/24]}
  b:
    interfaces:
      eth0: {addresses: [10.0.0.2/24]}
    firewall:
      input:
        rules:
          - {action: accept, proto: udp, dport: 9}
links:
  - [a:eth0, b:eth0]
`

// TestTUITicksReadCounters drives netlab tui's source and model over the
// fake kernel, tick by tick. After the first full snapshot a tick reads
// the counters only (LinkCounters; no Observe), and the rates follow the
// traffic; the rule counters are read for the rules on screen. A full
// snapshot (Observe) is taken again when the counters show a structural
// change that no event announced (a link added by hand), when r is
// pressed, after an event, and once the full read is due.
func TestTUITicksReadCounters(t *testing.T) {
	old := runDir
	runDir = rundir.At(t.TempDir())
	t.Cleanup(func() { runDir = old })
	l, _, diags := parseLab("t.yaml", []byte(countersLab))
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	f := kerneltest.NewFake()
	w := kerneltest.NewWatched(f)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := reconcile.Up(ctx, w, l, reconcile.Options{RunDir: &runDir}); err != nil {
		t.Fatal(err)
	}
	src := newKernelSource(w, l.Name, l, "")
	m := tui.New(tui.Options{Source: src, Lab: l, Context: ctx})
	m.SetSize(120, 30)
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	tick := func() {
		t.Helper()
		at = at.Add(time.Second)
		m = tui.RefreshOnce(m, at)
	}
	calls := func() (observe, links, rules int) {
		return f.Calls("Observe"), f.Calls("LinkCounters"), f.Calls("RuleCounters")
	}
	tick()
	obs0, links0, _ := calls()
	if !strings.Contains(m.View(), "drift: none") {
		t.Fatalf("after the first refresh:\n%s", m.View())
	}

	for i := 0; i < 5; i++ {
		if err := f.Traffic("t.a", "eth0", state.Counters{TxPackets: 100, TxBytes: 9800}); err != nil {
			t.Fatal(err)
		}
		tick()
	}
	obs, links, rules := calls()
	if obs != obs0 || links != links0+5 || rules != 0 {
		t.Errorf("5 ticks: Observe %d times, LinkCounters %d, RuleCounters %d; want 0, 5, 0 (no rule on screen)", obs-obs0, links-links0, rules)
	}
	if r := m.Rates("a/eth0"); r.TxPackets != 100 || r.TxBytes != 9800 {
		t.Errorf("a/eth0 rates %+v, want 100 packets and 9800 bytes a second, as sent", r)
	}
	if v := m.View(); !strings.Contains(v, "the rest 12:00:01") {
		t.Errorf("the title does not say when the rest was read:\n%s", v)
	}

	// The Rules pane: its rules' counters are read at each tick.
	for range 2 {
		tm, _ := m.Update(tea.KeyMsg{Type: tea.KeyTab})
		m = tm.(tui.Model)
	}
	if m.Pane() != "Rules" {
		t.Fatalf("pane %s, want Rules", m.Pane())
	}
	tag := m.Selected()[strings.LastIndex(m.Selected(), "/")+1:]
	chain := strings.Split(m.Selected(), "/")[1]
	tick()
	if err := f.RuleTraffic("t.b", chain, tag, 7, 700); err != nil {
		t.Fatal(err)
	}
	tick()
	if _, _, rules := calls(); rules != 2 {
		t.Errorf("2 ticks on the Rules pane read the rules %d times, want 2", rules)
	}
	if v := m.View(); !strings.Contains(v, " 7 ") {
		t.Errorf("the rule's 7 packets are not shown:\n%s", v)
	}
	if obs, _, _ := calls(); obs != obs0 {
		t.Errorf("ticks on the Rules pane observed the lab %d times, want 0", obs-obs0)
	}

	if _, links, _ := calls(); links != links0+5 {
		t.Errorf("ticks on the Rules pane read links %d times, want none (no link on screen)", links-links0-5)
	}

	// Back on the Interfaces pane, a link added by hand, no event: the
	// counters show it, and the same tick reads everything.
	for range 2 {
		tm, _ := m.Update(tea.KeyMsg{Type: tea.KeyShiftTab})
		m = tm.(tui.Model)
	}
	f.MustSeed(t, "ip -n t.a link add dummy0 type dummy")
	tick()
	if obs, _, _ := calls(); obs != obs0+1 {
		t.Errorf("after a link was added: Observe %d times, want 1", obs-obs0)
	}
	if v := m.View(); !strings.Contains(v, "dummy0") {
		t.Errorf("the new link is not shown:\n%s", v)
	}

	// r reads everything now.
	tick()
	obs1, _, _ := calls()
	tm, cmd := m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'r'}})
	m = tm.(tui.Model)
	if cmd == nil {
		t.Fatal("r starts no refresh")
	}
	tm, _ = m.Update(cmd())
	m = tm.(tui.Model)
	if obs, _, _ := calls(); obs != obs1+1 {
		t.Errorf("r: Observe %d times, want 1", obs-obs1)
	}

	// Ten seconds without a change: a full read is due.
	for range 9 {
		tick()
	}
	obs2, _, _ := calls()
	if obs2 != obs1+1 {
		t.Errorf("9 quiet ticks after r: Observe %d times, want 0", obs2-obs1-1)
	}
	tick()
	if obs, _, _ := calls(); obs != obs2+1 {
		t.Errorf("10s after the last full read: Observe %d times, want 1", obs-obs2)
	}
}

// observeCounter is the real kernel, counting its Observe calls.
type observeCounter struct {
	*kernel.Linux
	observes atomic.Int32
}

func (k *observeCounter) Observe(ctx context.Context, lab string, want *state.State) (*state.State, error) {
	k.observes.Add(1)
	return k.Linux.Observe(ctx, lab, want)
}

// TestTUICountersLinux: against the real kernel, with a ping from a to b
// between two ticks, the tick that follows shows a's eth0 sending and b's
// receiving (and b's rule counting nothing: ping is not UDP), without
// observing the lab again; a link added by hand is picked up by the next
// tick.
func TestTUICountersLinux(t *testing.T) {
	kerneltest.RequireRoot(t)
	if _, err := exec.LookPath("ping"); err != nil {
		t.Skip("needs ping")
	}
	old := runDir
	runDir = rundir.At(t.TempDir())
	t.Cleanup(func() { runDir = old })
	name := kerneltest.LabName(t)
	l, _, diags := parseLab("t.yaml", []byte(strings.Replace(countersLab, "name: t\n", "name: "+name+"\n", 1)))
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	k := &observeCounter{Linux: kernel.NewLinux()}
	defer k.Close()
	ctx := context.Background()
	if _, err := reconcile.Up(ctx, k, l, reconcile.Options{RunDir: &runDir}); err != nil {
		t.Fatal(err)
	}
	src := newKernelSource(k, name, l, "")
	m := tui.New(tui.Options{Source: src, Lab: l, Context: ctx})
	m.SetSize(120, 30)
	at := time.Now()
	m = tui.RefreshOnce(m, at)
	observed := k.observes.Load()

	const pings = 20
	nsA := state.NetNSName(name, "a")
	if out, err := exec.Command("ip", "netns", "exec", nsA, "ping", "-q", "-c", strconv.Itoa(pings), "-i", "0.01", "-W", "2", "10.0.0.2").CombinedOutput(); err != nil {
		t.Fatalf("ping: %v\n%s", err, out)
	}
	at = at.Add(time.Second)
	m = tui.RefreshOnce(m, at)
	if got := k.observes.Load() - observed; got != 0 {
		t.Errorf("a tick observed the lab %d times, want 0", got)
	}
	if r := m.Rates("a/eth0"); r.TxPackets < pings || r.RxPackets < pings {
		t.Errorf("a/eth0 rates %+v, want at least %d packets a second each way", r, pings)
	}
	if r := m.Rates("b/eth0"); r.RxPackets < pings {
		t.Errorf("b/eth0 rates %+v, want at least %d packets a second received", r, pings)
	}

	ipCmdT(t, "-n", nsA, "link", "add", "x0", "type", "veth", "peer", "name", "x1")
	at = at.Add(time.Second)
	m = tui.RefreshOnce(m, at)
	if got := k.observes.Load() - observed; got != 1 {
		t.Errorf("the tick after a link was added observed the lab %d times, want 1", got)
	}
	if v := m.View(); !strings.Contains(v, "x0") {
		t.Errorf("the link added is not shown:\n%s", v)
	}
}

// ipCmdT runs ip(8), as a user changing the lab by hand.
func ipCmdT(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}
