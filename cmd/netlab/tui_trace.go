package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"netlab/lab"
	"netlab/lab/conntrack"
	"netlab/lab/kernel"
	"netlab/lab/state"
	"netlab/lab/trace"
	"netlab/tui"
)

// The UI's trace page (t) and conntrack page (n) read the kernel source.
var (
	_ tui.Tracer          = (*kernelSource)(nil)
	_ tui.ConntrackLister = (*kernelSource)(nil)
)

// Trace traces one probe from node from to target for the trace page, as
// netlab trace does.
func (s *kernelSource) Trace(ctx context.Context, from, target, proto string, port uint16) (*tui.TraceResult, error) {
	s.mu.Lock()
	last := s.last
	s.mu.Unlock()
	if last == nil {
		return nil, errors.New("the lab has not been read yet")
	}
	c, err := traceCheck(last, from, target, proto, port)
	if err != nil {
		return nil, err
	}
	ns, ok := s.k.(kernel.NetNS)
	if !ok {
		return nil, errors.New("trace: this kernel cannot open sockets in the lab's namespaces")
	}
	r, err := traceOnce(ctx, ns, s.lab, c)
	if err != nil {
		return nil, err
	}
	return tuiTrace(r), nil
}

// errTraceUnavailable is traceOnce's answer until netlab trace's probe
// (check.Trace, written on another branch) is wired in.
var errTraceUnavailable = errors.New("trace is not available in this build yet: netlab trace's probe (check.Trace) is not wired in")

// traceOnce runs check c under a trace, as netlab trace does, and
// returns the way its probe took.
func traceOnce(ctx context.Context, k kernel.NetNS, l *lab.Lab, c *lab.Check) (*trace.Result, error) {
	// TODO(merge): return check.Trace(ctx, k, l, c) once lab/check has it.
	return nil, errTraceUnavailable
}

// traceCheck is the check whose probe a trace from node from to target
// sends: to a node (or an address one owns), with a responder there, as
// checks do; to an address no node owns, a ping, a TCP connect, or a UDP
// datagram to that address. The names are checked against the running
// lab observed: the UI typed them.
func traceCheck(observed *state.State, from, target, proto string, port uint16) (*lab.Check, error) {
	if _, err := runningNode(observed, from); err != nil {
		return nil, err
	}
	switch proto {
	case "icmp":
		port = 0
	case "tcp", "udp":
		if port == 0 {
			return nil, fmt.Errorf("trace %s: give a port", proto)
		}
	default:
		return nil, fmt.Errorf("trace: protocol %q: use icmp, tcp or udp", proto)
	}
	c := &lab.Check{From: from, Proto: proto, Port: port, Expect: "ok"}
	addr, err := netip.ParseAddr(target)
	if err != nil {
		if _, err := runningNode(observed, target); err != nil {
			return nil, fmt.Errorf("%q is neither an address nor a node: %w", target, err)
		}
		c.To = target
		return c, nil
	}
	addr = addr.Unmap()
	if owner := addrOwner(observed, addr); owner != "" {
		c.To, c.Address = owner, addr
		return c, nil
	}
	switch proto {
	case "icmp":
		c.Ping = addr
	case "tcp":
		c.Connect = netip.AddrPortFrom(addr, port)
	default:
		c.Address = addr // no node answers: the datagram's way is the trace
	}
	return c, nil
}

// addrOwner is the node that has addr on one of its interfaces, or "".
func addrOwner(s *state.State, addr netip.Addr) string {
	for _, name := range s.NodeNames() {
		for _, l := range s.Nodes[name].Links {
			for _, p := range l.Addrs {
				if p.Addr() == addr {
					return name
				}
			}
		}
	}
	return ""
}

// tuiTrace copies a trace's Result into the UI's own type.
func tuiTrace(r *trace.Result) *tui.TraceResult {
	if r == nil {
		return nil
	}
	return &tui.TraceResult{
		From: r.From, To: r.To, Target: r.Target, Proto: r.Proto, Port: r.Port,
		Request: tuiWay(r.Request), Answer: tuiWay(r.Answer),
	}
}

func tuiWay(w *trace.Way) *tui.TraceWay {
	if w == nil {
		return nil
	}
	out := &tui.TraceWay{Packet: w.Packet, End: tui.TraceEnd{What: w.End.What, Node: w.End.Node, Hook: w.End.Hook, Rule: w.End.Rule, Reason: w.End.Reason}}
	for _, s := range w.Steps {
		out.Steps = append(out.Steps, tui.TraceStep{
			Node: s.Node, Kind: s.Kind, Hook: s.Hook, Table: s.Table, Chain: s.Chain, Priority: s.Priority,
			Rule: s.Rule, Verdict: s.Verdict, In: s.In, Out: s.Out, Route: s.Route,
			Before: tuiAddrs(s.Before), After: tuiAddrs(s.After),
		})
	}
	return out
}

func tuiAddrs(a *trace.Addrs) *tui.TraceAddrs {
	if a == nil {
		return nil
	}
	return &tui.TraceAddrs{Src: a.Src, Dst: a.Dst}
}

// Conntrack reads the connection-tracking table of a node of the running
// lab for the conntrack page, as netlab conntrack does.
func (s *kernelSource) Conntrack(ctx context.Context, node string) ([]tui.ConntrackEntry, error) {
	ct, ok := s.k.(kernel.Conntracker)
	if !ok {
		return nil, errors.New("conntrack: this kernel cannot read connection tracking")
	}
	s.mu.Lock()
	last := s.last
	s.mu.Unlock()
	if last == nil {
		return nil, errors.New("the lab has not been read yet")
	}
	n, err := runningNode(last, node)
	if err != nil {
		return nil, err
	}
	entries, err := ct.Conntrack(ctx, n.NetNS)
	if err != nil {
		return nil, fmt.Errorf("node %s: read conntrack table: %w", node, err)
	}
	return tuiConntrack(entries), nil
}

// tuiConntrack turns the kernel's entries into the UI's rows, in
// lab/conntrack's words: the tuples as netlab conntrack prints them, and
// the translation.
func tuiConntrack(entries []kernel.ConntrackEntry) []tui.ConntrackEntry {
	out := make([]tui.ConntrackEntry, 0, len(entries))
	for _, e := range entries {
		out = append(out, tui.ConntrackEntry{
			Proto: e.Proto, State: e.State, Timeout: e.Timeout,
			Orig: conntrack.Tuple(e.Orig, e.Proto), Reply: conntrack.Tuple(e.Reply, e.Proto),
			NAT:     conntrack.Translation(e),
			Assured: e.Assured, SeenReply: e.SeenReply,
			Counters:    e.Counters,
			OrigPackets: e.OrigPackets, OrigBytes: e.OrigBytes,
			ReplyPackets: e.ReplyPackets, ReplyBytes: e.ReplyBytes,
		})
	}
	return out
}
