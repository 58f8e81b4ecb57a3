package kerneltest

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"

	"netlab/lab/kernel"
	"netlab/lab/state"
)

// Tracer is a kernel.Tracer in memory, scripted: a test says which
// events a trace reports (Script), and the Tracer reports them at
// TraceStart or, once attached to a Net (Attach), each time a packet the
// trace matches is sent through it. It keeps the trace tables the real
// kernel would have, so that sweeps and leaks are seen:
//
//   - TraceStart adds one table (kernel.TraceTablePrefix, the process's
//     pid and a serial) to each namespace, owned by the trace; Close
//     removes them. It refuses state.HostNetNS (EPERM), a protocol but
//     icmp, tcp and udp, port 0 without an address (with one, it
//     matches by address only), and no namespace; a namespace that
//     does not exist fails it (ENOENT) when the Tracer knows the
//     namespaces (the Fake's, a Net's). A failed start leaves no table.
//   - Plant adds a table no live trace owns, as a netlab without the
//     owner flag left it; TraceSweep removes those (and only names that
//     are a trace table's: the prefix alone or followed by "_").
//   - A trace delivers the events of its namespaces only, numbered by
//     Seq in the order given; its channel is closed once Close has
//     returned, or its ctx has ended. Close is safe to call more than
//     once.
//
// Tracer is safe for concurrent use.
type Tracer struct {
	mu       sync.Mutex
	script   func(m kernel.TraceMatch) []kernel.TraceEvent
	exists   func(netns string) error
	tables   map[string]map[string]bool // netns -> table -> owned by a live trace
	log      []string
	failWith error
	serial   int
	live     map[*fakeTrace]bool
	attached bool // scripts run when a matching packet is sent
}

var _ kernel.Tracer = (*Tracer)(nil)

// NewTracer returns a Tracer with no script (traces report nothing) and
// no tables, which takes any namespace name.
func NewTracer() *Tracer {
	return &Tracer{tables: map[string]map[string]bool{}, live: map[*fakeTrace]bool{}}
}

// Script sets what each trace reports for its match: the events of the
// packets the probe would make, in the kernel's order.
func (tr *Tracer) Script(f func(m kernel.TraceMatch) []kernel.TraceEvent) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.script = f
}

// FailStart makes every TraceStart fail with err, before any table is
// added; nil undoes it.
func (tr *Tracer) FailStart(err error) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.failWith = err
}

// Plant adds a trace table no socket owns to netns: what a netlab killed
// before the owner flag existed, or a hand-made copy, leaves.
func (tr *Tracer) Plant(netns, table string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.addLocked(netns, table, false)
}

// leftover reports whether netns holds a trace table no live trace owns.
func (tr *Tracer) leftover(netns string) bool {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, owned := range tr.tables[netns] {
		if !owned {
			return true
		}
	}
	return false
}

// Tables returns the trace tables of netns, sorted.
func (tr *Tracer) Tables(netns string) []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var out []string
	for t := range tr.tables[netns] {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// Log returns what was done to the tables, in order: "add NETNS TABLE"
// and "del NETNS TABLE".
func (tr *Tracer) Log() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return slices.Clone(tr.log)
}

// Live returns how many traces are running.
func (tr *Tracer) Live() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return len(tr.live)
}

// Attach makes the traces report their script's events when n sends a
// packet they match (a probe), instead of at TraceStart, and takes n's
// namespaces as the ones that exist.
func (tr *Tracer) Attach(n *Net) {
	tr.mu.Lock()
	tr.attached = true
	tr.exists = n.NetNSExists
	tr.mu.Unlock()
	n.OnSend(tr.sent)
}

func (tr *Tracer) addLocked(netns, table string, owned bool) {
	if tr.tables[netns] == nil {
		tr.tables[netns] = map[string]bool{}
	}
	tr.tables[netns][table] = owned
	tr.log = append(tr.log, "add "+netns+" "+table)
}

func (tr *Tracer) delLocked(netns, table string) {
	delete(tr.tables[netns], table)
	tr.log = append(tr.log, "del "+netns+" "+table)
}

// TraceStart: see kernel.Tracer.
func (tr *Tracer) TraceStart(ctx context.Context, netns []string, m kernel.TraceMatch) (kernel.Trace, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	switch m.Proto {
	case "icmp", "tcp", "udp":
	default:
		return nil, fmt.Errorf("trace: protocol %q: want icmp, tcp or udp", m.Proto)
	}
	if m.Port == 0 && !m.Addr.IsValid() {
		return nil, errors.New("trace: port (or echo identifier) 0 and no address: that would trace every packet of the protocol")
	}
	if len(netns) == 0 {
		return nil, errors.New("trace: no namespace to trace in")
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.failWith != nil {
		return nil, tr.failWith
	}
	for _, name := range netns {
		if err := tr.checkLocked(name, "TraceStart"); err != nil {
			return nil, err
		}
	}
	tr.serial++
	t := &fakeTrace{tr: tr, netns: slices.Clone(netns), m: m, out: make(chan kernel.TraceEvent),
		wake: make(chan struct{}, 1), done: make(chan struct{}),
		table: fmt.Sprintf("%s_%d_%d", kernel.TraceTablePrefix, os.Getpid(), tr.serial)}
	for _, name := range netns {
		tr.addLocked(name, t.table, true)
	}
	tr.live[t] = true
	t.wg.Add(1)
	go t.forward()
	if !tr.attached && tr.script != nil {
		t.queue(tr.script(m))
	}
	t.mu.Lock() // the function may run (and Close read stop) at once
	t.stop = context.AfterFunc(ctx, func() { t.Close() })
	t.mu.Unlock()
	return t, nil
}

// checkLocked refuses what the real kernel refuses before touching a
// namespace.
func (tr *Tracer) checkLocked(netns, what string) error {
	if netns == state.HostNetNS {
		return fmt.Errorf("%s in the machine's own namespace: %w", what, syscall.EPERM)
	}
	if netns == "" || strings.ContainsAny(netns, "/\x00") || netns == "." || netns == ".." {
		return fmt.Errorf("%s: bad namespace name %q", what, netns)
	}
	if tr.exists != nil {
		if err := tr.exists(netns); err != nil {
			return err
		}
	}
	return nil
}

// TraceSweep: see kernel.Tracer.
func (tr *Tracer) TraceSweep(ctx context.Context, netns []string) ([]string, error) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var swept []string
	for _, name := range netns {
		if err := ctx.Err(); err != nil {
			return swept, err
		}
		if err := tr.checkLocked(name, "TraceSweep"); err != nil {
			return swept, err
		}
		var gone []string
		for table, owned := range tr.tables[name] {
			if !owned && (table == kernel.TraceTablePrefix || strings.HasPrefix(table, kernel.TraceTablePrefix+"_")) {
				gone = append(gone, table)
			}
		}
		slices.Sort(gone)
		for _, table := range gone {
			tr.delLocked(name, table)
		}
		if len(gone) > 0 {
			swept = append(swept, name)
		}
	}
	return swept, nil
}

// SentPacket is a packet a Net sends, as its tracer sees it.
type SentPacket struct {
	NetNS    string
	Proto    string // icmp, tcp, udp
	Src, Dst netip.AddrPort
	ICMPID   uint16 // an echo request's identifier
}

// sent runs the script of every live trace that matches p.
func (tr *Tracer) sent(p SentPacket) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.script == nil {
		return
	}
	for t := range tr.live {
		if t.matches(p) {
			t.queue(tr.script(t.m))
		}
	}
}

// fakeTrace is a running trace of a Tracer. Its events wait in pending
// until forward hands them to out.
type fakeTrace struct {
	tr    *Tracer
	netns []string
	m     kernel.TraceMatch
	table string

	mu      sync.Mutex
	pending []kernel.TraceEvent
	seq     uint64

	out  chan kernel.TraceEvent
	wake chan struct{}
	done chan struct{}
	wg   sync.WaitGroup
	stop func() bool // guarded by mu
	once sync.Once
}

func (t *fakeTrace) Events() <-chan kernel.TraceEvent { return t.out }

// matches reports whether the trace follows p, as its mark rules would.
func (t *fakeTrace) matches(p SentPacket) bool {
	if p.Proto != t.m.Proto {
		return false
	}
	if t.m.Addr.IsValid() && p.Src.Addr() != t.m.Addr && p.Dst.Addr() != t.m.Addr {
		return false
	}
	if t.m.Port == 0 {
		return true // an address-only match
	}
	if p.Proto == "icmp" {
		return p.ICMPID == t.m.Port
	}
	return p.Src.Port() == t.m.Port || p.Dst.Port() == t.m.Port
}

// queue adds the events of the trace's namespaces, numbered.
func (t *fakeTrace) queue(events []kernel.TraceEvent) {
	t.mu.Lock()
	for _, e := range events {
		if !slices.Contains(t.netns, e.NetNS) {
			continue
		}
		t.seq++
		e.Seq = t.seq
		t.pending = append(t.pending, e)
	}
	t.mu.Unlock()
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// forward hands the pending events to out until Close.
func (t *fakeTrace) forward() {
	defer t.wg.Done()
	for {
		t.mu.Lock()
		batch := t.pending
		t.pending = nil
		t.mu.Unlock()
		for _, e := range batch {
			select {
			case t.out <- e:
			case <-t.done:
				return
			}
		}
		select {
		case <-t.wake:
		case <-t.done:
			return
		}
	}
}

// Close removes the trace's tables and ends its events.
func (t *fakeTrace) Close() error {
	t.once.Do(func() {
		t.mu.Lock()
		stop := t.stop
		t.mu.Unlock()
		if stop != nil {
			stop()
		}
		close(t.done)
		t.wg.Wait()
		t.tr.mu.Lock()
		for _, name := range t.netns {
			t.tr.delLocked(name, t.table)
		}
		delete(t.tr.live, t)
		t.tr.mu.Unlock()
		close(t.out)
	})
	return nil
}

// The Fake is a kernel.Tracer too, through a Tracer of its own that knows
// its namespaces: Tracer returns it, for a test to script, plant tables
// in, or look at. FailOn takes "TraceStart" and "TraceSweep".
var _ kernel.Tracer = (*Fake)(nil)

// Tracer returns the fake's tracer.
func (f *Fake) Tracer() *Tracer {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tracer == nil {
		f.tracer = NewTracer()
		f.tracer.exists = func(netns string) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			_, err := f.netnsLocked(netns)
			return err
		}
	}
	return f.tracer
}

// TraceStart: see kernel.Tracer.
func (f *Fake) TraceStart(ctx context.Context, netns []string, m kernel.TraceMatch) (kernel.Trace, error) {
	f.mu.Lock()
	err := f.beginLocked(ctx, "TraceStart")
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return f.Tracer().TraceStart(ctx, netns, m)
}

// TraceSweep: see kernel.Tracer.
func (f *Fake) TraceSweep(ctx context.Context, netns []string) ([]string, error) {
	f.mu.Lock()
	err := f.beginLocked(ctx, "TraceSweep")
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return f.Tracer().TraceSweep(ctx, netns)
}
