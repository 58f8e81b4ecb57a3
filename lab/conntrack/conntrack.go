// Package conntrack shows a node's connection-tracking table as a course
// reads it: each connection's protocol, state, timeout, original and reply
// tuples, and whether a NAT rule translated it (the reply tuple is not the
// original reversed). netlab conntrack and the TUI's conntrack view both
// print through it: List reads a table sorted, WriteText prints it as a
// table, JSON gives the shape of -o json.
package conntrack

import (
	"cmp"
	"context"
	"net/netip"
	"slices"
	"strconv"

	"netlab/lab/kernel"
)

// The translations, as Translation names them.
const (
	SNAT = "SNAT"
	DNAT = "DNAT"
	Both = "SNAT+DNAT"
)

// Translation says how the kernel translates the connection: "SNAT",
// "DNAT", "SNAT+DNAT", or "" when the reply tuple mirrors the original.
// It is read from the tuples, as a course explains NAT: the answer is
// expected at another address or port than the first packet came from
// (SNAT: the source was rewritten; the answer's destination, reversed
// back, tells to what), or from another than it was sent to (DNAT). An
// ICMP echo's identifier plays the source port's part.
func Translation(e kernel.ConntrackEntry) string {
	return nat(tupleSNAT(e), tupleDNAT(e))
}

// KernelTranslation is the translation the kernel's own status flags
// name (IPS_SRC_NAT, IPS_DST_NAT), in Translation's words. The two agree
// unless the entry was made or changed by hand (conntrack -I, -U).
func KernelTranslation(e kernel.ConntrackEntry) string {
	return nat(e.SrcNAT, e.DstNAT)
}

func nat(src, dst bool) string {
	switch {
	case src && dst:
		return Both
	case src:
		return SNAT
	case dst:
		return DNAT
	}
	return ""
}

// tupleSNAT: the answer goes to another source than the first packet's.
func tupleSNAT(e kernel.ConntrackEntry) bool {
	o, r := e.Orig, e.Reply
	if isICMP(e.Proto) {
		return r.Dst != o.Src || r.ICMPID != o.ICMPID
	}
	return r.Dst != o.Src || r.DPort != o.SPort
}

// tupleDNAT: the answer comes from another destination than the first
// packet was sent to.
func tupleDNAT(e kernel.ConntrackEntry) bool {
	o, r := e.Orig, e.Reply
	if isICMP(e.Proto) {
		return r.Src != o.Dst
	}
	return r.Src != o.Dst || r.SPort != o.DPort
}

func isICMP(proto string) bool { return proto == "icmp" || proto == "ipv6-icmp" }

// hasPorts reports whether the protocol's tuples have ports.
func hasPorts(proto string) bool {
	switch proto {
	case "tcp", "udp", "udplite", "sctp", "dccp":
		return true
	}
	return false
}

// Tuple shows one direction as conntrack(8) does, in a course's words:
// "192.168.31.11:40001 -> 198.51.100.10:7" (icmp: "... id 4711"; an ICMP
// query other than an echo adds its type: "... type 13 id 4711"). IPv6
// addresses with a port are bracketed: "[2001:db8::1]:40001".
func Tuple(t kernel.ConntrackTuple, proto string) string {
	switch {
	case hasPorts(proto):
		return netip.AddrPortFrom(t.Src, t.SPort).String() + " -> " + netip.AddrPortFrom(t.Dst, t.DPort).String()
	case isICMP(proto):
		s := addr(t.Src) + " -> " + addr(t.Dst)
		if !isEcho(t.ICMPType) {
			s += " type " + strconv.Itoa(int(t.ICMPType))
			if t.ICMPCode != 0 {
				s += " code " + strconv.Itoa(int(t.ICMPCode))
			}
		}
		return s + " id " + strconv.Itoa(int(t.ICMPID))
	}
	return addr(t.Src) + " -> " + addr(t.Dst)
}

// isEcho: ICMP echo request and reply, of ICMP and of ICMPv6.
func isEcho(typ uint8) bool { return typ == 8 || typ == 0 || typ == 128 || typ == 129 }

func addr(a netip.Addr) string {
	if !a.IsValid() {
		return "?"
	}
	return a.String()
}

// Sort orders entries by protocol name, then by original tuple (source
// address and port, destination address and port, ICMP identifier and
// type), then zone; entries alike keep their order.
func Sort(entries []kernel.ConntrackEntry) {
	slices.SortStableFunc(entries, func(a, b kernel.ConntrackEntry) int {
		return cmp.Or(
			cmp.Compare(a.Proto, b.Proto),
			a.Orig.Src.Compare(b.Orig.Src),
			cmp.Compare(a.Orig.SPort, b.Orig.SPort),
			a.Orig.Dst.Compare(b.Orig.Dst),
			cmp.Compare(a.Orig.DPort, b.Orig.DPort),
			cmp.Compare(a.Orig.ICMPID, b.Orig.ICMPID),
			cmp.Compare(a.Orig.ICMPType, b.Orig.ICMPType),
			cmp.Compare(a.Zone, b.Zone),
		)
	})
}

// List reads the conntrack table of the namespace netns (LAB.NODE),
// sorted (Sort).
func List(ctx context.Context, ct kernel.Conntracker, netns string) ([]kernel.ConntrackEntry, error) {
	entries, err := ct.Conntrack(ctx, netns)
	if err != nil {
		return nil, err
	}
	Sort(entries)
	return entries, nil
}

// Flush empties the conntrack table of the namespace netns and returns
// how many entries it held just before: the table is listed, then
// flushed, so a connection made between the two is removed and not
// counted.
func Flush(ctx context.Context, ct kernel.Conntracker, netns string) (int, error) {
	entries, err := ct.Conntrack(ctx, netns)
	if err != nil {
		return 0, err
	}
	if err := ct.ConntrackFlush(ctx, netns); err != nil {
		return 0, err
	}
	return len(entries), nil
}
