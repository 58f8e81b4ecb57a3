package kernel

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/mdlayher/netlink"
	ct "github.com/ti-mo/conntrack"
	"golang.org/x/sys/unix"

	"netlab/lab/state"
)

// Conntrack: see Conntracker (seam.go). It refuses state.HostNetNS with
// EPERM, as ConntrackFlush does: the machine's table holds the machine's
// own connections (and other users'), which are not a lab's to show.
// Equivalent to: ip netns exec NETNS conntrack -L
func (k *Linux) Conntrack(ctx context.Context, netnsName string) ([]ConntrackEntry, error) {
	conn, err := k.ctConn(ctx, netnsName, "Conntrack")
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	flows, err := conn.Dump(nil)
	if err != nil {
		return nil, fmt.Errorf("conntrack of %s: list: %w", netnsName, err)
	}
	out := make([]ConntrackEntry, len(flows))
	for i, f := range flows {
		out[i] = conntrackEntry(f)
	}
	return out, nil
}

// ConntrackFlush: see Conntracker (seam.go).
// Equivalent to: ip netns exec NETNS conntrack -F
func (k *Linux) ConntrackFlush(ctx context.Context, netnsName string) error {
	conn, err := k.ctConn(ctx, netnsName, "ConntrackFlush")
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.Flush(); err != nil {
		return fmt.Errorf("conntrack of %s: flush: %w", netnsName, err)
	}
	return nil
}

// ctConn opens a ctnetlink socket inside a lab's namespace: made in the
// namespace (netlink.Config.NetNS), so that what it reads and flushes is
// that namespace's table whatever thread the caller runs on.
func (k *Linux) ctConn(ctx context.Context, netnsName, what string) (*ct.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if netnsName == state.HostNetNS {
		return nil, fmt.Errorf("%s in the machine's own namespace: netlab reads and flushes only the conntrack tables of a lab's namespaces: %w", what, unix.EPERM)
	}
	c, err := k.conn(netnsName)
	if err != nil {
		return nil, err
	}
	conn, err := ct.Dial(&netlink.Config{NetNS: int(c.fd)})
	if err != nil {
		return nil, fmt.Errorf("conntrack of %s: ctnetlink socket: %w", netnsName, err)
	}
	return conn, nil
}

// conntrackEntry turns a flow of ctnetlink into netlab's entry.
func conntrackEntry(f ct.Flow) ConntrackEntry {
	e := ConntrackEntry{
		Proto:     conntrackProto(f.TupleOrig.Proto.Protocol),
		Timeout:   time.Duration(f.Timeout) * time.Second,
		Orig:      conntrackTuple(f.TupleOrig),
		Reply:     conntrackTuple(f.TupleReply),
		Assured:   f.Status.Assured(),
		SeenReply: f.Status.SeenReply(),
		SrcNAT:    f.Status.SrcNAT(),
		DstNAT:    f.Status.DstNAT(),
		Mark:      f.Mark,
		Zone:      f.Zone,
	}
	if e.Zone == 0 {
		e.Zone = f.TupleOrig.Zone // a zone only one direction has (CTA_TUPLE_ZONE)
	}
	if f.ProtoInfo.TCP != nil {
		e.State = tcpStateName(f.ProtoInfo.TCP.State)
	}
	// The library leaves the counters zero when the kernel sends none
	// (nf_conntrack_acct=0 when the entry was made). When it counts, the
	// first packet, which made the entry, is always counted: zero
	// original packets means no counters.
	if f.CountersOrig.Packets > 0 {
		e.Counters = true
		e.OrigPackets, e.OrigBytes = f.CountersOrig.Packets, f.CountersOrig.Bytes
		e.ReplyPackets, e.ReplyBytes = f.CountersReply.Packets, f.CountersReply.Bytes
	}
	return e
}

func conntrackTuple(t ct.Tuple) ConntrackTuple {
	out := ConntrackTuple{Src: t.IP.SourceAddress.Unmap(), Dst: t.IP.DestinationAddress.Unmap()}
	p := t.Proto
	if p.ICMPv4 || p.ICMPv6 {
		out.ICMPType, out.ICMPCode, out.ICMPID = p.ICMPType, p.ICMPCode, p.ICMPID
	} else {
		out.SPort, out.DPort = p.SourcePort, p.DestinationPort
	}
	return out
}

// conntrackProto names a protocol as /etc/protocols does: those
// conntrack has a tracker for, and IGMP, which a lab's bridges send; any
// other is its number.
func conntrackProto(p uint8) string {
	switch p {
	case unix.IPPROTO_TCP:
		return "tcp"
	case unix.IPPROTO_UDP:
		return "udp"
	case unix.IPPROTO_UDPLITE:
		return "udplite"
	case unix.IPPROTO_ICMP:
		return "icmp"
	case unix.IPPROTO_ICMPV6:
		return "ipv6-icmp"
	case unix.IPPROTO_IGMP:
		return "igmp" // a bridge's multicast reports, tracked generically
	case unix.IPPROTO_SCTP:
		return "sctp"
	case unix.IPPROTO_DCCP:
		return "dccp"
	case unix.IPPROTO_GRE:
		return "gre"
	}
	return strconv.Itoa(int(p))
}

// tcpStates are the kernel's TCP conntrack states (enum tcp_conntrack),
// named as conntrack(8) prints them.
var tcpStates = [...]string{
	"NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT",
	"CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE", "SYN_SENT2",
}

// tcpStateName names a TCP conntrack state (CTA_PROTOINFO_TCP_STATE);
// one this netlab does not know is its number.
func tcpStateName(s uint8) string {
	if int(s) < len(tcpStates) {
		return tcpStates[s]
	}
	return strconv.Itoa(int(s))
}
