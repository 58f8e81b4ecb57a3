package check

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"
)

// ipv4Header is a 20-byte IPv4 header around payload, as an ICMP error
// quotes the packet it is about.
func ipv4Header(src, dst string, proto uint8, payload []byte) []byte {
	h := make([]byte, 20, 20+len(payload))
	h[0] = 0x45
	binary.BigEndian.PutUint16(h[2:], uint16(20+len(payload)))
	h[8] = 64
	h[9] = proto
	s, d := netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4()
	copy(h[12:], s[:])
	copy(h[16:], d[:])
	return append(h, payload...)
}

// TestEchoCarriesToken builds a check's echo request, with its token in
// the payload, and reads it back as the responder's watcher does: the
// token survives, for ICMP and ICMPv6.
func TestEchoCarriesToken(t *testing.T) {
	tok := newToken()
	for _, v6 := range []bool{false, true} {
		b, err := marshalEcho(v6, 0x1234, 7, echoPayload(tok))
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != 8+EchoPayloadBytes {
			t.Errorf("v6=%v: echo request of %d bytes, want %d as ping's", v6, len(b), 8+EchoPayloadBytes)
		}
		if !v6 && checksum(b) != 0 {
			t.Error("the ICMP echo request's checksum does not verify")
		}
		m, err := parseICMP(v6, b)
		if err != nil {
			t.Fatalf("v6=%v: parse: %v", v6, err)
		}
		if !m.isEchoRequest() || m.isEchoReply() || m.echo.ID != 0x1234 || m.echo.Seq != 7 {
			t.Errorf("v6=%v: parsed %+v, echo %+v", v6, m, m.echo)
		}
		if got, ok := tokenOf(m.echo.Data); !ok || got != tok {
			t.Errorf("v6=%v: token %x, %v; want %x", v6, got, ok, tok)
		}
	}
}

// TestParseICMPError reads the packet an ICMP error quotes: an echo
// request's identifier and sequence, a UDP datagram's ports.
func TestParseICMPError(t *testing.T) {
	echo, err := marshalEcho(false, 77, 3, make([]byte, 8))
	if err != nil {
		t.Fatal(err)
	}
	b := append([]byte{3, 1, 0, 0, 0, 0, 0, 0}, ipv4Header("192.168.31.10", "192.168.31.99", 1, echo)...)
	m, err := parseICMP(false, b)
	if err != nil {
		t.Fatal(err)
	}
	want := quoted{src: netip.MustParseAddr("192.168.31.10"), dst: netip.MustParseAddr("192.168.31.99"), proto: 1, id: 77, seq: 3}
	if !m.isUnreachable() || m.code != 1 || m.original == nil || *m.original != want {
		t.Fatalf("parsed %+v, quoted %+v; want unreachable code 1 quoting %+v", m, m.original, want)
	}
	if got := m.describe(); got != "ICMP destination unreachable, host unreachable" {
		t.Errorf("describe = %q", got)
	}
	if got := icmpReason(netip.MustParseAddr("192.168.31.1"), m); got != ReasonNoARP+": 192.168.31.1 reports ICMP destination unreachable, host unreachable" {
		t.Errorf("icmpReason = %q", got)
	}
	udp := []byte{0xc3, 0x50, 0, 7, 0, 8, 0, 0}
	b = append([]byte{11, 0, 0, 0, 0, 0, 0, 0}, ipv4Header("10.0.0.1", "10.0.0.2", 17, udp)...)
	if m, err = parseICMP(false, b); err != nil {
		t.Fatal(err)
	}
	if !m.isTimeExceeded() || m.original == nil || m.original.srcPort != 50000 || m.original.dstPort != 7 {
		t.Errorf("time exceeded parsed %+v, quoted %+v", m, m.original)
	}
	if m, err := parseICMP(false, []byte{3, 1, 0, 0, 0, 0, 0, 0, 0x45}); err != nil || m.original != nil {
		t.Errorf("an error quoting too little = %+v, %v; want no quoted packet", m, err)
	}
}

// FuzzParseICMP feeds arbitrary bytes to the parser of what a probe's
// socket reads: it must never panic.
func FuzzParseICMP(f *testing.F) {
	echo, _ := marshalEcho(false, 1, 2, []byte("data"))
	f.Add(echo)
	f.Add(append([]byte{3, 1, 0, 0, 0, 0, 0, 0}, ipv4Header("10.0.0.1", "10.0.0.2", 1, echo)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, v6 := range []bool{false, true} {
			if m, err := parseICMP(v6, b); err == nil {
				_ = m.describe()
				if (m.isEchoRequest() || m.isEchoReply()) && m.echo == nil {
					t.Fatalf("echo without a body: %+v", m)
				}
			}
		}
	})
}

// checksum is the Internet checksum (RFC 1071) of b.
func checksum(b []byte) uint16 {
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

// TestParseFragmentationNeeded reads the next hop's MTU out of an IPv4
// "fragmentation needed" (RFC 1191: the header's last 16 bits) and an
// ICMPv6 "packet too big", and the reason names it.
func TestParseFragmentationNeeded(t *testing.T) {
	echo, err := marshalEcho(false, 77, 3, make([]byte, 8))
	if err != nil {
		t.Fatal(err)
	}
	b := append([]byte{3, 4, 0, 0, 0, 0, 0x05, 0x78}, ipv4Header("10.0.1.2", "10.0.2.2", 1, echo)...)
	m, err := parseICMP(false, b)
	if err != nil {
		t.Fatal(err)
	}
	if !m.isUnreachable() || m.mtu != 1400 || m.original == nil || m.original.id != 77 || m.original.seq != 3 {
		t.Fatalf("parsed %+v, quoted %+v; want code 4, mtu 1400, quoting echo 77/3", m, m.original)
	}
	want := ReasonTooBig + ": 10.0.1.1 reports ICMP destination unreachable, fragmentation needed, mtu=1400 (a link after it has a smaller MTU than the packet, which may not be fragmented)"
	if got := icmpReason(netip.MustParseAddr("10.0.1.1"), m); got != want {
		t.Errorf("icmpReason = %q, want %q", got, want)
	}

	echo6, err := marshalEcho(true, 77, 3, make([]byte, 8))
	if err != nil {
		t.Fatal(err)
	}
	h6 := make([]byte, 40)
	h6[0] = 0x60
	binary.BigEndian.PutUint16(h6[4:], uint16(len(echo6)))
	h6[6], h6[7] = 58, 64
	s, d := netip.MustParseAddr("fd00:1::2").As16(), netip.MustParseAddr("fd00:2::2").As16()
	copy(h6[8:], s[:])
	copy(h6[24:], d[:])
	b = append(append([]byte{2, 0, 0, 0, 0, 0, 0x05, 0x78}, h6...), echo6...)
	if m, err = parseICMP(true, b); err != nil {
		t.Fatal(err)
	}
	if !m.isPacketTooBig() || m.mtu != 1400 || m.original == nil || m.original.id != 77 || m.original.seq != 3 {
		t.Fatalf("parsed %+v, quoted %+v; want packet too big, mtu 1400, quoting echo 77/3", m, m.original)
	}
	if got := icmpReason(netip.MustParseAddr("fd00:1::1"), m); !strings.HasPrefix(got, ReasonTooBig+": fd00:1::1 reports ICMP6 packet too big, mtu=1400") {
		t.Errorf("icmpReason = %q", got)
	}
}
