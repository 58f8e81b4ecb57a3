package packet

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/net/icmp"
	xipv4 "golang.org/x/net/ipv4"
	xipv6 "golang.org/x/net/ipv6"
)

// Hand-built frames, as the kernel would put them on a wire.

var (
	macA = []byte{0x02, 0, 0, 0, 0, 0x0a}
	macB = []byte{0x02, 0, 0, 0, 0, 0x0b}
)

func eth(src, dst []byte, etherType uint16, payload []byte) []byte {
	b := append(append(append([]byte{}, dst...), src...), byte(etherType>>8), byte(etherType))
	return append(b, payload...)
}

func ipv4(src, dst string, proto uint8, payload []byte) []byte {
	h := make([]byte, 20)
	h[0] = 0x45
	binary.BigEndian.PutUint16(h[2:], uint16(20+len(payload)))
	h[8], h[9] = 64, proto
	s, d := netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4()
	copy(h[12:], s[:])
	copy(h[16:], d[:])
	binary.BigEndian.PutUint16(h[10:], checksum(h))
	return append(h, payload...)
}

func ipv6(src, dst string, next uint8, payload []byte) []byte {
	h := make([]byte, 40)
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:], uint16(len(payload)))
	h[6], h[7] = next, 64
	s, d := netip.MustParseAddr(src).As16(), netip.MustParseAddr(dst).As16()
	copy(h[8:], s[:])
	copy(h[24:], d[:])
	return append(h, payload...)
}

func udp(sport, dport uint16, payload []byte) []byte {
	h := make([]byte, 8)
	binary.BigEndian.PutUint16(h[0:], sport)
	binary.BigEndian.PutUint16(h[2:], dport)
	binary.BigEndian.PutUint16(h[4:], uint16(8+len(payload)))
	return append(h, payload...)
}

func tcp(sport, dport uint16, seq, ack uint32, flags uint8, payload []byte) []byte {
	h := make([]byte, 20)
	binary.BigEndian.PutUint16(h[0:], sport)
	binary.BigEndian.PutUint16(h[2:], dport)
	binary.BigEndian.PutUint32(h[4:], seq)
	binary.BigEndian.PutUint32(h[8:], ack)
	h[12], h[13] = 5<<4, flags
	binary.BigEndian.PutUint16(h[14:], 64240)
	return append(h, payload...)
}

func arp(op uint16, senderMAC []byte, sender, target string) []byte {
	b := []byte{0, 1, 8, 0, 6, 4, byte(op >> 8), byte(op)}
	s, t := netip.MustParseAddr(sender).As4(), netip.MustParseAddr(target).As4()
	b = append(b, senderMAC...)
	b = append(b, s[:]...)
	b = append(b, make([]byte, 6)...)
	return append(b, t[:]...)
}

func vxlan(vni uint32, inner []byte) []byte {
	h := []byte{0x08, 0, 0, 0, byte(vni >> 16), byte(vni >> 8), byte(vni), 0}
	return append(h, inner...)
}

// echoRequest is an ICMP (or ICMPv6) echo request as x/net/icmp, an
// encoder independent of the decoder, builds it.
func echoRequest(t *testing.T, v6 bool, id, seq int, data []byte) []byte {
	t.Helper()
	m := icmp.Message{Type: xipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: id, Seq: seq, Data: data}}
	if v6 {
		m.Type = xipv6.ICMPTypeEchoRequest
	}
	b, err := m.Marshal(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecode(t *testing.T) {
	ping := eth(macA, macB, EtherTypeIPv4, ipv4("192.168.31.10", "192.168.31.1", ProtoICMP, echoRequest(t, false, 7, 1, make([]byte, 56))))
	inner := eth(macA, macB, EtherTypeIPv4, ipv4("10.0.0.1", "10.0.0.2", ProtoICMP, echoRequest(t, false, 9, 3, make([]byte, 56))))
	tests := []struct {
		name  string
		frame []byte
		want  string
	}{
		// ARP
		{"arp request", eth(macA, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, EtherTypeARP, arp(1, macA, "192.168.31.10", "192.168.31.1")),
			"ARP, Request who-has 192.168.31.1 tell 192.168.31.10, length 28"},
		{"arp reply", eth(macB, macA, EtherTypeARP, arp(2, macB, "192.168.31.1", "192.168.31.10")),
			"ARP, Reply 192.168.31.1 is-at 02:00:00:00:00:0b, length 28"},
		// IPv4
		{"icmp echo request", ping, "IP 192.168.31.10 > 192.168.31.1: ICMP echo request, id 7, seq 1, length 64"},
		{"icmp unreachable", eth(macA, macB, EtherTypeIPv4, ipv4("192.168.31.1", "192.168.31.10", ProtoICMP, []byte{3, 1, 0, 0, 0, 0, 0, 0})),
			"IP 192.168.31.1 > 192.168.31.10: ICMP destination unreachable, host unreachable, length 8"},
		{"tcp syn", eth(macA, macB, EtherTypeIPv4, ipv4("10.0.0.1", "10.0.0.2", ProtoTCP, tcp(40000, 80, 1000, 0, TCPSyn, nil))),
			"IP 10.0.0.1.40000 > 10.0.0.2.80: TCP Flags [S], seq 1000, win 64240, length 0"},
		{"tcp psh ack", eth(macA, macB, EtherTypeIPv4, ipv4("10.0.0.2", "10.0.0.1", ProtoTCP, tcp(80, 40000, 5, 1001, TCPPsh|TCPAck, []byte("hello")))),
			"IP 10.0.0.2.80 > 10.0.0.1.40000: TCP Flags [P.], seq 5, ack 1001, win 64240, length 5"},
		{"udp", eth(macA, macB, EtherTypeIPv4, ipv4("10.0.0.1", "10.0.0.2", ProtoUDP, udp(5353, 7, []byte("netlab x")))),
			"IP 10.0.0.1.5353 > 10.0.0.2.7: UDP, length 8"},
		{"ethernet padding ignored", append(eth(macA, macB, EtherTypeIPv4, ipv4("10.0.0.1", "10.0.0.2", ProtoUDP, udp(1, 2, nil))), make([]byte, 18)...),
			"IP 10.0.0.1.1 > 10.0.0.2.2: UDP, length 0"},
		// VXLAN: 14 + 20 + 8 + 8 = 50 bytes around the inner frame.
		{"vxlan", eth(macA, macB, EtherTypeIPv4, ipv4("192.0.2.1", "192.0.2.2", ProtoUDP, udp(51000, 4789, vxlan(42, inner)))),
			"IP 192.0.2.1.51000 > 192.0.2.2.4789: VXLAN, vni 42, 50 bytes of encapsulation: IP 10.0.0.1 > 10.0.0.2: ICMP echo request, id 9, seq 3, length 64"},
		// IPv6
		{"icmp6 echo", eth(macA, macB, EtherTypeIPv6, ipv6("2001:db8::1", "2001:db8::2", ProtoICMPv6, echoRequest(t, true, 5, 2, make([]byte, 56)))),
			"IP6 2001:db8::1 > 2001:db8::2: ICMP6 echo request, id 5, seq 2, length 64"},
		{"neighbor solicitation", eth(macA, macB, EtherTypeIPv6, ipv6("2001:db8::1", "ff02::1:ff00:2", ProtoICMPv6,
			append([]byte{135, 0, 0, 0, 0, 0, 0, 0}, netip.MustParseAddr("2001:db8::2").AsSlice()...))),
			"IP6 2001:db8::1 > ff02::1:ff00:2: ICMP6 neighbor solicitation, who has 2001:db8::2, length 24"},
		{"hop-by-hop then mld", eth(macA, macB, EtherTypeIPv6, ipv6("fe80::1", "ff02::16", 0,
			append([]byte{ProtoICMPv6, 0, 5, 2, 0, 0, 1, 0}, 143, 0, 0, 0, 0, 0, 0, 0))),
			"IP6 fe80::1 > ff02::16: ICMP6 multicast listener report v2, length 8"},
		{"udp6", eth(macA, macB, EtherTypeIPv6, ipv6("2001:db8::1", "2001:db8::2", ProtoUDP, udp(1000, 53, []byte("q")))),
			"IP6 2001:db8::1.1000 > 2001:db8::2.53: UDP, length 1"},
		// Broken and unknown
		{"short", []byte{1, 2, 3}, "[truncated Ethernet header (3 bytes)]"},
		{"truncated ip", eth(macA, macB, EtherTypeIPv4, []byte{0x45, 0}), "IP [truncated IPv4 header (2 bytes)]"},
		{"truncated tcp", eth(macA, macB, EtherTypeIPv4, ipv4("10.0.0.1", "10.0.0.2", ProtoTCP, []byte{0, 80})),
			"IP 10.0.0.1 > 10.0.0.2: proto 6, length 22 [truncated TCP header (2 bytes)]"},
		{"unknown ethertype", eth(macA, macB, 0x88cc, make([]byte, 30)), "ethertype 0x88cc, length 44"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Decode(tc.frame).String(); got != tc.want {
				t.Errorf("Decode:\n got %s\nwant %s", got, tc.want)
			}
		})
	}
	if got, want := Decode(ping).WithEthernet(), "02:00:00:00:00:0a > 02:00:00:00:00:0b, IP 192.168.31.10 > 192.168.31.1: ICMP echo request, id 7, seq 1, length 64"; got != want {
		t.Errorf("WithEthernet:\n got %s\nwant %s", got, want)
	}
}

func TestFilter(t *testing.T) {
	inner := eth(macA, macB, EtherTypeIPv4, ipv4("10.0.0.1", "10.0.0.2", ProtoTCP, tcp(1, 22, 0, 0, TCPSyn, nil)))
	vx := Decode(eth(macA, macB, EtherTypeIPv4, ipv4("192.0.2.1", "192.0.2.2", ProtoUDP, udp(1, 4789, vxlan(1, inner)))))
	ar := Decode(eth(macA, macB, EtherTypeARP, arp(1, macA, "10.0.0.1", "10.0.0.9")))
	h := func(s string) netip.Addr { return netip.MustParseAddr(s) }
	tests := []struct {
		name string
		f    Filter
		fr   *Frame
		want bool
	}{
		{"zero matches all", Filter{}, ar, true},
		{"arp", Filter{Proto: "arp"}, ar, true},
		{"arp by host", Filter{Host: h("10.0.0.9")}, ar, true},
		{"arp other host", Filter{Host: h("10.0.0.3")}, ar, false},
		{"vxlan", Filter{Proto: "vxlan"}, vx, true},
		{"outer udp", Filter{Proto: "udp", Host: h("192.0.2.1")}, vx, true},
		{"inner tcp", Filter{Proto: "tcp"}, vx, true},
		{"inner host", Filter{Host: h("10.0.0.2")}, vx, true},
		{"inner port", Filter{Port: 22}, vx, true},
		{"no icmp", Filter{Proto: "icmp"}, vx, false},
		{"host mismatch", Filter{Host: h("10.9.9.9")}, vx, false},
	}
	for _, tc := range tests {
		if got := tc.f.Match(tc.fr); got != tc.want {
			t.Errorf("%s: Match = %v, want %v", tc.name, got, tc.want)
		}
	}
	if _, err := ParseProto("sctp"); err == nil {
		t.Error("ParseProto(sctp) did not fail")
	}
}

// TestICMPName names an error as ping does, without the length the
// decoder's line ends with.
func TestICMPName(t *testing.T) {
	if got := ICMPName(false, 3, 1); got != "ICMP destination unreachable, host unreachable" {
		t.Errorf("ICMPName(3, 1) = %q", got)
	}
}

// checksum is the Internet checksum (RFC 1071) of b, for the test's
// hand-built IPv4 headers.
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

func TestPcapRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewPcapWriter(&buf, 0)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1700000000, 123456000)
	frames := [][]byte{{1, 2, 3}, bytes.Repeat([]byte{9}, 100)}
	for i, f := range frames {
		if err := w.WritePacket(t0.Add(time.Duration(i)*time.Second), f, len(f)+i); err != nil {
			t.Fatal(err)
		}
	}
	if got := buf.Bytes()[:24]; !bytes.Equal(got, []byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 1, 0, 0, 0}) {
		t.Errorf("global header % x", got)
	}
	r, err := NewPcapReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range frames {
		rec, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(rec.Data, f) || rec.OrigLen != len(f)+i || !rec.Time.Equal(t0.Add(time.Duration(i)*time.Second)) {
			t.Errorf("record %d: %+v", i, rec)
		}
	}
	if _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("end: %v", err)
	}
	if _, err := NewPcapReader(bytes.NewReader(make([]byte, 24))); err == nil {
		t.Error("a zero header read as pcap")
	}
}

// FuzzDecode feeds arbitrary bytes to the decoder: it must never panic,
// and always produce a line.
func FuzzDecode(f *testing.F) {
	inner := eth(macA, macB, EtherTypeIPv4, ipv4("10.0.0.1", "10.0.0.2", ProtoTCP, tcp(1, 22, 0, 0, TCPSyn, nil)))
	f.Add(eth(macA, macB, EtherTypeIPv4, ipv4("192.0.2.1", "192.0.2.2", ProtoUDP, udp(1, 4789, vxlan(1, inner)))))
	f.Add(eth(macA, macB, EtherTypeARP, arp(1, macA, "10.0.0.1", "10.0.0.9")))
	f.Add(eth(macA, macB, EtherTypeIPv6, ipv6("fe80::1", "ff02::16", 0, append([]byte{ProtoICMPv6, 0, 5, 2, 0, 0, 1, 0}, 143, 0, 0, 0, 0, 0, 0, 0))))
	f.Add(eth(macA, macB, EtherTypeVLAN, []byte{0, 5, 8, 0}))
	f.Fuzz(func(t *testing.T, b []byte) {
		fr := Decode(b)
		_ = fr.String()
		_ = fr.WithEthernet()
		Filter{Proto: "tcp", Host: netip.MustParseAddr("10.0.0.1"), Port: 22}.Match(fr)
	})
}
