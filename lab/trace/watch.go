package trace

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"netlab/lab/kernel"
	"netlab/lab/state"
)

// Ways assembles every packet of events into its way, as Assemble does a
// probe's request and answer (the same segments, chained the same way,
// the same steps and ends), in the order the packets started. A packet
// starts where a namespace sent it (its first hook the inet output);
// what the trace saw of a packet with no such start (one from a node the
// trace does not enter) is a way of its own from where it was first
// seen.
func Ways(events []kernel.TraceEvent, observed *state.State, hops kernel.NetNS) []*Way {
	var out []*Way
	for _, pw := range newAssembler(events, observed, hops).allWays() {
		out = append(out, pw.way)
	}
	return out
}

// packetWay is one packet's way and the segments it was made of.
type packetWay struct {
	way  *Way
	segs []*segment
}

// allWays builds the way of every packet: first those a namespace sent,
// then from each segment no way took, in the order they started.
func (a *assembler) allWays() []packetWay {
	var out []packetWay
	claimed := map[*segment]bool{}
	from := func(start *segment) {
		w, _ := a.way(start)
		pw := packetWay{way: w}
		for _, s := range a.segments {
			if s.used && !claimed[s] {
				claimed[s] = true
				pw.segs = append(pw.segs, s)
			}
		}
		out = append(out, pw)
	}
	for _, s := range a.segments {
		if !s.used && s.local() {
			from(s)
		}
	}
	for {
		start := a.unledStart()
		if start == nil {
			break
		}
		from(start)
	}
	slices.SortStableFunc(out, func(x, y packetWay) int { return cmp.Compare(x.segs[0].seq(), y.segs[0].seq()) })
	return out
}

// unledStart is the first unused segment that no other unused segment
// leads into (a packet first seen where it entered a traced namespace:
// from a node the trace does not enter, or a hook that matched it only
// after a NAT gave it the watched address), else the first unused one;
// nil when all are used. Arrival order across namespaces says nothing,
// so a way must not start at a segment its packet reached later.
func (a *assembler) unledStart() *segment {
	led := map[*segment]bool{}
	for _, s := range a.segments {
		if !s.used {
			if n, _ := a.next(s); n != nil && n != s {
				led[n] = true
			}
		}
	}
	var first *segment
	for _, s := range a.segments {
		if s.used {
			continue
		}
		if !led[s] {
			return s
		}
		if first == nil {
			first = s
		}
	}
	return first
}

// How Watch hands over a packet's way: once no event of it has come for
// watchQuiet (the last hooks of a packet come within a millisecond or
// so, even across namespaces), looked for every watchTick.
var (
	watchQuiet = 300 * time.Millisecond
	watchTick  = 100 * time.Millisecond
)

// Watch traces the lab's live traffic that m matches, in the namespaces
// of observed that Follow would trace (leftover trace tables swept from
// them first), until ctx ends: it calls emit with each packet's way, in
// Ways' terms, once no new event of that packet has come for a short
// quiet time; when ctx ends, with the ways of what was seen so far. A
// packet whose events come after its way was handed over (more than the
// quiet time late) is a way of its own. Routing steps are asked of hops.
//
// The error is the trace's own: it could not start, or its events
// stopped before ctx ended. The trace tables are closed before Watch
// returns.
func Watch(ctx context.Context, tr kernel.Tracer, hops kernel.NetNS, observed *state.State, m kernel.TraceMatch, emit func(*Way)) error {
	netns := labNetNS(observed)
	if len(netns) == 0 {
		return fmt.Errorf("lab %s has no namespace of its own to trace", observed.Lab)
	}
	if _, err := tr.TraceSweep(ctx, netns); err != nil {
		return fmt.Errorf("remove leftover trace tables: %w", err)
	}
	t, err := tr.TraceStart(ctx, netns, m)
	if err != nil {
		return fmt.Errorf("start the trace: %w", err)
	}
	defer t.Close()
	w := &watcher{observed: observed, hops: hops, match: m, emit: emit, arrived: map[uint64]time.Time{}}
	tick := time.NewTicker(watchTick)
	defer tick.Stop()
	events := t.Events()
	for {
		select {
		case e, ok := <-events:
			if !ok {
				w.handOver(time.Now(), true)
				if ctx.Err() != nil {
					return nil
				}
				return errors.New("the trace's events stopped")
			}
			w.pending = append(w.pending, e)
			w.arrived[e.Seq] = time.Now()
		case now := <-tick.C:
			w.handOver(now, false)
		case <-ctx.Done():
			w.handOver(time.Now(), true)
			return nil
		}
	}
}

// watcher holds the events of the packets whose ways Watch has not
// handed over yet, and when each came.
type watcher struct {
	observed *state.State
	hops     kernel.NetNS
	match    kernel.TraceMatch
	emit     func(*Way)
	pending  []kernel.TraceEvent
	arrived  map[uint64]time.Time // by Seq
}

// handOver emits the ways of the pending packets that have been quiet
// for watchQuiet at now (all of them with all), and forgets their
// events, and those no way can use (another trace's).
func (w *watcher) handOver(now time.Time, all bool) {
	if len(w.pending) == 0 {
		return
	}
	if !all && now.Sub(w.arrived[w.pending[0].Seq]) < watchQuiet {
		return // not even the oldest event is quiet yet
	}
	a := newAssembler(w.pending, w.observed, w.hops)
	keep := map[uint64]bool{}
	for _, s := range a.segments {
		for _, e := range s.events {
			keep[e.Seq] = true
		}
	}
	for _, pw := range a.allWays() {
		var last time.Time
		for _, s := range pw.segs {
			for _, e := range s.events {
				last = maxTime(last, w.arrived[e.Seq])
			}
		}
		if !all && now.Sub(last) < watchQuiet {
			continue
		}
		w.emit(outOfMatch(pw.way, w.match))
		for _, s := range pw.segs {
			for _, e := range s.events {
				delete(keep, e.Seq)
			}
		}
	}
	rest := w.pending[:0]
	for _, e := range w.pending {
		if keep[e.Seq] {
			rest = append(rest, e)
		} else {
			delete(w.arrived, e.Seq)
		}
	}
	w.pending = rest
}

// outOfMatch tells a way lost where a NAT took away the address the
// watch follows (m.Addr, --from): the next hooks do not mark the packet,
// so the trace cannot see it there; it is not lost. The way is changed
// and returned.
func outOfMatch(w *Way, m kernel.TraceMatch) *Way {
	if w.End.What != "lost" || !m.Addr.IsValid() {
		return w
	}
	var last *Addrs
	for i := range w.Steps {
		if w.Steps[i].After != nil {
			last = w.Steps[i].After
		}
	}
	if last == nil || endpointAddr(last.Src) == m.Addr || endpointAddr(last.Dst) == m.Addr {
		return w
	}
	w.End.Reason += fmt.Sprintf("; translated to %s -> %s, it no longer has %s, so the watch does not follow it there", last.Src, last.Dst, m.Addr)
	return w
}

// endpointAddr is the address of a step's endpoint, "A", "A:P" or
// "[A]:P"; invalid if it is none.
func endpointAddr(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap()
	}
	a, _ := netip.ParseAddr(s)
	return a.Unmap()
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
