// Package packet decodes Ethernet frames into one-line summaries, as a
// student reads them in tcpdump (Ethernet, ARP, IPv4, IPv6, ICMP, ICMPv6,
// TCP, UDP, and VXLAN with its inner frame), and writes and reads pcap
// files that Wireshark opens. It is pure: the socket that captures frames
// lives in lab/kernel.
//
// The decoder and the pcap writer and reader are written here rather than
// taken from a library: each is small, the decoder is fuzzed (FuzzDecode),
// and it must describe whatever bytes a wire carries, truncated or
// malformed, keeping the layers it could read, where a packet library
// rejects the frame or builds a tree of layers netlab does not need. The
// ICMP messages a check sends and reads are no frames: lab/check builds
// and parses them with golang.org/x/net/icmp.
package packet

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// EtherTypes netlab decodes.
const (
	EtherTypeIPv4 = 0x0800
	EtherTypeARP  = 0x0806
	EtherTypeVLAN = 0x8100
	EtherTypeIPv6 = 0x86dd
)

// IP protocol numbers netlab decodes.
const (
	ProtoICMP   = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoICMPv6 = 58
)

// VXLANPorts are the UDP ports whose datagrams are decoded as VXLAN: the
// IANA port and the kernel's historical default.
var VXLANPorts = []uint16{4789, 8472}

// Frame is a decoded Ethernet frame. Exactly one of ARP and IP is set for
// the protocols netlab knows; for others both are nil and EtherType says
// what the frame carries. Err is set when the frame ended early or held
// something malformed; the layers decoded before that point are kept.
type Frame struct {
	Len       int // bytes of the frame
	Src, Dst  net.HardwareAddr
	EtherType uint16
	VLAN      int // the 802.1Q VLAN ID, or -1
	ARP       *ARP
	IP        *IP
	Err       string
}

// ARP is an ARP request or reply for IPv4 over Ethernet.
type ARP struct {
	Op                 uint16 // 1 request, 2 reply
	SenderMAC          net.HardwareAddr
	SenderIP, TargetIP netip.Addr
}

// IP is an IPv4 or IPv6 packet and what it carries.
type IP struct {
	Version  int
	Src, Dst netip.Addr
	Proto    uint8 // the protocol of the payload, after IPv6 extension headers
	TTL      uint8 // TTL or hop limit
	Len      int   // the packet's length as its header states it
	Fragment bool  // a fragment other than the first: no transport header
	ICMP     *ICMP
	TCP      *TCP
	UDP      *UDP
}

// ICMP is an ICMP or ICMPv6 message.
type ICMP struct {
	V6         bool
	Type, Code uint8
	ID, Seq    uint16     // for echo request and reply
	Target     netip.Addr // for neighbour solicitation and advertisement
	Len        int        // of the ICMP message
}

// TCP is a TCP segment header.
type TCP struct {
	SrcPort, DstPort uint16
	Seq, Ack         uint32
	Flags            uint8
	Window           uint16
	PayloadLen       int
}

// TCP flags.
const (
	TCPFin = 1 << iota
	TCPSyn
	TCPRst
	TCPPsh
	TCPAck
	TCPUrg
)

// UDP is a UDP datagram header; VXLAN is set when it carries VXLAN.
type UDP struct {
	SrcPort, DstPort uint16
	PayloadLen       int
	VXLAN            *VXLAN
}

// VXLAN is a VXLAN header and the frame it carries. Overhead is the bytes
// of encapsulation around the inner frame: outer Ethernet, IP, UDP and
// VXLAN headers (50 over IPv4, 70 over IPv6).
type VXLAN struct {
	VNI      uint32
	Inner    *Frame
	Overhead int
}

// Decode decodes an Ethernet frame. It never fails: a short or malformed
// frame gives the layers read so far and Err.
func Decode(b []byte) *Frame {
	f := &Frame{Len: len(b), VLAN: -1}
	if len(b) < 14 {
		f.Err = fmt.Sprintf("truncated Ethernet header (%d bytes)", len(b))
		return f
	}
	f.Dst = net.HardwareAddr(clone(b[0:6]))
	f.Src = net.HardwareAddr(clone(b[6:12]))
	f.EtherType = binary.BigEndian.Uint16(b[12:14])
	p := b[14:]
	if f.EtherType == EtherTypeVLAN {
		if len(p) < 4 {
			f.Err = "truncated 802.1Q tag"
			return f
		}
		f.VLAN = int(binary.BigEndian.Uint16(p[0:2]) & 0x0fff)
		f.EtherType = binary.BigEndian.Uint16(p[2:4])
		p = p[4:]
	}
	switch f.EtherType {
	case EtherTypeARP:
		f.ARP, f.Err = decodeARP(p)
	case EtherTypeIPv4:
		f.IP, f.Err = decodeIPv4(p)
	case EtherTypeIPv6:
		f.IP, f.Err = decodeIPv6(p)
	}
	if f.IP != nil && f.IP.UDP != nil && f.IP.UDP.VXLAN != nil {
		f.IP.UDP.VXLAN.Overhead = f.Len - f.IP.UDP.VXLAN.Inner.Len
	}
	return f
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

func decodeARP(b []byte) (*ARP, string) {
	if len(b) < 28 {
		return nil, fmt.Sprintf("truncated ARP (%d bytes)", len(b))
	}
	if binary.BigEndian.Uint16(b[0:2]) != 1 || binary.BigEndian.Uint16(b[2:4]) != EtherTypeIPv4 || b[4] != 6 || b[5] != 4 {
		return nil, "ARP for something other than IPv4 over Ethernet"
	}
	a := &ARP{Op: binary.BigEndian.Uint16(b[6:8]), SenderMAC: net.HardwareAddr(clone(b[8:14]))}
	a.SenderIP = netip.AddrFrom4([4]byte(b[14:18]))
	a.TargetIP = netip.AddrFrom4([4]byte(b[24:28]))
	return a, ""
}

func decodeIPv4(b []byte) (*IP, string) {
	if len(b) < 20 {
		return nil, fmt.Sprintf("truncated IPv4 header (%d bytes)", len(b))
	}
	if b[0]>>4 != 4 {
		return nil, fmt.Sprintf("IPv4 ethertype with IP version %d", b[0]>>4)
	}
	hl := int(b[0]&0x0f) * 4
	if hl < 20 || len(b) < hl {
		return nil, fmt.Sprintf("bad IPv4 header length %d", hl)
	}
	ip := &IP{Version: 4, TTL: b[8], Proto: b[9], Len: int(binary.BigEndian.Uint16(b[2:4]))}
	ip.Src = netip.AddrFrom4([4]byte(b[12:16]))
	ip.Dst = netip.AddrFrom4([4]byte(b[16:20]))
	ip.Fragment = binary.BigEndian.Uint16(b[6:8])&0x1fff != 0
	end := len(b)
	if ip.Len >= hl && ip.Len < end {
		end = ip.Len // Ethernet padding follows
	}
	if ip.Fragment {
		return ip, ""
	}
	return ip, decodeTransport(ip, b[hl:end])
}

func decodeIPv6(b []byte) (*IP, string) {
	if len(b) < 40 {
		return nil, fmt.Sprintf("truncated IPv6 header (%d bytes)", len(b))
	}
	if b[0]>>4 != 6 {
		return nil, fmt.Sprintf("IPv6 ethertype with IP version %d", b[0]>>4)
	}
	ip := &IP{Version: 6, TTL: b[7], Len: 40 + int(binary.BigEndian.Uint16(b[4:6]))}
	ip.Src = netip.AddrFrom16([16]byte(b[8:24]))
	ip.Dst = netip.AddrFrom16([16]byte(b[24:40]))
	next := b[6]
	p := b[40:]
	if ip.Len < len(b) {
		p = b[40:ip.Len]
	}
	// Skip the extension headers a lab meets: hop-by-hop (MLD), routing,
	// destination options, and fragment.
	for i := 0; i < 8; i++ {
		switch next {
		case 0, 43, 60:
			if len(p) < 8 {
				return ip, "truncated IPv6 extension header"
			}
			n := 8 + int(p[1])*8
			if len(p) < n {
				return ip, "truncated IPv6 extension header"
			}
			next, p = p[0], p[n:]
			continue
		case 44:
			if len(p) < 8 {
				return ip, "truncated IPv6 fragment header"
			}
			if binary.BigEndian.Uint16(p[2:4])&0xfff8 != 0 {
				ip.Proto, ip.Fragment = p[0], true
				return ip, ""
			}
			next, p = p[0], p[8:]
			continue
		}
		break
	}
	ip.Proto = next
	return ip, decodeTransport(ip, p)
}

func decodeTransport(ip *IP, b []byte) string {
	switch ip.Proto {
	case ProtoICMP, ProtoICMPv6:
		if len(b) < 4 {
			return "truncated ICMP header"
		}
		m := &ICMP{V6: ip.Proto == ProtoICMPv6, Type: b[0], Code: b[1], Len: len(b)}
		ip.ICMP = m
		if m.isEcho() {
			if len(b) < 8 {
				return "truncated ICMP echo"
			}
			m.ID = binary.BigEndian.Uint16(b[4:6])
			m.Seq = binary.BigEndian.Uint16(b[6:8])
		}
		if m.V6 && (m.Type == 135 || m.Type == 136) {
			if len(b) < 24 {
				return "truncated neighbour discovery message"
			}
			m.Target = netip.AddrFrom16([16]byte(b[8:24]))
		}
	case ProtoTCP:
		if len(b) < 20 {
			return fmt.Sprintf("truncated TCP header (%d bytes)", len(b))
		}
		t := &TCP{
			SrcPort: binary.BigEndian.Uint16(b[0:2]),
			DstPort: binary.BigEndian.Uint16(b[2:4]),
			Seq:     binary.BigEndian.Uint32(b[4:8]),
			Ack:     binary.BigEndian.Uint32(b[8:12]),
			Flags:   b[13],
			Window:  binary.BigEndian.Uint16(b[14:16]),
		}
		ip.TCP = t
		off := int(b[12]>>4) * 4
		if off < 20 || off > len(b) {
			return fmt.Sprintf("bad TCP data offset %d", off)
		}
		t.PayloadLen = len(b) - off
	case ProtoUDP:
		if len(b) < 8 {
			return fmt.Sprintf("truncated UDP header (%d bytes)", len(b))
		}
		u := &UDP{SrcPort: binary.BigEndian.Uint16(b[0:2]), DstPort: binary.BigEndian.Uint16(b[2:4]), PayloadLen: len(b) - 8}
		ip.UDP = u
		p := b[8:]
		if isVXLANPort(u.DstPort) && len(p) >= 8 && p[0]&0x08 != 0 {
			v := &VXLAN{VNI: uint32(p[4])<<16 | uint32(p[5])<<8 | uint32(p[6])}
			v.Inner = Decode(p[8:])
			u.VXLAN = v
		}
	}
	return ""
}

func isVXLANPort(p uint16) bool {
	for _, v := range VXLANPorts {
		if p == v {
			return true
		}
	}
	return false
}

func (m *ICMP) isEcho() bool {
	if m.V6 {
		return m.Type == 128 || m.Type == 129
	}
	return m.Type == 8 || m.Type == 0
}

// String is the frame in one line, tcpdump style, without the Ethernet
// addresses (see WithEthernet).
func (f *Frame) String() string {
	var b strings.Builder
	f.write(&b, false)
	return b.String()
}

// WithEthernet is the frame in one line with its Ethernet addresses
// first, as tcpdump -e shows it.
func (f *Frame) WithEthernet() string {
	var b strings.Builder
	f.write(&b, true)
	return b.String()
}

func (f *Frame) write(b *strings.Builder, ether bool) {
	if ether && f.Src != nil {
		fmt.Fprintf(b, "%s > %s", f.Src, f.Dst)
		if f.VLAN >= 0 {
			fmt.Fprintf(b, " vlan %d", f.VLAN)
		}
		b.WriteString(", ")
	}
	switch {
	case f.ARP != nil:
		a := f.ARP
		switch a.Op {
		case 1:
			fmt.Fprintf(b, "ARP, Request who-has %s tell %s", a.TargetIP, a.SenderIP)
		case 2:
			fmt.Fprintf(b, "ARP, Reply %s is-at %s", a.SenderIP, a.SenderMAC)
		default:
			fmt.Fprintf(b, "ARP, op %d %s > %s", a.Op, a.SenderIP, a.TargetIP)
		}
		fmt.Fprintf(b, ", length %d", f.Len-14)
	case f.IP != nil:
		f.IP.write(b, ether)
	case f.Src == nil:
	case f.EtherType == EtherTypeIPv4:
		b.WriteString("IP")
	case f.EtherType == EtherTypeIPv6:
		b.WriteString("IP6")
	case f.EtherType == EtherTypeARP:
		b.WriteString("ARP")
	default:
		fmt.Fprintf(b, "ethertype 0x%04x, length %d", f.EtherType, f.Len)
	}
	if f.Err != "" {
		if b.Len() > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(b, "[%s]", f.Err)
	}
}

func (ip *IP) write(b *strings.Builder, ether bool) {
	name := "IP"
	if ip.Version == 6 {
		name = "IP6"
	}
	hostPort := func(a netip.Addr, port uint16) string { return fmt.Sprintf("%s.%d", a, port) }
	switch {
	case ip.TCP != nil:
		t := ip.TCP
		fmt.Fprintf(b, "%s %s > %s: TCP Flags [%s], seq %d", name, hostPort(ip.Src, t.SrcPort), hostPort(ip.Dst, t.DstPort), tcpFlags(t.Flags), t.Seq)
		if t.Flags&TCPAck != 0 {
			fmt.Fprintf(b, ", ack %d", t.Ack)
		}
		fmt.Fprintf(b, ", win %d, length %d", t.Window, t.PayloadLen)
	case ip.UDP != nil:
		u := ip.UDP
		fmt.Fprintf(b, "%s %s > %s: ", name, hostPort(ip.Src, u.SrcPort), hostPort(ip.Dst, u.DstPort))
		if v := u.VXLAN; v != nil {
			fmt.Fprintf(b, "VXLAN, vni %d, %d bytes of encapsulation: ", v.VNI, v.Overhead)
			v.Inner.write(b, ether)
			return
		}
		fmt.Fprintf(b, "UDP, length %d", u.PayloadLen)
	case ip.ICMP != nil:
		fmt.Fprintf(b, "%s %s > %s: %s", name, ip.Src, ip.Dst, ip.ICMP.describe())
	case ip.Fragment:
		fmt.Fprintf(b, "%s %s > %s: fragment, proto %d, length %d", name, ip.Src, ip.Dst, ip.Proto, ip.Len)
	default:
		fmt.Fprintf(b, "%s %s > %s: proto %d, length %d", name, ip.Src, ip.Dst, ip.Proto, ip.Len)
	}
}

func tcpFlags(f uint8) string {
	var s string
	for _, fl := range []struct {
		bit  uint8
		name string
	}{{TCPSyn, "S"}, {TCPFin, "F"}, {TCPRst, "R"}, {TCPPsh, "P"}, {TCPUrg, "U"}} {
		if f&fl.bit != 0 {
			s += fl.name
		}
	}
	if f&TCPAck != 0 {
		s += "."
	}
	if s == "" {
		s = "none"
	}
	return s
}

var icmp4Unreach = map[uint8]string{
	0: "net unreachable", 1: "host unreachable", 2: "protocol unreachable", 3: "port unreachable",
	4: "fragmentation needed", 9: "net administratively prohibited", 10: "host administratively prohibited",
	13: "communication administratively prohibited",
}

var icmp6Unreach = map[uint8]string{
	0: "no route", 1: "administratively prohibited", 3: "address unreachable", 4: "port unreachable",
	5: "source address failed policy", 6: "reject route",
}

func (m *ICMP) describe() string {
	var s string
	if m.V6 {
		switch m.Type {
		case 128:
			s = fmt.Sprintf("ICMP6 echo request, id %d, seq %d", m.ID, m.Seq)
		case 129:
			s = fmt.Sprintf("ICMP6 echo reply, id %d, seq %d", m.ID, m.Seq)
		case 1:
			s = "ICMP6 destination unreachable, " + nameOr(icmp6Unreach, m.Code)
		case 2:
			s = "ICMP6 packet too big"
		case 3:
			s = "ICMP6 time exceeded"
		case 133:
			s = "ICMP6 router solicitation"
		case 134:
			s = "ICMP6 router advertisement"
		case 135:
			s = fmt.Sprintf("ICMP6 neighbor solicitation, who has %s", m.Target)
		case 136:
			s = fmt.Sprintf("ICMP6 neighbor advertisement, tgt is %s", m.Target)
		case 143:
			s = "ICMP6 multicast listener report v2"
		default:
			s = fmt.Sprintf("ICMP6 type %d, code %d", m.Type, m.Code)
		}
	} else {
		switch m.Type {
		case 8:
			s = fmt.Sprintf("ICMP echo request, id %d, seq %d", m.ID, m.Seq)
		case 0:
			s = fmt.Sprintf("ICMP echo reply, id %d, seq %d", m.ID, m.Seq)
		case 3:
			s = "ICMP destination unreachable, " + nameOr(icmp4Unreach, m.Code)
		case 11:
			s = "ICMP time exceeded in-transit"
		case 5:
			s = "ICMP redirect"
		default:
			s = fmt.Sprintf("ICMP type %d, code %d", m.Type, m.Code)
		}
	}
	return fmt.Sprintf("%s, length %d", s, m.Len)
}

func nameOr(m map[uint8]string, code uint8) string {
	if s, ok := m[code]; ok {
		return s
	}
	return fmt.Sprintf("code %d", code)
}
