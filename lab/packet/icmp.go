package packet

import (
	"encoding/binary"
	"errors"
	"net/netip"
)

// ICMP types netlab's probes send and read.
const (
	ICMPEchoReply       = 0
	ICMPUnreachable     = 3
	ICMPEchoRequest     = 8
	ICMPTimeExceeded    = 11
	ICMPv6Unreachable   = 1
	ICMPv6TimeExceeded  = 3
	ICMPv6EchoRequest   = 128
	ICMPv6EchoReply     = 129
	icmpEchoHeaderBytes = 8
)

// Checksum is the Internet checksum (RFC 1071) of b.
func Checksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// MarshalEcho builds an ICMP (or, with v6, ICMPv6) echo request. The
// ICMPv6 checksum covers a pseudo-header with the addresses, which the
// kernel fills in on a raw ICMPv6 socket, so it is left zero here.
func MarshalEcho(v6 bool, id, seq uint16, data []byte) []byte {
	b := make([]byte, icmpEchoHeaderBytes+len(data))
	b[0] = ICMPEchoRequest
	if v6 {
		b[0] = ICMPv6EchoRequest
	}
	binary.BigEndian.PutUint16(b[4:], id)
	binary.BigEndian.PutUint16(b[6:], seq)
	copy(b[8:], data)
	if !v6 {
		binary.BigEndian.PutUint16(b[2:], Checksum(b))
	}
	return b
}

// Message is an ICMP message as a raw ICMP socket reads it (without the
// IP header).
type Message struct {
	V6         bool
	Type, Code uint8
	ID, Seq    uint16 // of an echo request or reply
	Data       []byte // the echo payload
	// Original is set for an error (unreachable, time exceeded): the
	// packet that caused it, as far as the error quotes it.
	Original *Original
}

// Original is the start of the packet an ICMP error quotes.
type Original struct {
	Src, Dst netip.Addr
	Proto    uint8
	ID, Seq  uint16 // when Proto is ICMP and the packet an echo request
	SrcPort  uint16 // when Proto is TCP or UDP
	DstPort  uint16
}

// IsEchoReply reports whether m answers an echo request.
func (m *Message) IsEchoReply() bool {
	if m.V6 {
		return m.Type == ICMPv6EchoReply
	}
	return m.Type == ICMPEchoReply
}

// IsEchoRequest reports whether m is an echo request.
func (m *Message) IsEchoRequest() bool {
	if m.V6 {
		return m.Type == ICMPv6EchoRequest
	}
	return m.Type == ICMPEchoRequest
}

// IsUnreachable reports whether m is a destination unreachable error.
func (m *Message) IsUnreachable() bool {
	if m.V6 {
		return m.Type == ICMPv6Unreachable
	}
	return m.Type == ICMPUnreachable
}

// IsTimeExceeded reports whether m is a time exceeded error.
func (m *Message) IsTimeExceeded() bool {
	if m.V6 {
		return m.Type == ICMPv6TimeExceeded
	}
	return m.Type == ICMPTimeExceeded
}

// Describe names an error message the way ping does ("host unreachable").
func (m *Message) Describe() string {
	return (&ICMP{V6: m.V6, Type: m.Type, Code: m.Code}).name()
}

func (m *ICMP) name() string {
	s := m.describe()
	// describe ends with ", length N"; the name alone is what callers want.
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == ',' {
			return s[:i]
		}
	}
	return s
}

var errShortICMP = errors.New("short ICMP message")

// ParseMessage parses an ICMP message without its IP header.
func ParseMessage(v6 bool, b []byte) (*Message, error) {
	if len(b) < 8 {
		return nil, errShortICMP
	}
	m := &Message{V6: v6, Type: b[0], Code: b[1]}
	switch {
	case m.IsEchoReply() || m.IsEchoRequest():
		m.ID = binary.BigEndian.Uint16(b[4:6])
		m.Seq = binary.BigEndian.Uint16(b[6:8])
		m.Data = b[8:]
	case m.IsUnreachable() || m.IsTimeExceeded():
		m.Original = parseOriginal(v6, b[8:])
	}
	return m, nil
}

func parseOriginal(v6 bool, b []byte) *Original {
	var o Original
	var p []byte
	if v6 {
		if len(b) < 40 {
			return nil
		}
		o.Src = netip.AddrFrom16([16]byte(b[8:24]))
		o.Dst = netip.AddrFrom16([16]byte(b[24:40]))
		o.Proto = b[6]
		p = b[40:]
	} else {
		if len(b) < 20 || b[0]>>4 != 4 {
			return nil
		}
		hl := int(b[0]&0x0f) * 4
		if hl < 20 || len(b) < hl {
			return nil
		}
		o.Src = netip.AddrFrom4([4]byte(b[12:16]))
		o.Dst = netip.AddrFrom4([4]byte(b[16:20]))
		o.Proto = b[9]
		p = b[hl:]
	}
	if len(p) >= 8 {
		switch o.Proto {
		case ProtoICMP, ProtoICMPv6:
			o.ID = binary.BigEndian.Uint16(p[4:6])
			o.Seq = binary.BigEndian.Uint16(p[6:8])
		case ProtoTCP, ProtoUDP:
			o.SrcPort = binary.BigEndian.Uint16(p[0:2])
			o.DstPort = binary.BigEndian.Uint16(p[2:4])
		}
	}
	return &o
}
