package kernel

import (
	"encoding/binary"
	"fmt"

	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// The rules of a trace table's first chains, which set nftrace on the
// packets a TraceMatch names. Pure: the kernel is only asked to take them
// (trace_linux.go).

// traceMarkTag is the comment of the rules that set nftrace: an event of
// one of them is how a listener knows a packet is its trace's own.
const traceMarkTag = "netlab trace: mark"

// thMatch is one comparison with the transport header: the len bytes at
// off equal val.
type thMatch struct {
	off uint32
	val []byte
}

// markRule is one rule of a first chain: the packet's layer 4 protocol,
// then comparisons with its transport header.
type markRule struct {
	proto byte
	th    []thMatch
}

// ICMP types (RFC 792, RFC 4443) whose body quotes the packet that caused
// them, and the echo types.
var (
	icmp4Errors = []byte{3, 11, 12}  // destination unreachable, time exceeded, parameter problem
	icmp6Errors = []byte{1, 2, 3, 4} // destination unreachable, packet too big, time exceeded, parameter problem
	icmp4Echo   = []byte{8, 0}       // request, reply
	icmp6Echo   = []byte{128, 129}   // request, reply
	l4Numbers   = map[string]byte{"tcp": unix.IPPROTO_TCP, "udp": unix.IPPROTO_UDP}
)

// Where an ICMP error's quoted packet is, in its transport header: after
// the 8 bytes of the ICMP header, an IPv4 header of 20 bytes (IHL 5: a
// header with options is not matched) or an IPv6 header of 40, whose
// protocol byte is at offset 9 (IPv4) or 6 (IPv6, next header: extension
// headers are not followed).
const (
	icmpHeader    = 8
	quoted4Proto  = icmpHeader + 9
	quoted4Upper  = icmpHeader + 20
	quoted6Proto  = icmpHeader + 6
	quoted6Upper  = icmpHeader + 40
	echoIDOffset  = 4 // the identifier of an echo, in its ICMP header
	portSrcOffset = 0
	portDstOffset = 2
)

// traceMarkRules are the rules that select the packets of m: for tcp and
// udp, those with port m.Port as source or destination; for icmp, the
// echo requests and replies with identifier m.Port, of ICMP and ICMPv6;
// and for each, the ICMP errors quoting such a packet. With Port 0 (only
// with an address, which addrFilter matches) any port or identifier.
func traceMarkRules(m TraceMatch) ([]markRule, error) {
	if m.Port == 0 && !m.Addr.IsValid() {
		return nil, fmt.Errorf("trace: port (or echo identifier) 0 and no address: that would trace every packet of the protocol")
	}
	port := binary.BigEndian.AppendUint16(nil, m.Port)
	// byPort is the comparison with the port at off, none with Port 0
	// (an address-only match: addrFilter, in front, does the choosing).
	byPort := func(off uint32) []thMatch {
		if m.Port == 0 {
			return nil
		}
		return []thMatch{{off, port}}
	}
	var out []markRule
	// quoting adds the ICMP errors that quote a packet of protocol p whose
	// transport header matches th (offsets within the quoted header).
	quoting := func(p byte, th []thMatch) {
		for _, fam := range []struct {
			proto        byte
			types        []byte
			pOff, upperO uint32
		}{
			{unix.IPPROTO_ICMP, icmp4Errors, quoted4Proto, quoted4Upper},
			{unix.IPPROTO_ICMPV6, icmp6Errors, quoted6Proto, quoted6Upper},
		} {
			inner := p
			if p == unix.IPPROTO_ICMP && fam.proto == unix.IPPROTO_ICMPV6 {
				inner = unix.IPPROTO_ICMPV6 // an ICMPv6 error quotes an ICMPv6 echo
			}
			for _, typ := range fam.types {
				r := markRule{proto: fam.proto, th: []thMatch{{0, []byte{typ}}, {fam.pOff, []byte{inner}}}}
				for _, t := range th {
					r.th = append(r.th, thMatch{fam.upperO + t.off, t.val})
				}
				out = append(out, r)
			}
		}
	}
	switch m.Proto {
	case "tcp", "udp":
		p := l4Numbers[m.Proto]
		offsets := []uint32{portSrcOffset, portDstOffset}
		if m.Port == 0 {
			offsets = offsets[:1] // one rule: without a port, source and destination are the same match
		}
		for _, off := range offsets {
			th := byPort(off)
			out = append(out, markRule{proto: p, th: th})
			quoting(p, th)
		}
	case "icmp":
		for _, fam := range []struct {
			proto byte
			echo  []byte
		}{{unix.IPPROTO_ICMP, icmp4Echo}, {unix.IPPROTO_ICMPV6, icmp6Echo}} {
			for _, typ := range fam.echo {
				out = append(out, markRule{proto: fam.proto, th: append([]thMatch{{0, []byte{typ}}}, byPort(echoIDOffset)...)})
			}
		}
		quoting(unix.IPPROTO_ICMP, byPort(echoIDOffset))
	default:
		return nil, fmt.Errorf("trace: protocol %q: want icmp, tcp or udp", m.Proto)
	}
	return out, nil
}

// exprs compiles a mark rule: match, then set nftrace and accept (the
// first chain has nothing else to do with the packet; accept ends only
// this chain, every other chain of the hook still sees it).
func (r markRule) exprs() []expr.Any {
	cmpEq := func(data []byte) expr.Any { return &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: data} }
	out := []expr.Any{&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1}, cmpEq([]byte{r.proto})}
	for _, t := range r.th {
		out = append(out, &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: t.off, Len: uint32(len(t.val))},
			cmpEq(t.val))
	}
	return append(out,
		&expr.Immediate{Register: 1, Data: []byte{1}},
		&expr.Meta{Key: expr.MetaKeyNFTRACE, SourceRegister: true, Register: 1},
		&expr.Verdict{Kind: expr.VerdictAccept})
}

// addrFilter compiles the rules in front of the mark rules when a trace
// follows one address only: a packet of the other family, or with the
// address as neither its source nor its destination, returns from the
// chain unmarked. meta protocol (the ethertype), not nfproto, so that the
// rules mean the same in a bridge table.
func addrFilter(m TraceMatch) [][]expr.Any {
	if !m.Addr.IsValid() {
		return nil
	}
	ethertype, src, dst := uint16(unix.ETH_P_IP), uint32(12), uint32(16)
	if m.Addr.Is6() && !m.Addr.Is4In6() {
		ethertype, src, dst = unix.ETH_P_IPV6, 8, 24
	}
	a := m.Addr.Unmap().AsSlice()
	proto := binary.BigEndian.AppendUint16(nil, ethertype)
	ret := &expr.Verdict{Kind: expr.VerdictReturn}
	return [][]expr.Any{
		{&expr.Meta{Key: expr.MetaKeyPROTOCOL, Register: 1}, &expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: proto}, ret},
		{
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: src, Len: uint32(len(a))},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: a},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: dst, Len: uint32(len(a))},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: a},
			ret,
		},
	}
}
