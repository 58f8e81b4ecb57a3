package trace

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"netlab/lab/kernel"
	"netlab/lab/labfile"
	"netlab/lab/plan"
	"netlab/lab/state"
)

// The helpers below build the events a kernel reports for hand-made
// traces: real IPv4/IPv6 and UDP/TCP/ICMP header bytes, the trace's own
// chains at every hook, the lab's chains between them.

// hdr is a packet's network and transport headers, as a trace event
// carries them.
type hdr struct{ net, tr []byte }

func ipHeader(proto uint8, src, dst netip.Addr) []byte {
	if src.Is4() {
		b := make([]byte, 20)
		b[0], b[8], b[9] = 0x45, 64, proto
		binary.BigEndian.PutUint16(b[2:], 48)
		s, d := src.As4(), dst.As4()
		copy(b[12:], s[:])
		copy(b[16:], d[:])
		return b
	}
	b := make([]byte, 40)
	b[0], b[6], b[7] = 0x60, proto, 64
	binary.BigEndian.PutUint16(b[4:], 8)
	s, d := src.As16(), dst.As16()
	copy(b[8:], s[:])
	copy(b[24:], d[:])
	return b
}

// udp is a UDP packet from src to dst ("192.168.31.11:40001").
func udp(src, dst string) hdr {
	s, d := netip.MustParseAddrPort(src), netip.MustParseAddrPort(dst)
	tr := make([]byte, 8)
	binary.BigEndian.PutUint16(tr[0:], s.Port())
	binary.BigEndian.PutUint16(tr[2:], d.Port())
	binary.BigEndian.PutUint16(tr[4:], 8)
	return hdr{ipHeader(protoUDP, s.Addr(), d.Addr()), tr}
}

// TCP flags.
const (
	fin = 0x01
	syn = 0x02
	ack = 0x10
)

// tcp is a TCP segment with flags.
func tcp(src, dst string, flags byte) hdr {
	s, d := netip.MustParseAddrPort(src), netip.MustParseAddrPort(dst)
	tr := make([]byte, 20)
	binary.BigEndian.PutUint16(tr[0:], s.Port())
	binary.BigEndian.PutUint16(tr[2:], d.Port())
	binary.BigEndian.PutUint32(tr[4:], 1000)
	tr[12], tr[13] = 0x50, flags
	return hdr{ipHeader(protoTCP, s.Addr(), d.Addr()), tr}
}

// echo is an ICMP (or ICMPv6) echo request, or its reply, with id.
func echo(src, dst string, reply bool, id uint16) hdr {
	s, d := netip.MustParseAddr(src), netip.MustParseAddr(dst)
	proto, typ := uint8(protoICMP), uint8(icmpEchoRequest)
	switch {
	case s.Is6() && reply:
		proto, typ = protoICMPv6, icmpv6EchoReply
	case s.Is6():
		proto, typ = protoICMPv6, icmpv6EchoRequest
	case reply:
		typ = icmpEchoReply
	}
	tr := make([]byte, 20) // 8 of header, 12 of payload as the kernel dumps them
	tr[0] = typ
	binary.BigEndian.PutUint16(tr[4:], id)
	binary.BigEndian.PutUint16(tr[6:], 1)
	return hdr{ipHeader(proto, s, d), tr}
}

// icmpError is an ICMPv4 error from src to dst quoting inner (of which the
// kernel dumps 12 bytes after the 8 of the ICMP header).
func icmpError(src, dst string, typ, code uint8, inner hdr) hdr {
	tr := make([]byte, 20)
	tr[0], tr[1] = typ, code
	copy(tr[8:], inner.net[:12])
	return hdr{ipHeader(protoICMP, netip.MustParseAddr(src), netip.MustParseAddr(dst)), tr}
}

// labEvent is an event of one of the lab's chains (table netlab).
type labEvent struct {
	chain    string
	priority int
	typ      string // rule, policy
	tag      string
	verdict  string
	pkt      *hdr // the packet as the chain saw it, when not as it entered the hook
	// family and table are those of a table that is not the lab's;
	// "" for the lab's (inet netlab).
	family, table string
}

func rule(chain string, priority int, tag, verdict string) labEvent {
	return labEvent{chain: chain, priority: priority, typ: "rule", tag: tag, verdict: verdict}
}

func policy(chain string, priority int, verdict string) labEvent {
	return labEvent{chain: chain, priority: priority, typ: "policy", verdict: verdict}
}

// traceBuilder collects events in the order a trace delivers them.
type traceBuilder struct {
	events []kernel.TraceEvent
	handle uint64
}

const ownTable = "netlab_trace_4242_1"

func (b *traceBuilder) add(e kernel.TraceEvent) {
	e.Seq = uint64(len(b.events) + 1)
	b.events = append(b.events, e)
}

// hook adds one hook's events for a packet of the namespace netns with
// trace ID id, as the kernel reports them (see the kernel-*.json
// fixtures): the trace's first chain (its rule that sets nftrace), the
// lab's events, and the trace's last chain (unless a lab event dropped
// the packet). in is the packet as it entered the
// hook, out as it left.
func (b *traceBuilder) hook(netns string, id uint32, hook, iif, oif string, in, out hdr, lab ...labEvent) {
	b.hookOf("inet", netns, id, hook, iif, oif, in, out, lab...)
}

// bridgeHook is hook for the bridge family's hooks: a bridge hop.
func (b *traceBuilder) bridgeHook(netns string, id uint32, hook, iif, oif string, pkt hdr) {
	b.hookOf("bridge", netns, id, hook, iif, oif, pkt, pkt)
}

// nestedHook adds a bridge hook with the inet hook that br_netfilter
// runs inside it: the bridge's first chain, the inet hook's events, the
// bridge's last chain (end of chain, policy).
func (b *traceBuilder) nestedHook(netns string, id uint32, hook, iif, oif, inetIIf, inetOIf string, pkt hdr) {
	b.hookOf("bridge", netns, id, hook, iif, oif, pkt, pkt)
	n := len(b.events)
	bridgeLast := slices.Clone(b.events[n-2:])
	b.events = b.events[:n-2]
	b.hook(netns, id, hook, inetIIf, inetOIf, pkt, pkt)
	for _, e := range bridgeLast {
		b.add(e)
	}
}

func (b *traceBuilder) hookOf(family, netns string, id uint32, hook, iif, oif string, in, out hdr, lab ...labEvent) {
	base := kernel.TraceEvent{NetNS: netns, ID: id, Family: family, Hook: hook, IIf: iif, OIf: oif}
	// As the kernel reports them: the first chain's mark rule accepts
	// (the chain ends there); the last chain ends with the end-of-chain
	// event (a rule event of no rule) and its policy.
	own := func(first bool, typ string, pkt hdr) {
		e := base
		e.Table, e.Own, e.OwnFirst, e.Type = ownTable, true, first, typ
		e.Chain, e.Priority = "last_"+hook, kernel.TraceLastPriority
		e.Verdict = "accept"
		switch {
		case first:
			b.handle++
			e.Chain, e.Priority = "first_"+hook, kernel.TraceFirstPriority
			e.Rule, e.RuleTag = b.handle, "netlab trace: mark"
		case typ == "rule":
			e.Verdict = "continue"
		}
		e.Network, e.Transport = pkt.net, pkt.tr
		b.add(e)
	}
	own(true, "rule", in)
	for _, l := range lab {
		e := base
		e.Table, e.Chain, e.Priority, e.Type, e.RuleTag, e.Verdict = state.NFTableName, l.chain, l.priority, l.typ, l.tag, l.verdict
		if l.table != "" {
			e.Family, e.Table = l.family, l.table
		}
		if l.typ == "rule" {
			b.handle++
			e.Rule = b.handle
		}
		pkt := in
		if l.pkt != nil {
			pkt = *l.pkt
		}
		e.Network, e.Transport = pkt.net, pkt.tr
		if l.typ == "policy" {
			end := e
			end.Type, end.Verdict = "rule", "continue"
			b.add(end)
		}
		b.add(e)
		if l.verdict == "drop" {
			return
		}
	}
	own(false, "rule", out)
	own(false, "policy", out)
}

// fakeHops answers NextHop from a table of routes per namespace: the
// longest prefix that holds the address; none is ENETUNREACH, as the
// kernel says it.
type fakeHops struct {
	kernel.NetNS // nil: only NextHop is asked
	routes       map[string][]fakeRoute
}

type fakeRoute struct {
	to  netip.Prefix
	hop kernel.Hop
}

func (f *fakeHops) route(netns, to, dev, via string) *fakeRoute {
	r := fakeRoute{to: netip.MustParsePrefix(to), hop: kernel.Hop{Dev: dev}}
	if via != "" {
		r.hop.Gateway = netip.MustParseAddr(via)
	}
	if f.routes == nil {
		f.routes = map[string][]fakeRoute{}
	}
	f.routes[netns] = append(f.routes[netns], r)
	return &f.routes[netns][len(f.routes[netns])-1]
}

func (f *fakeHops) NextHop(netns string, dst netip.Addr) (kernel.Hop, error) {
	best := -1
	var hop kernel.Hop
	for _, r := range f.routes[netns] {
		if r.to.Contains(dst) && r.to.Bits() > best {
			best, hop = r.to.Bits(), r.hop
		}
	}
	if best < 0 {
		return hop, fmt.Errorf("route to %s: %w", dst, syscall.ENETUNREACH)
	}
	return hop, nil
}

// labState is the state of a shipped lab, as up makes it: what
// Assemble reads of the lab's links (veth peers, bridge ports) and rules.
func labState(t *testing.T, name string) *state.State {
	t.Helper()
	l, diags := labfile.Load(filepath.Join("..", "..", "topologies", name+".yaml"), name+".yaml")
	if diags.HasErrors() {
		t.Fatalf("load %s: %v", name, diags)
	}
	return plan.Desired(l)
}

// ruleTag is the tag of the rule of node's chain whose text holds part.
func ruleTag(t *testing.T, s *state.State, node, chain, part string) string {
	t.Helper()
	c := s.Nodes[node].NFT.Chain(chain)
	if c == nil {
		t.Fatalf("%s has no chain %s", node, chain)
	}
	for _, r := range c.Rules {
		if strings.Contains(r.Text(), part) {
			return r.Tag
		}
	}
	t.Fatalf("%s %s: no rule with %q", node, chain, part)
	return ""
}
