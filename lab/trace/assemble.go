package trace

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"syscall"

	"netlab/lab/device"
	"netlab/lab/kernel"
	"netlab/lab/state"
)

// Assemble puts the events of one trace in the order the packets met
// them across namespaces (a packet leaving by a veth next shows at the
// veth's peer), splits the request (the first packet from the probe's
// node) from the answer (the first one back), turns each hook's events
// into steps (the lab's chains and rules named from observed's rules, the
// addresses before and after each hook compared), adds the routing
// decisions asked of hops, and says how each way ended. probeErr is the
// probe's own failure, if any (a send refused for want of a route ends
// the request at its first step).
//
// Assemble fills in Lab, and what the events tell of From (the node of
// the first packet sent), Target, Proto, Port and To (the node the
// request was delivered to); the caller, which knows the probe, may set
// them over. When no event came at all, From is unknown here: SetFrom
// names the node.
func Assemble(events []kernel.TraceEvent, observed *state.State, hops kernel.NetNS, probeErr error) *Result {
	a := newAssembler(events, observed, hops)
	r := &Result{Lab: a.observed.Lab}
	start := a.requestStart()
	if start == nil {
		r.Request = &Way{Packet: "(no packet seen)", Steps: []Step{}, End: End{What: "lost", Reason: "no packet of the probe was seen"}}
		if probeErr != nil && kernel.IsNoRoute(probeErr) {
			// The socket's words ("sendto: network is unreachable"), not
			// its Go wrapping ("write ip4 0.0.0.0->...").
			why := probeErr.Error()
			var errno syscall.Errno
			if errors.As(probeErr, &errno) {
				why = errno.Error()
			}
			r.Request.Packet = notSent
			r.Request.Steps = []Step{{Kind: "route", Hook: "output", Route: "no route"}}
			r.Request.End = End{What: "no-route", Hook: "output", Reason: "the kernel refused to send it: " + why}
		}
		return r
	}
	first := start.entry()
	r.From = start.node
	r.Target = first.dst
	r.Proto = first.protoName()
	if first.proto == protoICMPv6 {
		r.Proto = "icmp"
	}
	if first.proto == protoTCP || first.proto == protoUDP {
		r.Port = first.dport
	}
	req, last := a.way(start)
	r.Request = req
	if req.End.What == "delivered" {
		r.To = req.End.Node
	}
	if ans := a.answerStart(start, last, req.End.What == "left-machine"); ans != nil {
		r.Answer, _ = a.way(ans)
	} else if req.End.What == "delivered" {
		r.Answer = a.noRouteBack(last)
	}
	return r
}

// noRouteBack is the answer of a request delivered at s that none came
// back from, when s has no route back to the request's source: the
// kernel did not send one (an ICMP echo reply, a TCP reset, a
// responder's datagram all need that route), so no hook saw it. Else
// nil: no answer is told.
func (a *assembler) noRouteBack(s *segment) *Way {
	pk := s.exit()
	if a.hops == nil || !pk.ok {
		return nil
	}
	// The answer goes from the request's destination back to its
	// source: a rule of the responder's may route it by that source.
	if _, err := a.hop(s, kernel.Flow{Dst: pk.src, Src: pk.dst}); err == nil || !kernel.IsNoRoute(err) {
		return nil
	}
	return &Way{Packet: notSent,
		Steps: []Step{{Node: s.node, Kind: "route", Hook: "output", Route: "no route"}},
		End:   End{What: "no-route", Node: s.node, Hook: "output", Reason: "no route back to " + pk.src.String()}}
}

// notSent is the packet line of a way the kernel did not send for want
// of a route.
const notSent = "(not sent: no route)"

// SetFrom names the probe's node: Result.From, and the node of the
// steps and end that no event could name (a send the kernel refused
// before the packet met any hook); with Target set, that end names it.
func (r *Result) SetFrom(node string) {
	r.From = node
	if r.Request == nil {
		return
	}
	if e := &r.Request.End; r.Request.Packet == notSent && r.Target.IsValid() && !strings.HasPrefix(e.Reason, "no route to ") {
		e.Reason = "no route to " + r.Target.String() + " (" + e.Reason + ")"
	}
	for i := range r.Request.Steps {
		if r.Request.Steps[i].Node == "" {
			r.Request.Steps[i].Node = node
		}
	}
	if r.Request.End.Node == "" && r.Request.End.What == "no-route" {
		r.Request.End.Node = node
	}
}

// A segment is one packet's pass through one namespace: the events of
// one (namespace, trace ID), in the order the namespace reported them.
type segment struct {
	netns  string
	node   string
	events []kernel.TraceEvent
	passes []pass
	// cur is the pass the last event went to: the last pass, or the
	// bridge hook that an inet hook ran inside of (br_netfilter).
	cur  int
	used bool
}

// A pass is the events of one hook (of the inet or the bridge family) in
// a segment.
type pass struct {
	bridge bool
	hook   string
	events []kernel.TraceEvent
}

func (p *pass) key() string {
	if p.bridge {
		return "bridge " + p.hook
	}
	return p.hook
}

// entry is the packet as it entered the hook (its first event, that of
// the trace's first chain).
func (p *pass) entry() packet {
	e := p.events[0]
	return parsePacket(e.Network, e.Transport)
}

// leave is the packet as it left the hook, seen by the trace's last
// chain; ok is false when it never got there (dropped, stolen).
func (p *pass) leave() (packet, bool) {
	for i := len(p.events) - 1; i >= 0; i-- {
		if e := p.events[i]; e.Own && !e.OwnFirst {
			return parsePacket(e.Network, e.Transport), true
		}
	}
	return packet{}, false
}

// exit is the packet after the hook: as it left, else as last seen.
func (p *pass) exit() packet {
	if pk, ok := p.leave(); ok {
		return pk
	}
	e := p.events[len(p.events)-1]
	return parsePacket(e.Network, e.Transport)
}

// ifaces are the input and output interfaces the hook's events name.
func (p *pass) ifaces() (in, out string) {
	for _, e := range p.events {
		in = cmp.Or(in, e.IIf)
		out = cmp.Or(out, e.OIf)
	}
	return in, out
}

func (s *segment) seq() uint64               { return s.events[0].Seq }
func (s *segment) entry() packet             { return s.passes[0].entry() }
func (s *segment) in() string                { return s.events[0].IIf }
func (s *segment) lastPass() *pass           { return &s.passes[s.cur] }
func (s *segment) exit() packet              { return s.lastPass().exit() }
func (s *segment) startsAt(hook string) bool { p := s.passes[0]; return !p.bridge && p.hook == hook }

// local reports a packet the namespace sent itself: its first hook is
// the inet output.
func (s *segment) local() bool { return s.startsAt("output") }

// isBridge reports an event of a bridge-family table: a bridge hop.
func isBridge(e kernel.TraceEvent) bool { return e.Family == "bridge" }

// splitSegments groups the events by namespace and trace ID, in the order
// of arrival, and splits a group where a second packet begins: a hook the
// group has already left starts again (the kernel may give a new packet
// the ID of one it freed), or a packet starts (inet prerouting or output)
// after the group has had an inet hook. Events of another trace's table
// are left out.
func splitSegments(events []kernel.TraceEvent) []*segment {
	sorted := slices.Clone(events)
	slices.SortStableFunc(sorted, func(a, b kernel.TraceEvent) int { return cmp.Compare(a.Seq, b.Seq) })
	type groupKey struct {
		netns string
		id    uint32
	}
	open := map[groupKey]*segment{}
	var segs []*segment
	for _, e := range sorted {
		if !e.Own && strings.HasPrefix(e.Table, kernel.TraceTablePrefix) {
			continue
		}
		k := groupKey{e.NetNS, e.ID}
		s := open[k]
		if s != nil && startsPacket(s, e) {
			s = nil
		}
		if s == nil {
			s = &segment{netns: e.NetNS}
			open[k] = s
			segs = append(segs, s)
		}
		s.add(e)
	}
	return segs
}

// startsPacket reports whether e, of s's namespace and ID, must be
// another packet's: it enters a hook (the trace's first chain) that s
// has already crossed, or it starts a packet (inet prerouting or output)
// after s has had an inet hook.
func startsPacket(s *segment, e kernel.TraceEvent) bool {
	if !e.OwnFirst {
		return false
	}
	k := (&pass{bridge: isBridge(e), hook: e.Hook}).key()
	if cur := &s.passes[s.cur]; cur.key() == k && !hadLater(cur) {
		return false // the first chain's second event (its policy)
	}
	for _, p := range s.passes {
		if p.key() == k {
			return true
		}
	}
	if !isBridge(e) && (e.Hook == "prerouting" || e.Hook == "output") {
		for _, p := range s.passes {
			if !p.bridge {
				return true
			}
		}
	}
	return false
}

// hadLater reports whether the pass has seen an event after the trace's
// first chain: a second first-chain event then is a second packet.
func hadLater(p *pass) bool {
	for _, e := range p.events {
		if !e.OwnFirst {
			return true
		}
	}
	return false
}

// add puts e in its pass: the current one when e is of its hook; an
// earlier one still open (not left yet) when e goes on with a hook that
// another ran inside of (br_netfilter runs the inet prerouting, forward
// and postrouting hooks from inside the bridge's: bridge prerouting's
// first chain, inet prerouting, bridge prerouting's last chain); else a
// new pass.
func (s *segment) add(e kernel.TraceEvent) {
	s.events = append(s.events, e)
	k := (&pass{bridge: isBridge(e), hook: e.Hook}).key()
	if len(s.passes) > 0 {
		cur := &s.passes[s.cur]
		if cur.key() == k && !(e.OwnFirst && hadLater(cur)) {
			cur.events = append(cur.events, e)
			return
		}
		if !e.OwnFirst {
			for i := len(s.passes) - 1; i >= 0; i-- {
				if p := &s.passes[i]; p.key() == k {
					if _, left := p.leave(); !left {
						p.events = append(p.events, e)
						s.cur = i
						return
					}
					break
				}
			}
		}
	}
	s.passes = append(s.passes, pass{bridge: isBridge(e), hook: e.Hook, events: []kernel.TraceEvent{e}})
	s.cur = len(s.passes) - 1
}

type assembler struct {
	observed *state.State
	hops     kernel.NetNS
	segments []*segment
}

// newAssembler splits events into segments, each named by its node,
// for Assemble (a probe's request and answer) and Ways (every packet).
func newAssembler(events []kernel.TraceEvent, observed *state.State, hops kernel.NetNS) *assembler {
	if observed == nil {
		observed = state.New("")
	}
	a := &assembler{observed: observed, hops: hops, segments: splitSegments(events)}
	for _, s := range a.segments {
		s.node = a.nodeOf(s.netns)
	}
	return a
}

// nodeOf names the node of a namespace: the observed node that has it,
// else the NODE of LAB.NODE, else the namespace's name itself.
func (a *assembler) nodeOf(netns string) string {
	for _, name := range a.observed.NodeNames() {
		if n := a.observed.Nodes[name]; n.NetNS == netns {
			return n.Name
		}
	}
	if _, node, ok := state.SplitNetNSName(netns); ok {
		return node
	}
	return netns
}

func (a *assembler) nodeByNetNS(netns string) *state.Node {
	for _, n := range a.observed.Nodes {
		if n.NetNS == netns {
			return n
		}
	}
	return nil
}

func (a *assembler) link(netns, ifname string) *state.Link {
	if n := a.nodeByNetNS(netns); n != nil {
		return n.Links[ifname]
	}
	return nil
}

// requestStart is the first packet a namespace sent (inet output first),
// other than an ICMP error: the probe's request.
func (a *assembler) requestStart() *segment {
	for _, s := range a.segments {
		if s.local() && !s.entry().isICMPError() && !a.answers(s) {
			return s
		}
	}
	return nil
}

// answers reports whether the packet s starts with answers one its
// namespace saw before (the order within one namespace is the kernel's;
// across namespaces arrival says nothing): an echo reply, a TCP
// SYN-ACK or reset, a UDP answer. Such a packet is never the request,
// whatever it arrived before.
func (a *assembler) answers(s *segment) bool {
	want := s.entry().reversed()
	for _, o := range a.segments {
		if o == s || o.netns != s.netns || o.seq() > s.seq() {
			continue
		}
		for _, p := range o.passes {
			if p.entry() == want || p.exit() == want {
				return true
			}
		}
	}
	return false
}

// answerStart is the first packet back: sent by the node the request
// ended at, as the answer to the packet it got (or, for a request that
// left this machine over a link to another, cameBack, coming back in
// there: the other machine's part of both ways is not seen); else the
// first packet another node sent that answers one of the request's
// packets (a TCP reset, an ICMP error from a router on the way).
func (a *assembler) answerStart(req, last *segment, cameBack bool) *segment {
	want := last.exit().reversed()
	for _, s := range a.segments {
		if !s.used && (s.local() || cameBack) && s.netns == last.netns && s.seq() > last.seq() && s.entry() == want {
			return s
		}
	}
	seen := map[packet]bool{}
	for _, s := range a.segments {
		if s.used {
			for _, p := range s.passes {
				seen[p.entry()] = true
				seen[p.exit()] = true
			}
		}
	}
	for _, s := range a.segments {
		if s.used || !s.local() || s.netns == req.netns {
			continue
		}
		e := s.entry()
		if seen[e.reversed()] {
			return s
		}
		if e.isICMPError() {
			for p := range seen {
				if p.src == e.dst {
					return s
				}
			}
		}
	}
	return nil
}

// way follows a packet from its first segment to its end, and returns
// the way and its last segment.
func (a *assembler) way(start *segment) (*Way, *segment) {
	w := &Way{Packet: start.entry().String()}
	s := start
	for {
		s.used = true
		steps, end := a.steps(s, s == start)
		w.Steps = append(w.Steps, steps...)
		if end != nil {
			w.End = *end
			return w, s
		}
		next, unseen := a.next(s)
		if unseen != nil {
			w.Steps = append(w.Steps, *unseen)
		}
		if next == nil && unseen != nil {
			w.End = End{What: "lost", Node: unseen.Node,
				Reason: "went into " + unseen.Node + " by " + unseen.In + ", inside which the trace sees nothing, and was seen nowhere after"}
			return w, s
		}
		if next == nil {
			route, end := a.end(s)
			if route != nil {
				w.Steps = append(w.Steps, *route)
			}
			w.End = end
			return w, s
		}
		s = next
	}
}

// next is the segment the packet of s continues in: through a veth, at
// its peer's namespace, entering by the peer; from a bridge's input, at
// the bridge's own inet hooks (prerouting, or forward where br_netfilter
// ran prerouting inside the bridge's); out of a bridge device, at its bridge
// hooks; out of a macvlan, at its parent's wire or a sibling macvlan;
// out of a vxlan device, at a VTEP of the same VNI. Any other way out
// falls back to the first segment elsewhere that starts with the same
// packet. Into a veth whose peer is a node the trace does not enter
// (host: true) and which reported nothing, the way goes on where the
// packet shows next, and unseen is the step that says it crossed that
// node.
func (a *assembler) next(s *segment) (next *segment, unseen *Step) {
	lp := s.lastPass()
	pk, left := lp.leave()
	if !left {
		return nil, nil
	}
	in, out := lp.ifaces()
	if bp := s.bridgedOut(); bp != nil && !lp.bridge && lp.hook == "postrouting" {
		// br_netfilter runs a bridged frame's inet postrouting after
		// the bridge's, by the bridge's name: the frame leaves by the
		// port the bridge postrouting named.
		_, out = bp.ifaces()
	}
	switch {
	case lp.bridge && lp.hook == "input":
		bridge := ""
		if l := a.link(s.netns, in); l != nil {
			bridge = l.Master
		}
		return a.first(func(c *segment) bool {
			return c.netns == s.netns && !c.passes[0].bridge && !c.local() && (bridge == "" || c.in() == bridge) && c.entry() == pk
		}), nil
	case lp.hook == "postrouting" || (lp.bridge && lp.hook == "forward"):
		if out == "" {
			return nil, nil
		}
		l := a.link(s.netns, out)
		switch {
		case l != nil && l.Kind == device.Veth && l.Peer != "":
			peerNode, peerIf, _ := strings.Cut(l.Peer, ":")
			pn := a.observed.Nodes[peerNode]
			if pn == nil {
				return nil, nil
			}
			if untraced(pn) && !a.traced(pn.NetNS) {
				unseen := &Step{Node: pn.Name, Kind: "untraced", In: peerIf}
				return a.first(func(c *segment) bool {
					return !c.local() && c.netns != s.netns && c.entry() == pk
				}), unseen
			}
			if c := a.throughVeth(a.nodeByNetNS(s.netns).Name+":"+out, pk); c != nil {
				return c, nil
			}
			// A macvlan of the peer takes the frames for its MAC before
			// the peer's namespace sees them.
			return a.intoMacvlanOf(l.Peer, "", pk), nil
		case l != nil && l.Kind == device.MACVLAN && l.Parent != "":
			// Out on the parent's wire (its veth's peer), else to a
			// macvlan of the same parent (bridge mode: the frame never
			// leaves the parent; vepa: the wire sent it back first).
			if c := a.throughVeth(l.Parent, pk); c != nil {
				return c, nil
			}
			if c := a.intoMacvlanOf(l.Parent, s.netns, pk); c != nil {
				return c, nil
			}
		case l != nil && l.Kind == device.VXLAN:
			// The frame goes on, tunnelled, at a VTEP of the same VNI,
			// entering by its vxlan device.
			if c := a.first(func(c *segment) bool {
				cl := a.link(c.netns, c.in())
				return c.netns != s.netns && cl != nil && cl.Kind == device.VXLAN && cl.VNI == l.VNI && c.entry() == pk
			}); c != nil {
				return c, nil
			}
		case l != nil && l.Kind == device.Bridge && !lp.bridge:
			if c := a.first(func(c *segment) bool {
				return c.netns == s.netns && c.passes[0].bridge && c.entry() == pk
			}); c != nil {
				return c, nil
			}
		}
		return a.first(func(c *segment) bool {
			return !c.local() && (c.netns != s.netns || c.in() == out) && c.entry() == pk
		}), nil
	}
	return nil, nil
}

// intoMacvlanOf is the first segment of packet pk entering by a
// macvlan whose parent is NODE:IFNAME parent, outside namespace not.
func (a *assembler) intoMacvlanOf(parent, not string, pk packet) *segment {
	return a.first(func(c *segment) bool {
		cl := a.link(c.netns, c.in())
		return c.netns != not && cl != nil && cl.Kind == device.MACVLAN && cl.Parent == parent && !c.local() && c.entry() == pk
	})
}

// throughVeth is the first segment of packet pk that entered by the
// peer of the veth NODE:IFNAME end, when end is a veth. A bridge port's
// frames enter by the port at the bridge hooks, by the bridge at the
// inet ones when the namespace has no bridge-family trace table.
func (a *assembler) throughVeth(end string, pk packet) *segment {
	node, ifname, _ := strings.Cut(end, ":")
	n := a.observed.Nodes[node]
	if n == nil || n.Links[ifname] == nil || n.Links[ifname].Kind != device.Veth {
		return nil
	}
	peerNode, peerIf, _ := strings.Cut(n.Links[ifname].Peer, ":")
	pn := a.observed.Nodes[peerNode]
	if pn == nil {
		return nil
	}
	master := ""
	if pl := pn.Links[peerIf]; pl != nil {
		master = pl.Master
	}
	return a.first(func(c *segment) bool {
		entersBy := c.in() == peerIf || (master != "" && c.in() == master && !c.passes[0].bridge)
		return c.netns == pn.NetNS && entersBy && c.entry() == pk
	})
}

// lastInet is the segment's last pass of an inet hook, or nil.
func (s *segment) lastInet() *pass {
	for i := len(s.passes) - 1; i >= 0; i-- {
		if !s.passes[i].bridge {
			return &s.passes[i]
		}
	}
	return nil
}

// bridgedOut is the segment's bridge postrouting pass, when the frame
// left it: the frame was bridged out of one of the bridge's ports.
func (s *segment) bridgedOut() *pass {
	for i := range s.passes {
		if p := &s.passes[i]; p.bridge && p.hook == "postrouting" {
			if _, left := p.leave(); left {
				return p
			}
		}
	}
	return nil
}

// untraced reports a node whose namespace a trace does not enter: the
// machine's own (host: true), or one netlab did not make. (Follow traces
// the others.)
func untraced(n *state.Node) bool {
	return n.Host || n.Foreign || n.NetNS == state.HostNetNS
}

// traced reports whether the namespace reported any event.
func (a *assembler) traced(netns string) bool {
	for _, s := range a.segments {
		if s.netns == netns {
			return true
		}
	}
	return false
}

// first is the earliest unused segment that ok accepts.
func (a *assembler) first(ok func(*segment) bool) *segment {
	for _, c := range a.segments {
		if !c.used && ok(c) {
			return c
		}
	}
	return nil
}

// steps turns a segment into steps; end is set when the packet was
// dropped there.
func (a *assembler) steps(s *segment, start bool) ([]Step, *End) {
	var out []Step
	for i := range s.passes {
		p := &s.passes[i]
		in, oif := p.ifaces()
		if p.bridge {
			step := Step{Node: s.node, Kind: "bridge", Hook: p.hook, In: in, Out: oif}
			for _, e := range p.events {
				if !e.Own && e.Verdict == "drop" {
					cs := a.chainStep(s, p, e)
					out = append(out, step)
					return out, dropEnd(s.node, p.hook, cs)
				}
			}
			out = append(out, step)
			continue
		}
		// Routed: at the source's output, for the packet as sent (the
		// kernel routes before the output hook), and before a forward
		// hook, for the packet prerouting let through (unless inside
		// the bridge's forward: bridged, not routed).
		bridged := i > 0 && s.passes[i-1].bridge && s.passes[i-1].hook == "forward"
		sourceOutput := start && i == 0 && p.hook == "output"
		switch {
		case sourceOutput:
			pk := p.entry()
			out = append(out, a.routeStep(s, p.hook, kernel.Flow{Dst: pk.dst, Src: pk.src, Mark: p.markOf()}, oif))
		case p.hook == "forward" && !bridged:
			// Routed after prerouting, as it came in: from its source,
			// on its input interface, with its mark.
			out = append(out, a.routeStep(s, p.hook, kernel.Flow{Dst: p.exit().dst, Src: p.entry().src, IIf: in, Mark: p.markOf()}, oif))
		}
		var chainSteps []Step
		natAt := -1
		for _, e := range p.events {
			if e.Own || endOfChain(e) {
				continue
			}
			cs := a.chainStep(s, p, e)
			chainSteps = append(chainSteps, cs)
			if isNATRule(cs, e) && natAt < 0 {
				natAt = len(chainSteps) - 1
			}
			if e.Verdict == "drop" {
				return append(out, chainSteps...), dropEnd(s.node, p.hook, cs)
			}
		}
		before := p.entry()
		after, left := p.leave()
		changed := left && before.ok && after.ok && before != after
		switch {
		case changed && natAt >= 0:
			chainSteps[natAt].Before, chainSteps[natAt].After = addrsPtr(before), addrsPtr(after)
		case changed:
			chainSteps = append(chainSteps, Step{Node: s.node, Kind: "hook", Hook: p.hook, In: in, Out: oif, Rule: ConntrackRule,
				Before: addrsPtr(before), After: addrsPtr(after)})
		case len(chainSteps) == 0:
			chainSteps = append(chainSteps, Step{Node: s.node, Kind: "hook", Hook: p.hook, In: in, Out: oif})
		}
		out = append(out, chainSteps...)
		if sourceOutput && changed && before.dst != after.dst {
			// A DNAT at output: the kernel routes the packet again, for
			// its new destination.
			re := a.routeStep(s, p.hook, kernel.Flow{Dst: after.dst, Src: after.src, Mark: p.markOf()}, "")
			re.Route += " (rerouted)"
			out = append(out, re)
		}
	}
	return out, nil
}

// endOfChain reports the event the kernel sends when a chain runs out of
// rules, before its policy's: of type rule, but of no rule (no handle,
// no comment), verdict continue. It says nothing the policy's does not.
func endOfChain(e kernel.TraceEvent) bool {
	return e.Type == "rule" && e.Rule == 0 && e.RuleTag == "" && e.Verdict == "continue"
}

func addrsPtr(p packet) *Addrs { a := p.addrs(); return &a }

func dropEnd(node, hook string, s Step) *End {
	rule := s.Rule
	if rule == "" {
		rule = "policy drop"
	}
	return &End{What: "dropped", Node: node, Hook: hook, Rule: rule}
}

// isNATRule reports a step of a rule that translates: one of a nat chain
// that accepts (a nat rule's verdict), or whose known action is a NAT's.
func isNATRule(s Step, e kernel.TraceEvent) bool {
	if e.Type != "rule" {
		return false
	}
	return s.Table == "nat" && e.Verdict == "accept"
}

// chainStep is the step of one event of a chain that is not the trace's:
// the lab's (table netlab, chains named TABLE_HOOK) or another table's.
func (a *assembler) chainStep(s *segment, p *pass, e kernel.TraceEvent) Step {
	in, out := p.ifaces()
	prio := e.Priority
	step := Step{Node: s.node, Kind: "hook", Hook: p.hook, Chain: e.Chain, Priority: &prio, In: in, Out: out}
	if p.bridge {
		step.Kind = "bridge"
	}
	if e.Table == state.NFTableName && e.Family == "inet" {
		table, _, _ := strings.Cut(e.Chain, "_")
		step.Table = table
	} else {
		step.Table = e.Family + " " + e.Table
	}
	switch e.Type {
	case "policy":
		step.Verdict = "policy " + e.Verdict
	case "return":
		step.Verdict = "return"
	default:
		step.Rule = a.ruleText(s.netns, e)
		step.Verdict = e.Verdict
		if e.Target != "" {
			step.Verdict += " " + e.Target
		}
	}
	return step
}

// ruleText is the rule's text from the observed state's rules by tag
// (its nft text when known, else the tag), or its handle.
func (a *assembler) ruleText(netns string, e kernel.TraceEvent) string {
	if n := a.nodeByNetNS(netns); n != nil && e.Table == state.NFTableName && e.RuleTag != "" && n.NFT != nil {
		chains := n.NFT.Chains
		if c := n.NFT.Chain(e.Chain); c != nil {
			chains = append([]*state.NFChain{c}, chains...)
		}
		for _, c := range chains {
			for _, r := range c.Rules {
				if r.Tag == e.RuleTag {
					return r.Label()
				}
			}
		}
	}
	if e.RuleTag != "" {
		return e.RuleTag
	}
	return fmt.Sprintf("handle %d", e.Rule)
}

// routeStep is a routing decision in s for the flow f before hook: at
// the source's output, or a router's forward. The route is asked of the
// namespace's rules and tables (hop); the output interface the kernel
// reported, oif, stands in when it cannot be.
func (a *assembler) routeStep(s *segment, hook string, f kernel.Flow, oif string) Step {
	step := Step{Node: s.node, Kind: "route", Hook: hook, Out: oif}
	route := "-> " + oif
	if a.hops != nil && f.Dst.IsValid() {
		if hop, err := a.hop(s, f); err == nil && hop.Dev != "" {
			route = "-> " + hop.Dev
			step.Out = hop.Dev
			if hop.Gateway.IsValid() {
				route += " via " + hop.Gateway.String()
			}
		}
	}
	if oif == "" && step.Out == "" {
		route = "-> ?"
	}
	step.Route = route
	return step
}

// end says how a way ended at s, the last segment it reached, and adds
// the routing failure that ended it, if any.
func (a *assembler) end(s *segment) (*Step, End) {
	lp := s.lastPass()
	if li := s.lastInet(); lp.bridge && lp.hook == "input" && li != nil && li.hook == "prerouting" {
		// A frame the bridge handed up to its own device, whose inet
		// prerouting br_netfilter ran already: what came next was the
		// routing decision after that prerouting.
		lp = li
	}
	in, out := lp.ifaces()
	pk := lp.exit()
	switch {
	case !lp.bridge && lp.hook == "input":
		return nil, End{What: "delivered", Node: s.node}
	case !lp.bridge && lp.hook == "prerouting" && a.hops != nil && pk.ok:
		if _, err := a.hop(s, kernel.Flow{Dst: pk.dst, Src: pk.src, IIf: in, Mark: lp.markOf()}); err != nil && kernel.IsNoRoute(err) {
			reason := "no route to " + pk.dst.String()
			return &Step{Node: s.node, Kind: "route", Hook: "prerouting", In: in, Route: "no route"},
				End{What: "no-route", Node: s.node, Hook: "prerouting", Reason: reason}
		}
	}
	end := End{What: "lost", Node: s.node, Hook: lp.hook}
	if _, left := lp.leave(); !left {
		end.Reason = "seen last inside the " + lp.hook + " hook"
		return nil, end
	}
	switch lp.hook {
	case "prerouting":
		end.Reason = a.notRouted(s, pk)
	case "postrouting", "forward":
		if out == "" {
			break
		}
		end.Reason = "left by " + out + ", seen nowhere after"
		if l := a.link(s.netns, out); l != nil && l.ToMachine() {
			// A link to another machine: the rest of the way is
			// there, where this trace does not look.
			end.What = "left-machine"
			end.Reason = fmt.Sprintf("by %s, the VXLAN to %s (VNI %d): the trace follows packets on this machine only; trace on the other machine to see the rest", out, l.Remote, l.VNI)
			break
		}
		if l := a.link(s.netns, out); l != nil && (l.Kind == device.Tun || l.Kind == device.Tap) {
			// A tun or tap device hands what it sends to the program
			// that has it open, which the trace does not see.
			end.Reason = fmt.Sprintf("left by %s, a %s device: to the program that has it open, which the trace does not see", out, l.Kind)
			if l.OperState == "down" {
				end.Reason = fmt.Sprintf("left by %s, a %s device that no program has open (no carrier): the kernel drops it", out, l.Kind)
			}
			break
		}
		if a.hops != nil && pk.ok {
			if hop, err := a.hops.NextHop(s.netns, pk.dst); err == nil && (hop.Neigh == "failed" || hop.Neigh == "incomplete") {
				next := pk.dst
				if hop.Gateway.IsValid() {
					next = hop.Gateway
				}
				end.Reason = fmt.Sprintf("left by %s, no neighbour answer from %s (%s)", out, next, hop.Neigh)
			}
		}
	default:
		end.Reason = "seen last at " + lp.hook
	}
	return nil, end
}

// notRouted says why a packet that left prerouting with a route (NextHop
// found one) was seen nowhere after: for another host, forwarding is off
// unless the node's observed forwarding sysctl says 1 (a namespace
// starts with it off; the lab sets it, or does not); else, or for the
// node itself, a reverse-path filter is the likely cause.
func (a *assembler) notRouted(s *segment, pk packet) string {
	const rp = "not routed after prerouting (a reverse-path filter?)"
	if a.hops != nil && pk.ok {
		if hop, err := a.hops.NextHop(s.netns, pk.dst); err == nil && hop.Dev == "lo" {
			return rp
		}
	}
	key := "net.ipv4.ip_forward"
	if pk.dst.Is6() && !pk.dst.Is4In6() {
		key = "net.ipv6.conf.all.forwarding"
	}
	var v string
	set := false
	if n := a.nodeByNetNS(s.netns); n != nil {
		v, set = n.Sysctls[key]
	}
	switch {
	case set && v == "1":
		return "not routed after prerouting, though forwarding is on (a reverse-path filter?)"
	case set:
		return fmt.Sprintf("not routed after prerouting: forwarding is off (%s = %s)", key, v)
	}
	return fmt.Sprintf("not routed after prerouting: forwarding is off, as the lab does not set %s to 1 on %s (or a reverse-path filter?)", key, s.node)
}
