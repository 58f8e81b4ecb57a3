package capture_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"

	"netlab/lab/capture"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/packet"
)

// These tests capture from the fake network's packet source, without
// root: what they prove is Run's own work (decoding, the filter, the
// count, the pcap, the end on cancel); that the socket sees a node's
// traffic is proved by the _linux tests, as root.

// echoFrame is an Ethernet frame holding an ICMP echo request or reply
// from src to dst.
func echoFrame(t *testing.T, src, dst string, reply bool, seq int) []byte {
	t.Helper()
	typ := icmp.Type(ipv4.ICMPTypeEcho)
	if reply {
		typ = ipv4.ICMPTypeEchoReply
	}
	body, err := (&icmp.Message{Type: typ, Body: &icmp.Echo{ID: 7, Seq: seq, Data: make([]byte, 56)}}).Marshal(nil)
	if err != nil {
		t.Fatal(err)
	}
	h := ipv4.Header{Version: 4, Len: ipv4.HeaderLen, TotalLen: ipv4.HeaderLen + len(body), TTL: 64, Protocol: 1,
		Src: net.ParseIP(src), Dst: net.ParseIP(dst)}
	ip, err := h.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	eth := []byte{0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00}
	return append(append(eth, ip...), body...)
}

// TestCaptureDecodesFake captures on a fake interface: frames the filter
// leaves out are skipped, the matching ones are decoded with their
// direction and time, Count ends the capture, and the pcap holds the
// same frames.
func TestCaptureDecodesFake(t *testing.T) {
	t.Parallel()
	n := kerneltest.NewNet()
	n.AddNetNS("cap.c1")
	n.AddLink("cap.c1", "veth0")
	at := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	var pcap bytes.Buffer
	var got []capture.Packet
	opts := capture.Options{
		Filter: packet.Filter{Proto: "icmp", Host: netip.MustParseAddr("192.168.31.1")},
		Count:  2,
		Pcap:   &pcap,
		Ready: func() {
			n.SendFrame("cap.c1", "veth0", echoFrame(t, "192.168.31.10", "192.168.31.99", false, 1), true, at)
			n.SendFrame("cap.c1", "veth0", echoFrame(t, "192.168.31.10", "192.168.31.1", false, 2), true, at)
			n.SendFrame("cap.c1", "veth0", echoFrame(t, "192.168.31.1", "192.168.31.10", true, 2), false, at.Add(time.Millisecond))
			n.SendFrame("cap.c1", "veth0", echoFrame(t, "192.168.31.10", "192.168.31.1", false, 3), true, at)
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := capture.Run(ctx, n, "cap", "c1", "veth0", opts, func(p capture.Packet) error {
		got = append(got, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("captured %d frames, want 2 (Count)", len(got))
	}
	want := []string{
		"IP 192.168.31.10 > 192.168.31.1: ICMP echo request, id 7, seq 2, length 64",
		"IP 192.168.31.1 > 192.168.31.10: ICMP echo reply, id 7, seq 2, length 64",
	}
	for i, p := range got {
		if s := p.Frame.String(); s != want[i] {
			t.Errorf("frame %d: %q, want %q", i, s, want[i])
		}
		if p.Outgoing != (i == 0) || p.OrigLen != len(p.Data) || len(p.Data) != 14+20+64 {
			t.Errorf("frame %d: outgoing %v, %d of %d bytes", i, p.Outgoing, len(p.Data), p.OrigLen)
		}
	}
	if !got[0].Time.Equal(at) || !got[1].Time.Equal(at.Add(time.Millisecond)) {
		t.Errorf("times %s %s", got[0].Time, got[1].Time)
	}
	r, err := packet.NewPcapReader(bytes.NewReader(pcap.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range got {
		rec, err := r.Next()
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if !bytes.Equal(rec.Data, p.Data) || rec.OrigLen != p.OrigLen || rec.Time.UnixMicro() != p.Time.UnixMicro() {
			t.Errorf("record %d: %d bytes at %s, want %d at %s", i, len(rec.Data), rec.Time, len(p.Data), p.Time)
		}
	}
	if _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("after the last record: %v, want EOF", err)
	}
}

// TestCaptureTruncatesFake: a frame longer than SnapLen is kept to
// SnapLen bytes, with its real length, in the packet and the pcap.
func TestCaptureTruncatesFake(t *testing.T) {
	t.Parallel()
	n := kerneltest.NewNet()
	n.AddNetNS("cap.c1")
	n.AddLink("cap.c1", "veth0")
	big := append(echoFrame(t, "192.168.31.10", "192.168.31.1", false, 1), make([]byte, capture.SnapLen)...)
	var pcap bytes.Buffer
	var got capture.Packet
	opts := capture.Options{Count: 1, Pcap: &pcap, Ready: func() { n.SendFrame("cap.c1", "veth0", big, true, time.Now()) }}
	if err := capture.Run(context.Background(), n, "cap", "c1", "veth0", opts, func(p capture.Packet) error { got = p; return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got.Data) != capture.SnapLen || got.OrigLen != len(big) {
		t.Errorf("kept %d of %d bytes, want %d of %d", len(got.Data), got.OrigLen, capture.SnapLen, len(big))
	}
	r, err := packet.NewPcapReader(bytes.NewReader(pcap.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if rec, err := r.Next(); err != nil || len(rec.Data) != capture.SnapLen || rec.OrigLen != len(big) {
		t.Errorf("pcap record: %v, %d of %d bytes", err, len(rec.Data), rec.OrigLen)
	}
}

// TestCaptureFnFailsFake: a capture whose fn fails ends with fn's error
// (on the fake, where a frame can be given at will; TestCaptureStops runs
// the rest of how a capture ends on both kernels).
func TestCaptureFnFailsFake(t *testing.T) {
	t.Parallel()
	n := kerneltest.NewNet()
	n.AddNetNS("cap.server")
	n.AddLink("cap.server", "eth0")
	stop := errors.New("enough")
	opts := capture.Options{Ready: func() {
		n.SendFrame("cap.server", "eth0", echoFrame(t, "192.0.2.1", "192.0.2.2", false, 1), false, time.Now())
	}}
	if err := capture.Run(context.Background(), n, "cap", "server", "eth0", opts, func(capture.Packet) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("capture whose fn fails: %v, want %v", err, stop)
	}
}
