package kernel

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/nftables"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// The pure half of tracing: decoding an NFT_MSG_TRACE message of the
// NFNLGRP_NFTRACE group into its attributes, and naming its verdict. No
// socket, so that it is tested without root (trace_decode_test.go).

// Netfilter's verdicts (linux/netfilter.h) and the table flag the kernel
// removes a table by (linux/netfilter/nf_tables.h), which x/sys/unix
// lacks.
const (
	nfDrop, nfAccept, nfStolen, nfQueue, nfRepeat, nfStop = 0, 1, 2, 3, 4, 5
	nfVerdictMask                                         = 0xff
	nftTableFOwner                                        = 0x2
)

// traceMsgType is the netlink message type of a trace event: subsystem
// nftables, message NFT_MSG_TRACE.
const traceMsgType = netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | unix.NFT_MSG_TRACE)

// rawTrace is one trace message as the kernel sent it: numbers where the
// kernel gives numbers (ifindexes, the rule handle), which the listener
// then resolves to names.
type rawTrace struct {
	Family     uint8 // the table's family (nfgenmsg), NFPROTO_*
	Table      string
	Chain      string
	RuleHandle uint64
	Type       uint32 // NFT_TRACETYPE_*
	// Verdict is the verdict code of a rule or return event, and Target
	// the chain of a jump or goto; HasVerdict tells it was sent.
	Verdict    int32
	Target     string
	HasVerdict bool
	// Policy is the chain's policy of a policy event (NF_ACCEPT, NF_DROP).
	Policy    uint32
	HasPolicy bool
	ID        uint32
	IIf, OIf  uint32
	Mark      uint32
	NFProto   uint32
	// The headers, dumped by the kernel once per chain it evaluates:
	// the later events of the same chain carry none.
	LinkLayer, Network, Transport []byte
}

// decodeTrace decodes one NFT_MSG_TRACE message. A message of another
// type is an error.
func decodeTrace(m netlink.Message) (rawTrace, error) {
	var r rawTrace
	if m.Header.Type != traceMsgType {
		return r, fmt.Errorf("trace message: type %#x is not NFT_MSG_TRACE", uint16(m.Header.Type))
	}
	if len(m.Data) < 4 {
		return r, fmt.Errorf("trace message: %d bytes, shorter than its nfgenmsg header", len(m.Data))
	}
	r.Family = m.Data[0]
	ad, err := netlink.NewAttributeDecoder(m.Data[4:])
	if err != nil {
		return r, fmt.Errorf("trace message: %w", err)
	}
	// nftables sends its numbers in network byte order.
	ad.ByteOrder = binary.BigEndian
	for ad.Next() {
		switch ad.Type() {
		case unix.NFTA_TRACE_TABLE:
			r.Table = ad.String()
		case unix.NFTA_TRACE_CHAIN:
			r.Chain = ad.String()
		case unix.NFTA_TRACE_RULE_HANDLE:
			r.RuleHandle = ad.Uint64()
		case unix.NFTA_TRACE_TYPE:
			r.Type = ad.Uint32()
		case unix.NFTA_TRACE_VERDICT:
			r.HasVerdict = true
			ad.Nested(func(nd *netlink.AttributeDecoder) error {
				nd.ByteOrder = binary.BigEndian
				for nd.Next() {
					switch nd.Type() {
					case unix.NFTA_VERDICT_CODE:
						r.Verdict = int32(nd.Uint32())
					case unix.NFTA_VERDICT_CHAIN:
						r.Target = nd.String()
					}
				}
				return nd.Err()
			})
		case unix.NFTA_TRACE_POLICY:
			r.Policy, r.HasPolicy = ad.Uint32(), true
		case unix.NFTA_TRACE_ID:
			r.ID = ad.Uint32()
		case unix.NFTA_TRACE_IIF:
			r.IIf = ad.Uint32()
		case unix.NFTA_TRACE_OIF:
			r.OIf = ad.Uint32()
		case unix.NFTA_TRACE_MARK:
			r.Mark = ad.Uint32()
		case unix.NFTA_TRACE_NFPROTO:
			r.NFProto = ad.Uint32()
		case unix.NFTA_TRACE_LL_HEADER:
			r.LinkLayer = ad.Bytes()
		case unix.NFTA_TRACE_NETWORK_HEADER:
			r.Network = ad.Bytes()
		case unix.NFTA_TRACE_TRANSPORT_HEADER:
			r.Transport = ad.Bytes()
		}
	}
	if err := ad.Err(); err != nil {
		return r, fmt.Errorf("trace message: %w", err)
	}
	if r.Table == "" || r.Chain == "" {
		return r, fmt.Errorf("trace message: no table or chain")
	}
	return r, nil
}

// traceTypeName names an NFT_TRACETYPE_*.
func traceTypeName(t uint32) string {
	switch t {
	case unix.NFT_TRACETYPE_POLICY:
		return "policy"
	case unix.NFT_TRACETYPE_RETURN:
		return "return"
	case unix.NFT_TRACETYPE_RULE:
		return "rule"
	}
	return strconv.FormatUint(uint64(t), 10)
}

// verdictName names a verdict: the netfilter ones (NF_*, the low byte;
// a queue verdict carries its queue number above it) and nftables' own
// (NFT_*, negative).
func verdictName(code int32) string {
	switch code {
	case unix.NFT_CONTINUE:
		return "continue"
	case unix.NFT_BREAK:
		return "break"
	case unix.NFT_JUMP:
		return "jump"
	case unix.NFT_GOTO:
		return "goto"
	case unix.NFT_RETURN:
		return "return"
	}
	if code >= 0 {
		switch uint32(code) & nfVerdictMask {
		case nfDrop:
			return "drop"
		case nfAccept:
			return "accept"
		case nfStolen:
			return "stolen"
		case nfQueue:
			return "queue"
		case nfRepeat:
			return "repeat"
		case nfStop:
			return "stop"
		}
	}
	return strconv.FormatInt(int64(code), 10)
}

// familyName names a table family (NFPROTO_*) as nft writes it.
func familyName(f uint8) string {
	switch f {
	case unix.NFPROTO_IPV4:
		return "ip"
	case unix.NFPROTO_IPV6:
		return "ip6"
	case unix.NFPROTO_INET:
		return "inet"
	case unix.NFPROTO_BRIDGE:
		return "bridge"
	case unix.NFPROTO_ARP:
		return "arp"
	case unix.NFPROTO_NETDEV:
		return "netdev"
	}
	return strconv.Itoa(int(f))
}

// eventOf is the TraceEvent of a raw message, before the listener fills
// in what it resolves (hook, priority, rule tag, interface names, Own).
func eventOf(netns string, r rawTrace) TraceEvent {
	e := TraceEvent{
		NetNS: netns, ID: r.ID, Family: familyName(r.Family), Table: r.Table, Chain: r.Chain,
		Type: traceTypeName(r.Type), Rule: r.RuleHandle, Target: r.Target, Mark: r.Mark,
		Network: r.Network, Transport: r.Transport, LinkLayer: r.LinkLayer,
	}
	switch {
	case r.HasVerdict:
		e.Verdict = verdictName(r.Verdict)
	case r.HasPolicy:
		e.Verdict = verdictName(int32(r.Policy))
	}
	return e
}

// isTraceTable reports whether a table's name is a trace table's.
func isTraceTable(name string) bool {
	return name == TraceTablePrefix || strings.HasPrefix(name, TraceTablePrefix+"_")
}

// ownedTable reports whether a table has NFT_TABLE_F_OWNER: a live socket
// holds it (the kernel removes it with the socket). google/nftables
// decodes the flags in host byte order; the kernel sends them in network
// byte order.
func ownedTable(t *nftables.Table) bool {
	flags := binary.BigEndian.Uint32(binary.NativeEndian.AppendUint32(nil, t.Flags))
	return flags&nftTableFOwner != 0
}
