package trace

import (
	"context"
	"net/netip"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
)

// Ways tells every packet of a batch: the single-ip probe's events are
// two packets, whose ways are Assemble's request and answer, in order.
func TestWaysAreAssemblesWays(t *testing.T) {
	events, st, hops := singleIPUDP(t)
	r := Assemble(events, st, hops, nil)
	ways := Ways(events, st, hops)
	if len(ways) != 2 {
		t.Fatalf("%d ways, want 2: %+v", len(ways), ways)
	}
	if !reflect.DeepEqual(ways[0], r.Request) || !reflect.DeepEqual(ways[1], r.Answer) {
		t.Errorf("ways differ from Assemble's request and answer:\n%+v\n%+v", ways[0], ways[1])
	}
	// The order of arrival across namespaces does not change them.
	mixed := renumber(events, func(a, b kernel.TraceEvent) int { return strings.Compare(b.NetNS, a.NetNS) })
	if got := Ways(mixed, st, hops); !reflect.DeepEqual(got, ways) {
		t.Errorf("namespaces read in another order: ways %+v", got)
	}
}

// A packet seen only from where it entered a traced namespace (sent by
// a node the trace does not enter) is a way of its own from there.
func TestWaysOfAPacketFromOutside(t *testing.T) {
	events, st, hops := singleIPUDP(t)
	var fromServer []kernel.TraceEvent
	for _, e := range events {
		if e.NetNS == "single-ip.host" && e.ID == 23 || e.NetNS == "single-ip.c2" && e.ID == 12 {
			fromServer = append(fromServer, e)
		}
	}
	ways := Ways(fromServer, st, hops)
	if len(ways) != 1 {
		t.Fatalf("%d ways, want 1", len(ways))
	}
	w := ways[0]
	if w.Steps[0].Node != "host" || w.Steps[0].Hook != "prerouting" || w.End != (End{What: "delivered", Node: "c2"}) {
		t.Errorf("way from outside: %s, first step %+v, end %+v", w.Packet, w.Steps[0], w.End)
	}
}

// Watch, on the fake tracer: it traces the lab's own namespaces with
// the match it is given (after a sweep), hands over each packet's way
// once the packet has been quiet, and closes the trace when ctx ends.
func TestWatchOnTheFakeTracer(t *testing.T) {
	events, st, hops := singleIPUDP(t)
	tr := kerneltest.NewTracer()
	tr.Script(func(m kernel.TraceMatch) []kernel.TraceEvent { return events })
	tr.Plant("single-ip.host", kernel.TraceTablePrefix+"_1_1")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var got []*Way
	var at []time.Duration
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		done <- Watch(ctx, tr, hops, st, kernel.TraceMatch{Proto: "udp", Port: 7}, func(w *Way) {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, w)
			at = append(at, time.Since(start))
		})
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if tr.Live() != 1 {
		t.Errorf("%d traces live while watching, want 1", tr.Live())
	}
	if tables := tr.Tables("single-ip.host"); len(tables) != 1 || tables[0] == kernel.TraceTablePrefix+"_1_1" {
		t.Errorf("tables while watching: %v; want the watch's own only (the leftover swept)", tables)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Watch: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	r := Assemble(events, st, hops, nil)
	if len(got) != 2 || !reflect.DeepEqual(got[0], r.Request) || !reflect.DeepEqual(got[1], r.Answer) {
		t.Fatalf("watched %d ways, want the request's and the answer's: %+v", len(got), got)
	}
	for i, d := range at {
		if d < watchQuiet {
			t.Errorf("way %d handed over after %s, before the packet was quiet for %s", i, d, watchQuiet)
		}
	}
	if tr.Live() != 0 || len(tr.Tables("single-ip.host")) != 0 || len(tr.Tables("single-ip.c2")) != 0 {
		t.Errorf("after the watch: %d traces live, tables %v %v", tr.Live(), tr.Tables("single-ip.host"), tr.Tables("single-ip.c2"))
	}
	if err := Watch(context.Background(), tr, hops, st, kernel.TraceMatch{Proto: "udp"}, func(*Way) {}); err == nil || !strings.Contains(err.Error(), "start the trace") {
		t.Errorf("Watch of a match the tracer refuses: %v", err)
	}
}

// A packet whose events come in parts, closer than the quiet time, is
// one way; what came before ctx ended is handed over when it ends.
func TestWatchWaitsForAPacketsLastEvents(t *testing.T) {
	events, st, hops := singleIPUDP(t)
	tr := &stubTracer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ways := make(chan *Way, 10)
	done := make(chan error, 1)
	go func() {
		done <- Watch(ctx, tr, hops, st, kernel.TraceMatch{Proto: "udp", Port: 7}, func(w *Way) { ways <- w })
	}()
	for {
		tr.mu.Lock()
		n := len(tr.traces)
		tr.mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	trace := tr.last()
	split := 0 // the answer's first event: server's output
	for split < len(events) && !(events[split].NetNS == "single-ip.server" && events[split].Hook == "output") {
		split++
	}
	var c2, rest []kernel.TraceEvent
	for _, e := range events[:split] { // the request's events: c2's, then host's and server's
		if e.NetNS == "single-ip.c2" {
			c2 = append(c2, e)
		} else {
			rest = append(rest, e)
		}
	}
	if rest[len(rest)-1].NetNS != "single-ip.server" || rest[len(rest)-1].Hook != "input" {
		t.Fatalf("the events before server's output do not end with the request's delivery: %+v", rest[len(rest)-1])
	}
	for _, e := range c2 {
		trace.ch <- e
	}
	time.Sleep(watchQuiet / 3)
	for _, e := range rest {
		trace.ch <- e
	}
	select {
	case w := <-ways:
		if w.End != (End{What: "delivered", Node: "server"}) || w.Steps[0].Node != "c2" {
			t.Errorf("the request in two parts: way %s ending %+v", w.Packet, w.End)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no way handed over")
	}
	for _, e := range events[split : split+3] { // the answer's first events, then Ctrl-C
		trace.ch <- e
	}
	time.Sleep(20 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	select {
	case w := <-ways:
		if w.Steps[0].Node != "server" {
			t.Errorf("at the end, way %s from %s", w.Packet, w.Steps[0].Node)
		}
	default:
		t.Error("the answer's events seen before ctx ended were not handed over")
	}
	if trace.closed() == 0 {
		t.Error("the trace was not closed")
	}
}

// A watched packet's text is its block alone under "packet", the same
// lines as the request's in the probe's text.
func TestWayText(t *testing.T) {
	events, st, hops := singleIPUDP(t)
	r := Assemble(events, st, hops, nil)
	var b strings.Builder
	if err := r.Request.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if lines[0] != "packet udp 192.168.31.11:40001 -> 198.51.100.183:7" || lines[len(lines)-1] != "  delivered to server" || len(lines) != len(r.Request.Steps)+2 {
		t.Errorf("way text:\n%s", got)
	}
	if !strings.Contains(got, "host    postrouting  nat (100)") || !strings.Contains(got, "src 192.168.31.11:40001 -> 198.51.100.86:40001") {
		t.Errorf("way text lacks the masquerade step:\n%s", got)
	}
}

// A packet first marked inside a namespace (--from an address a NAT gave
// it there: the answer to a masqueraded client gets its address at
// host's prerouting, so is marked from host's forward on) is one way
// from there, even when the next namespace's events arrived first.
func TestWaysStartWhereNoSegmentLeads(t *testing.T) {
	events, st, hops := singleIPUDP(t)
	var answer []kernel.TraceEvent
	for _, e := range events {
		if e.NetNS == "single-ip.host" && e.ID == 23 && !(e.Family == "inet" && e.Hook == "prerouting") || e.NetNS == "single-ip.c2" && e.ID == 12 {
			answer = append(answer, e)
		}
	}
	c2First := renumber(answer, func(a, b kernel.TraceEvent) int { return strings.Compare(a.NetNS, b.NetNS) })
	ways := Ways(c2First, st, hops)
	if len(ways) != 1 {
		for _, w := range ways {
			t.Logf("way %s: %v", w.Packet, stepSummary(w))
		}
		t.Fatalf("%d ways, want 1", len(ways))
	}
	if w := ways[0]; w.Steps[0].Node != "host" || w.Steps[0].Hook != "forward" || w.End != (End{What: "delivered", Node: "c2"}) {
		t.Errorf("way %s: %v, end %+v", w.Packet, stepSummary(w), w.End)
	}
}

// A way of --from ADDR that a NAT took ADDR from ends saying so: the
// watch stops marking it there, it is not lost.
func TestOutOfMatch(t *testing.T) {
	events, st, hops := singleIPUDP(t)
	var req []kernel.TraceEvent
	for _, e := range events {
		if e.NetNS == "single-ip.c2" && e.ID == 11 || e.NetNS == "single-ip.host" && (e.ID == 21 || e.ID == 22) {
			req = append(req, e)
		}
	}
	ways := Ways(req, st, hops)
	if len(ways) != 1 || ways[0].End.What != "lost" {
		t.Fatalf("ways %+v", ways)
	}
	plain := ways[0].End
	if got := outOfMatch(ways[0], kernel.TraceMatch{Proto: "udp", Port: 40001}).End; got != plain {
		t.Errorf("by port: end %+v changed", got)
	}
	if got := outOfMatch(ways[0], kernel.TraceMatch{Proto: "udp", Addr: netip.MustParseAddr("198.51.100.183")}).End; got != plain {
		t.Errorf("by an address the packet still has: end %+v changed", got)
	}
	got := outOfMatch(ways[0], kernel.TraceMatch{Proto: "udp", Addr: netip.MustParseAddr("192.168.31.11")}).End
	want := plain.Reason + "; translated to 198.51.100.86:40001 -> 198.51.100.183:7, it no longer has 192.168.31.11, so the watch does not follow it there"
	if got.What != "lost" || got.Reason != want {
		t.Errorf("by the address the NAT took: end %+v\nwant reason %q", got, want)
	}
}
