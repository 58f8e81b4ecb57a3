package kernel

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	ct "github.com/ti-mo/conntrack"
)

// TestConntrackEntry turns ctnetlink's flows, as ti-mo/conntrack decodes
// them, into netlab's entries: every field, for TCP with its state, UDP
// translated by SNAT, ICMP and ICMPv6 with type, code and identifier, a
// protocol without a name, and counters only when the kernel counted.
// It needs no root: the flows are made by hand.
func TestConntrackEntry(t *testing.T) {
	t.Parallel()
	a := netip.MustParseAddr
	tuple := func(proto uint8, src, dst string, sport, dport uint16) ct.Tuple {
		var tp ct.Tuple
		tp.IP.SourceAddress, tp.IP.DestinationAddress = a(src), a(dst)
		tp.Proto.Protocol, tp.Proto.SourcePort, tp.Proto.DestinationPort = proto, sport, dport
		return tp
	}
	icmp := func(proto uint8, src, dst string, typ, code uint8, id uint16) ct.Tuple {
		tp := tuple(proto, src, dst, 0, 0)
		tp.Proto.ICMPv4, tp.Proto.ICMPv6 = proto == 1, proto == 58
		tp.Proto.ICMPType, tp.Proto.ICMPCode, tp.Proto.ICMPID = typ, code, id
		return tp
	}
	tcp := ct.Flow{
		Timeout:    431999,
		Status:     ct.StatusConfirmed | ct.StatusSeenReply | ct.StatusAssured,
		ProtoInfo:  ct.ProtoInfo{TCP: &ct.ProtoInfoTCP{State: 3}},
		TupleOrig:  tuple(6, "10.0.0.1", "10.0.0.2", 40001, 80),
		TupleReply: tuple(6, "10.0.0.2", "10.0.0.1", 80, 40001),
		Mark:       7,
		Zone:       2,
		// The kernel counted: nf_conntrack_acct=1.
		CountersOrig:  ct.Counter{Packets: 5, Bytes: 300},
		CountersReply: ct.Counter{Direction: true, Packets: 4, Bytes: 1200},
	}
	snat := ct.Flow{
		Timeout:    29,
		Status:     ct.StatusConfirmed | ct.StatusSrcNAT | ct.StatusSrcNATDone,
		TupleOrig:  tuple(17, "192.168.31.11", "198.51.100.183", 40001, 7),
		TupleReply: tuple(17, "198.51.100.183", "198.51.100.86", 7, 40001),
	}
	echo := ct.Flow{
		Timeout:    30,
		Status:     ct.StatusConfirmed | ct.StatusSeenReply,
		TupleOrig:  icmp(1, "192.0.2.1", "192.0.2.2", 8, 0, 4711),
		TupleReply: icmp(1, "192.0.2.2", "192.0.2.1", 0, 0, 4711),
	}
	echo6 := ct.Flow{
		Timeout:    30,
		Status:     ct.StatusConfirmed | ct.StatusDstNAT,
		TupleOrig:  icmp(58, "2001:db8::1", "2001:db8::2", 128, 0, 9),
		TupleReply: icmp(58, "2001:db8::3", "2001:db8::1", 129, 0, 9),
	}
	igmp := ct.Flow{Timeout: 599, TupleOrig: tuple(2, "192.168.31.1", "224.0.0.22", 0, 0), TupleReply: tuple(2, "224.0.0.22", "192.168.31.1", 0, 0)}
	gre := ct.Flow{Timeout: 600, TupleOrig: tuple(99, "192.0.2.1", "192.0.2.2", 0, 0), TupleReply: tuple(99, "192.0.2.2", "192.0.2.1", 0, 0)}
	gre.TupleOrig.Zone = 3 // only CTA_TUPLE_ZONE
	odd := ct.Flow{ProtoInfo: ct.ProtoInfo{TCP: &ct.ProtoInfoTCP{State: 42}}, TupleOrig: tuple(6, "192.0.2.1", "192.0.2.2", 1, 2)}

	tup := func(src, dst string, sport, dport uint16) ConntrackTuple {
		return ConntrackTuple{Src: a(src), Dst: a(dst), SPort: sport, DPort: dport}
	}
	itup := func(src, dst string, typ uint8, id uint16) ConntrackTuple {
		return ConntrackTuple{Src: a(src), Dst: a(dst), ICMPType: typ, ICMPID: id}
	}
	for _, tc := range []struct {
		name string
		flow ct.Flow
		want ConntrackEntry
	}{
		{"tcp", tcp, ConntrackEntry{
			Proto: "tcp", State: "ESTABLISHED", Timeout: 431999 * time.Second,
			Orig: tup("10.0.0.1", "10.0.0.2", 40001, 80), Reply: tup("10.0.0.2", "10.0.0.1", 80, 40001),
			Assured: true, SeenReply: true, Mark: 7, Zone: 2,
			Counters: true, OrigPackets: 5, OrigBytes: 300, ReplyPackets: 4, ReplyBytes: 1200,
		}},
		{"udp snat", snat, ConntrackEntry{
			Proto: "udp", Timeout: 29 * time.Second, SrcNAT: true,
			Orig:  tup("192.168.31.11", "198.51.100.183", 40001, 7),
			Reply: tup("198.51.100.183", "198.51.100.86", 7, 40001),
		}},
		{"icmp", echo, ConntrackEntry{
			Proto: "icmp", Timeout: 30 * time.Second, SeenReply: true,
			Orig: itup("192.0.2.1", "192.0.2.2", 8, 4711), Reply: itup("192.0.2.2", "192.0.2.1", 0, 4711),
		}},
		{"icmpv6 dnat", echo6, ConntrackEntry{
			Proto: "ipv6-icmp", Timeout: 30 * time.Second, DstNAT: true,
			Orig: itup("2001:db8::1", "2001:db8::2", 128, 9), Reply: itup("2001:db8::3", "2001:db8::1", 129, 9),
		}},
		{"igmp", igmp, ConntrackEntry{
			Proto: "igmp", Timeout: 599 * time.Second,
			Orig: tup("192.168.31.1", "224.0.0.22", 0, 0), Reply: tup("224.0.0.22", "192.168.31.1", 0, 0),
		}},
		{"unnamed protocol", gre, ConntrackEntry{
			Proto: "99", Timeout: 600 * time.Second, Zone: 3,
			Orig: tup("192.0.2.1", "192.0.2.2", 0, 0), Reply: tup("192.0.2.2", "192.0.2.1", 0, 0),
		}},
		{"unknown tcp state", odd, ConntrackEntry{
			Proto: "tcp", State: "42", Orig: tup("192.0.2.1", "192.0.2.2", 1, 2),
		}},
	} {
		got := conntrackEntry(tc.flow)
		if diff := cmp.Diff(tc.want, got, cmp.Comparer(func(x, y netip.Addr) bool { return x == y })); diff != "" {
			t.Errorf("%s: entry (-want +got):\n%s", tc.name, diff)
		}
	}
}

// TestTCPStateNames follows the kernel's enum tcp_conntrack.
func TestTCPStateNames(t *testing.T) {
	t.Parallel()
	for s, want := range map[uint8]string{0: "NONE", 1: "SYN_SENT", 2: "SYN_RECV", 3: "ESTABLISHED", 7: "TIME_WAIT", 8: "CLOSE", 9: "SYN_SENT2", 10: "10"} {
		if got := tcpStateName(s); got != want {
			t.Errorf("tcpStateName(%d) = %q, want %q", s, got, want)
		}
	}
}
