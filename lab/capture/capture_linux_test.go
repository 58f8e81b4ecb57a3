package capture_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"netlab/lab"
	"netlab/lab/capture"
	"netlab/lab/check"
	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/labfile"
	"netlab/lab/packet"
	"netlab/lab/reconcile"
	"netlab/lab/validate"
	"netlab/topologies"
)

func TestMain(m *testing.M) { os.Exit(kerneltest.LeakCheck(m).Run()) }

// upDefault brings the built-in default lab up under a fresh name.
func upDefault(t *testing.T) *lab.Lab {
	t.Helper()
	name := kerneltest.LabName(t)
	text := strings.Replace(string(topologies.Default()), "name: single-ip\n", "name: "+name+"\n", 1)
	l, diags := labfile.Parse("test.yaml", []byte(text))
	diags.Append(validate.Lab(l)...)
	if diags.HasErrors() || l.Name != name {
		t.Fatalf("default lab: %v", diags.Err())
	}
	k := kernel.NewLinux()
	defer k.Close()
	if _, err := reconcile.Up(context.Background(), k, l, reconcile.Options{}); err != nil {
		t.Fatal(err)
	}
	return l
}

// TestCapturePing captures on c1:veth0 while c1 pings the bridge: the
// request goes out and the reply comes in, both decoded; the pcap file
// holds the same frames behind a classic libpcap header.
func TestCapturePing(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	l := upDefault(t)
	dst := netip.MustParseAddr("192.168.31.1")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var pcap bytes.Buffer
	var got []capture.Packet
	ready := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	var capErr error
	go func() {
		defer wg.Done()
		opts := capture.Options{
			Filter: packet.Filter{Proto: "icmp", Host: dst},
			Count:  2,
			Pcap:   &pcap,
			Ready:  func() { close(ready) },
		}
		capErr = capture.Run(ctx, kernel.NewLinux(), l.Name, "c1", "veth0", opts, func(p capture.Packet) error {
			got = append(got, p)
			return nil
		})
	}()
	<-ready
	p, err := check.NewPinger(kernel.NewLinux(), l.Name, "c1", dst)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	e, err := p.Echo(ctx, 1, 5*time.Second)
	if err != nil {
		t.Fatalf("ping %s from c1: %v", dst, err)
	}
	wg.Wait()
	if capErr != nil {
		t.Fatalf("capture: %v", capErr)
	}
	if len(got) != 2 {
		t.Fatalf("captured %d frames, want 2", len(got))
	}
	req, rep := got[0], got[1]
	if !req.Outgoing || rep.Outgoing {
		t.Errorf("directions: request outgoing=%v, reply outgoing=%v", req.Outgoing, rep.Outgoing)
	}
	for _, tc := range []struct {
		p    capture.Packet
		want string
	}{
		{req, "IP 192.168.31.10 > 192.168.31.1: ICMP echo request, id "},
		{rep, "IP 192.168.31.1 > 192.168.31.10: ICMP echo reply, id "},
	} {
		if s := tc.p.Frame.String(); !strings.HasPrefix(s, tc.want) || !strings.HasSuffix(s, ", seq 1, length 64") {
			t.Errorf("decoded %q, want %q...\", seq 1, length 64\"", s, tc.want)
		}
	}
	if req.Frame.IP.ICMP.ID != rep.Frame.IP.ICMP.ID {
		t.Errorf("request id %d, reply id %d", req.Frame.IP.ICMP.ID, rep.Frame.IP.ICMP.ID)
	}
	t.Logf("rtt %s: %s | %s", check.FormatRTT(e.RTT), req.Frame.WithEthernet(), rep.Frame.WithEthernet())

	// Read the pcap back.
	r, err := packet.NewPcapReader(bytes.NewReader(pcap.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if r.Header.Magic != 0xa1b2c3d4 || r.Header.LinkType != 1 || r.Header.VersionMajor != 2 || r.Header.VersionMinor != 4 {
		t.Errorf("pcap header %+v, want magic a1b2c3d4, version 2.4, linktype 1", r.Header)
	}
	if b := pcap.Bytes()[:4]; !bytes.Equal(b, []byte{0xd4, 0xc3, 0xb2, 0xa1}) {
		t.Errorf("pcap starts % x, want d4 c3 b2 a1 (little-endian magic)", b)
	}
	for i, want := range got {
		rec, err := r.Next()
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if !bytes.Equal(rec.Data, want.Data) || rec.OrigLen != want.OrigLen || rec.Time.UnixMicro() != want.Time.UnixMicro() {
			t.Errorf("record %d: %d bytes at %s, want %d at %s", i, len(rec.Data), rec.Time, len(want.Data), want.Time)
		}
	}
	if _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("after the last record: %v, want EOF", err)
	}
}

// TestCaptureStops: a capture with nothing to see ends cleanly when its
// context does, and a missing interface or node is an error that names
// it. It runs on the fake network and, as root, on the real kernel.
func TestCaptureStops(t *testing.T) {
	t.Parallel()
	t.Run("fake", func(t *testing.T) {
		t.Parallel()
		n := kerneltest.NewNet()
		n.AddNetNS("cap.server")
		n.AddLink("cap.server", "eth0")
		testCaptureStops(t, n, "cap")
	})
	t.Run("linux", func(t *testing.T) {
		kerneltest.RequireRoot(t)
		t.Parallel()
		testCaptureStops(t, kernel.NewLinux(), upDefault(t).Name)
	})
}

// testCaptureStops captures in k, where node server of labName has eth0
// and no node gone exists.
func testCaptureStops(t *testing.T, k kernel.NetNS, labName string) {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := capture.Run(ctx, k, labName, "server", "eth0", capture.Options{Filter: packet.Filter{Proto: "vxlan"}}, func(capture.Packet) error {
		return errors.New("unexpected frame")
	})
	if err != nil {
		t.Errorf("capture ended with %v, want nil on cancel", err)
	}
	err = capture.Run(context.Background(), k, labName, "server", "nosuch0", capture.Options{}, nil)
	if want := "no interface nosuch0 in namespace " + labName + ".server"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("capture on a missing interface: %v, want %q", err, want)
	}
	err = capture.Run(context.Background(), k, labName, "gone", "eth0", capture.Options{}, nil)
	if err == nil || !strings.Contains(err.Error(), labName+".gone") {
		t.Errorf("capture in a missing node: %v", err)
	}
}

// TestCaptureVXLAN builds a VXLAN tunnel by hand between two namespaces of
// a test lab (netlab does not build VXLAN yet), pings across it, and
// captures the underlay: each packet is decoded down to the inner frame,
// with the 50 bytes of encapsulation around it.
func TestCaptureVXLAN(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	name := kerneltest.LabName(t)
	a, b := name+".a", name+".b"
	for _, args := range [][]string{
		{"netns", "add", a},
		{"netns", "add", b},
		{"-n", a, "link", "add", "u0", "type", "veth", "peer", "name", "u0", "netns", b},
		{"-n", a, "addr", "add", "10.0.0.1/24", "dev", "u0"},
		{"-n", b, "addr", "add", "10.0.0.2/24", "dev", "u0"},
		{"-n", a, "link", "set", "u0", "up"},
		{"-n", b, "link", "set", "u0", "up"},
		{"-n", a, "link", "add", "vx0", "type", "vxlan", "id", "42", "local", "10.0.0.1", "remote", "10.0.0.2", "dstport", "4789", "dev", "u0"},
		{"-n", b, "link", "add", "vx0", "type", "vxlan", "id", "42", "local", "10.0.0.2", "remote", "10.0.0.1", "dstport", "4789", "dev", "u0"},
		{"-n", a, "addr", "add", "172.16.0.1/24", "dev", "vx0"},
		{"-n", b, "addr", "add", "172.16.0.2/24", "dev", "vx0"},
		{"-n", a, "link", "set", "vx0", "up"},
		{"-n", b, "link", "set", "vx0", "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			if strings.Contains(string(out), "vxlan") || strings.Contains(string(out), "Unknown device type") {
				t.Skipf("no VXLAN in this kernel: %s", out)
			}
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	inner := netip.MustParseAddr("172.16.0.2")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []capture.Packet
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		opts := capture.Options{Filter: packet.Filter{Proto: "icmp", Host: inner}, Count: 2, Ready: func() { close(ready) }}
		done <- capture.Run(ctx, kernel.NewLinux(), name, "a", "u0", opts, func(p capture.Packet) error {
			got = append(got, p)
			return nil
		})
	}()
	<-ready
	p, err := check.NewPinger(kernel.NewLinux(), name, "a", inner)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.Echo(ctx, 1, 5*time.Second); err != nil {
		t.Fatalf("ping %s across the tunnel: %v", inner, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	wants := []string{
		"VXLAN, vni 42, 50 bytes of encapsulation: IP 172.16.0.1 > 172.16.0.2: ICMP echo request, id ",
		"VXLAN, vni 42, 50 bytes of encapsulation: IP 172.16.0.2 > 172.16.0.1: ICMP echo reply, id ",
	}
	for i, want := range wants {
		if s := got[i].Frame.String(); !strings.Contains(s, want) || !strings.HasPrefix(s, "IP 10.0.0.") {
			t.Errorf("packet %d: %q, want an outer IP 10.0.0.x packet with %q", i, s, want)
		}
	}
}
