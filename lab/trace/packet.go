package trace

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
)

// IP protocol numbers the trace tells apart.
const (
	protoICMP   = 1
	protoTCP    = 6
	protoUDP    = 17
	protoICMPv6 = 58
)

// packet is what the trace reads of a packet's headers: enough to tell
// one packet of the probe's flow from another, and to see a NAT.
type packet struct {
	ok    bool // the headers could be read
	proto uint8
	src   netip.Addr
	dst   netip.Addr
	// sport and dport are tcp's and udp's ports; for an ICMP echo both
	// hold its identifier.
	sport, dport uint16
	// icmpType and icmpCode are set for icmp and icmpv6.
	icmpType, icmpCode uint8
}

// parsePacket reads the network and transport headers of a trace event
// (the kernel dumps the first bytes of each). It never fails: a header it
// cannot read gives a packet with ok false, which matches nothing.
func parsePacket(network, transport []byte) packet {
	var p packet
	if len(network) == 0 {
		return p
	}
	switch network[0] >> 4 {
	case 4:
		if len(network) < 20 {
			return p
		}
		p.proto = network[9]
		p.src = netip.AddrFrom4([4]byte(network[12:16]))
		p.dst = netip.AddrFrom4([4]byte(network[16:20]))
	case 6:
		if len(network) < 40 {
			return p
		}
		p.proto = network[6]
		p.src = netip.AddrFrom16([16]byte(network[8:24]))
		p.dst = netip.AddrFrom16([16]byte(network[24:40]))
	default:
		return p
	}
	switch p.proto {
	case protoTCP, protoUDP:
		if len(transport) < 4 {
			return p
		}
		p.sport = binary.BigEndian.Uint16(transport[0:2])
		p.dport = binary.BigEndian.Uint16(transport[2:4])
	case protoICMP, protoICMPv6:
		if len(transport) < 2 {
			return p
		}
		p.icmpType, p.icmpCode = transport[0], transport[1]
		if p.isEcho() && len(transport) >= 6 {
			id := binary.BigEndian.Uint16(transport[4:6])
			p.sport, p.dport = id, id
		}
	}
	p.ok = true
	return p
}

// ICMP echo types of ICMPv4 and ICMPv6.
const (
	icmpEchoReply     = 0
	icmpEchoRequest   = 8
	icmpv6EchoRequest = 128
	icmpv6EchoReply   = 129
)

func (p packet) isICMP() bool { return p.proto == protoICMP || p.proto == protoICMPv6 }

func (p packet) isEcho() bool {
	switch {
	case p.proto == protoICMP:
		return p.icmpType == icmpEchoRequest || p.icmpType == icmpEchoReply
	case p.proto == protoICMPv6:
		return p.icmpType == icmpv6EchoRequest || p.icmpType == icmpv6EchoReply
	}
	return false
}

// isICMPError reports an ICMP message that is not an echo: an error that
// quotes the packet it is about (unreachable, time exceeded...).
func (p packet) isICMPError() bool { return p.isICMP() && !p.isEcho() }

// reversed is the packet an answer to p would be: addresses and ports
// swapped, an echo request turned into a reply.
func (p packet) reversed() packet {
	r := p
	r.src, r.dst = p.dst, p.src
	r.sport, r.dport = p.dport, p.sport
	switch {
	case p.proto == protoICMP && p.icmpType == icmpEchoRequest:
		r.icmpType = icmpEchoReply
	case p.proto == protoICMP && p.icmpType == icmpEchoReply:
		r.icmpType = icmpEchoRequest
	case p.proto == protoICMPv6 && p.icmpType == icmpv6EchoRequest:
		r.icmpType = icmpv6EchoReply
	case p.proto == protoICMPv6 && p.icmpType == icmpv6EchoReply:
		r.icmpType = icmpv6EchoRequest
	}
	return r
}

// protoName is the protocol as the trace shows it.
func (p packet) protoName() string {
	switch p.proto {
	case protoTCP:
		return "tcp"
	case protoUDP:
		return "udp"
	case protoICMP:
		return "icmp"
	case protoICMPv6:
		return "icmpv6"
	}
	return "proto " + strconv.Itoa(int(p.proto))
}

// endpoint is one end of the packet: the address, with the port for tcp
// and udp ([2001:db8::1]:80 for IPv6).
func (p packet) endpoint(a netip.Addr, port uint16) string {
	if p.proto == protoTCP || p.proto == protoUDP {
		return netip.AddrPortFrom(a, port).String()
	}
	return a.String()
}

func (p packet) addrs() Addrs {
	return Addrs{Src: p.endpoint(p.src, p.sport), Dst: p.endpoint(p.dst, p.dport)}
}

// String is the packet as a way's header shows it:
// "udp 192.168.31.11:40001 -> 198.51.100.183:7",
// "icmp 192.168.31.11 -> 198.51.100.183 echo-request id 40001".
func (p packet) String() string {
	if !p.ok {
		return "(headers not read)"
	}
	s := fmt.Sprintf("%s %s -> %s", p.protoName(), p.endpoint(p.src, p.sport), p.endpoint(p.dst, p.dport))
	if p.isICMP() {
		s += " " + icmpTypeName(p.proto, p.icmpType, p.icmpCode)
		if p.isEcho() {
			s += " id " + strconv.Itoa(int(p.sport))
		}
	}
	return s
}

// icmpTypeName names the ICMP messages a trace meets; others by number.
func icmpTypeName(proto, typ, code uint8) string {
	names := map[uint8]string{0: "echo-reply", 3: "destination-unreachable", 8: "echo-request", 11: "time-exceeded", 12: "parameter-problem"}
	if proto == protoICMPv6 {
		names = map[uint8]string{1: "destination-unreachable", 2: "packet-too-big", 3: "time-exceeded", 4: "parameter-problem", 128: "echo-request", 129: "echo-reply"}
	}
	name, ok := names[typ]
	if !ok {
		name = "type " + strconv.Itoa(int(typ))
	}
	if code != 0 {
		name += " code " + strconv.Itoa(int(code))
	}
	return name
}
