package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"netlab/lab"
	"netlab/lab/check"
	"netlab/lab/conntrack"
	"netlab/lab/kernel"
	"netlab/lab/trace"
	"netlab/tui"
)

// The UI's trace page (t) and conntrack page (n) read the kernel source.
var (
	_ tui.Tracer          = (*kernelSource)(nil)
	_ tui.ConntrackLister = (*kernelSource)(nil)
)

// Trace traces one probe from node from to target for the trace page,
// as netlab trace does (check.ForTrace, check.Trace), with the rules named
// as the last snapshot names them. The names come from the page's
// prompt: they are checked against the running lab first.
func (s *kernelSource) Trace(ctx context.Context, from, target, proto string, port uint16) (*tui.TraceResult, error) {
	s.mu.Lock()
	last := s.last
	s.mu.Unlock()
	if last == nil {
		return nil, errors.New("the lab has not been read yet")
	}
	if s.lab == nil {
		return nil, errors.New("trace needs the lab's file: run netlab tui FILE (with --lab, the file the lab was last brought up with is used when netlab has it)")
	}
	if _, err := runningNode(last, from); err != nil {
		return nil, err
	}
	if _, err := netip.ParseAddr(target); err != nil {
		if _, err := runningNode(last, target); err != nil {
			return nil, fmt.Errorf("%q is neither an address nor a node: %w", target, err)
		}
	}
	if proto == "icmp" {
		port = 0
	}
	c, err := check.ForTrace(s.lab, from, target, proto, port, lab.DefaultCheckTimeout)
	if err != nil {
		return nil, err
	}
	ns, ok := s.k.(kernel.NetNS)
	if !ok {
		return nil, errors.New("trace: this kernel cannot open sockets in the lab's namespaces")
	}
	tr, ok := s.k.(kernel.Tracer)
	if !ok {
		return nil, errors.New("trace: this kernel cannot trace")
	}
	var res *trace.Result
	var r check.Result
	if err := withProbes(ctx, nil, s.lab.Name, func() error {
		res, r = check.Trace(ctx, ns, tr, s.lab, last, c)
		return nil
	}); err != nil {
		return nil, err
	}
	if r.Err != nil {
		return nil, r.Err
	}
	if res == nil {
		return nil, fmt.Errorf("trace: %s", r.Detail())
	}
	if res.To == "" {
		res.To = check.AddrOwner(s.lab, res.Target)
	}
	return tuiTrace(res), nil
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
		rule := s.Rule
		if rule == trace.ConntrackRule && s.Table == "" {
			// No rule made this translation: the UI's Rule is a rule's
			// text only, and it names conntrack's translations itself.
			rule = ""
		}
		out.Steps = append(out.Steps, tui.TraceStep{
			Node: s.Node, Kind: s.Kind, Hook: s.Hook, Table: s.Table, Chain: s.Chain, Priority: s.Priority,
			Rule: rule, Verdict: s.Verdict, In: s.In, Out: s.Out, Route: s.Route,
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
