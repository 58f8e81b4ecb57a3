package check

import (
	"encoding/binary"
	"errors"
	"net/netip"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"netlab/lab/packet"
)

// The ICMP messages a probe's raw socket sends and reads are encoded and
// parsed by golang.org/x/net/icmp. What netlab adds is reading the start
// of the packet an ICMP error quotes, to tell which probe it is about.

// icmpMsg is an ICMP message as a raw ICMP socket reads it (without the
// IP header).
type icmpMsg struct {
	v6        bool
	typ, code uint8
	echo      *icmp.Echo // of an echo request or reply
	original  *quoted    // of an error (unreachable, time exceeded, too big)
	mtu       int        // of fragmentation needed (IPv4) or packet too big (IPv6)
}

// quoted is the start of the packet an ICMP error quotes.
type quoted struct {
	src, dst         netip.Addr
	proto            uint8
	id, seq          uint16 // when proto is ICMP and the packet an echo request
	srcPort, dstPort uint16 // when proto is TCP or UDP
}

// icmpProto is the IANA protocol number x/net/icmp parses by.
func icmpProto(v6 bool) int {
	if v6 {
		return packet.ProtoICMPv6
	}
	return packet.ProtoICMP
}

// marshalEcho builds an ICMP (or, with v6, ICMPv6) echo request. The
// ICMPv6 checksum covers a pseudo-header with the addresses, which the
// kernel fills in on a raw ICMPv6 socket, so it is left zero.
func marshalEcho(v6 bool, id, seq uint16, data []byte) ([]byte, error) {
	m := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: int(id), Seq: int(seq), Data: data}}
	if v6 {
		m.Type = ipv6.ICMPTypeEchoRequest
	}
	return m.Marshal(nil)
}

var errNotICMP = errors.New("not an ICMP message")

// parseICMP parses an ICMP message without its IP header.
func parseICMP(v6 bool, b []byte) (*icmpMsg, error) {
	if len(b) < 8 {
		return nil, errNotICMP
	}
	pm, err := icmp.ParseMessage(icmpProto(v6), b)
	if err != nil {
		return nil, err
	}
	m := &icmpMsg{v6: v6, typ: b[0], code: b[1]}
	switch body := pm.Body.(type) {
	case *icmp.Echo:
		m.echo = body
	case *icmp.DstUnreach:
		m.original = parseQuoted(v6, body.Data)
		if !v6 && m.typ == uint8(ipv4.ICMPTypeDestinationUnreachable) && m.code == 4 {
			// RFC 1191: the next hop's MTU in the header's last 16 bits.
			m.mtu = int(binary.BigEndian.Uint16(b[6:8]))
		}
	case *icmp.PacketTooBig:
		m.original = parseQuoted(v6, body.Data)
		m.mtu = body.MTU
	case *icmp.TimeExceeded:
		m.original = parseQuoted(v6, body.Data)
	}
	return m, nil
}

// parseQuoted reads the IP header an error quotes and the start of what
// it carried; nil when too little is quoted.
func parseQuoted(v6 bool, b []byte) *quoted {
	var o quoted
	var p []byte
	if v6 {
		h, err := ipv6.ParseHeader(b)
		if err != nil {
			return nil
		}
		o.src, _ = netip.AddrFromSlice(h.Src)
		o.dst, _ = netip.AddrFromSlice(h.Dst)
		o.proto = uint8(h.NextHeader)
		p = b[ipv6.HeaderLen:]
	} else {
		h, err := ipv4.ParseHeader(b)
		if err != nil || h.Version != 4 || h.Len < ipv4.HeaderLen {
			return nil
		}
		o.src, _ = netip.AddrFromSlice(h.Src.To4())
		o.dst, _ = netip.AddrFromSlice(h.Dst.To4())
		o.proto = uint8(h.Protocol)
		p = b[h.Len:]
	}
	switch o.proto {
	case packet.ProtoICMP, packet.ProtoICMPv6:
		if qm, err := icmp.ParseMessage(int(o.proto), p); err == nil {
			if e, ok := qm.Body.(*icmp.Echo); ok {
				o.id, o.seq = uint16(e.ID), uint16(e.Seq)
			}
		}
	case packet.ProtoTCP, packet.ProtoUDP:
		if len(p) >= 4 { // both start with the two ports
			o.srcPort = binary.BigEndian.Uint16(p[0:2])
			o.dstPort = binary.BigEndian.Uint16(p[2:4])
		}
	}
	return &o
}

func (m *icmpMsg) isEchoRequest() bool {
	if m.v6 {
		return m.typ == uint8(ipv6.ICMPTypeEchoRequest)
	}
	return m.typ == uint8(ipv4.ICMPTypeEcho)
}

func (m *icmpMsg) isEchoReply() bool {
	if m.v6 {
		return m.typ == uint8(ipv6.ICMPTypeEchoReply)
	}
	return m.typ == uint8(ipv4.ICMPTypeEchoReply)
}

func (m *icmpMsg) isUnreachable() bool {
	if m.v6 {
		return m.typ == uint8(ipv6.ICMPTypeDestinationUnreachable)
	}
	return m.typ == uint8(ipv4.ICMPTypeDestinationUnreachable)
}

// isPacketTooBig reports an ICMPv6 packet too big; IPv4's "fragmentation
// needed" is an unreachable of code 4.
func (m *icmpMsg) isPacketTooBig() bool {
	return m.v6 && m.typ == uint8(ipv6.ICMPTypePacketTooBig)
}

func (m *icmpMsg) isTimeExceeded() bool {
	if m.v6 {
		return m.typ == uint8(ipv6.ICMPTypeTimeExceeded)
	}
	return m.typ == uint8(ipv4.ICMPTypeTimeExceeded)
}

// describe names the message the way ping does ("host unreachable"), in
// the words of the packet decoder, so that a check and a capture agree.
func (m *icmpMsg) describe() string { return packet.ICMPName(m.v6, m.typ, m.code) }
