package kerneltest_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"

	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
)

// twoNodes is a fake network of a client (10.1.0.1) and a server
// (10.1.0.2) on one subnet.
func twoNodes() *kerneltest.Net {
	n := kerneltest.NewNet()
	n.AddNetNS("f.client", netip.MustParsePrefix("10.1.0.1/24"))
	n.AddNetNS("f.server", netip.MustParsePrefix("10.1.0.2/24"))
	return n
}

// TestNetTCP: a connection reaches the listener with each end's
// addresses, carries bytes both ways without waiting for the reader, and
// ends with EOF; no listener is ECONNREFUSED; a port is listened on once.
func TestNetTCP(t *testing.T) {
	n := twoNodes()
	ln, err := n.ListenIn("f.server", "tcp", ":80")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, err := n.ListenIn("f.server", "tcp", ":80"); !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("second listen on :80: %v, want EADDRINUSE", err)
	}
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	c, err := n.DialIn(context.Background(), "f.client", "tcp", "10.1.0.2:80")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(c, "hello\n"); err != nil { // nobody reads yet
		t.Fatal(err)
	}
	s := <-accepted
	if s.RemoteAddr().String() != c.LocalAddr().String() || c.RemoteAddr().String() != "10.1.0.2:80" || s.LocalAddr().String() != "10.1.0.2:80" {
		t.Errorf("addresses: client %s -> %s, server %s <- %s", c.LocalAddr(), c.RemoteAddr(), s.LocalAddr(), s.RemoteAddr())
	}
	if !strings.HasPrefix(s.RemoteAddr().String(), "10.1.0.1:") {
		t.Errorf("server sees %s, want the client's address", s.RemoteAddr())
	}
	line, err := bufio.NewReader(s).ReadString('\n')
	if err != nil || line != "hello\n" {
		t.Errorf("server read %q, %v", line, err)
	}
	s.Close()
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("client read after the server closed: %v, want EOF", err)
	}
	c.Close()

	if _, err := n.DialIn(context.Background(), "f.client", "tcp", "10.1.0.2:81"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial a port nobody listens on: %v, want ECONNREFUSED", err)
	}
	ln.Close()
	if _, err := n.DialIn(context.Background(), "f.client", "tcp", "10.1.0.2:80"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial a closed listener: %v, want ECONNREFUSED", err)
	}
}

// TestNetRoutes: no route is ENETUNREACH, a next hop nobody owns is
// EHOSTUNREACH for TCP and a "failed" neighbour; a route via a gateway
// shows in NextHop; a namespace that is gone is fs.ErrNotExist.
func TestNetRoutes(t *testing.T) {
	n := twoNodes()
	if _, err := n.DialIn(context.Background(), "f.client", "tcp", "198.51.100.1:80"); !errors.Is(err, syscall.ENETUNREACH) {
		t.Errorf("dial with no route: %v, want ENETUNREACH", err)
	}
	if _, err := n.NextHop("f.client", netip.MustParseAddr("198.51.100.1")); !kernel.IsNoRoute(err) {
		t.Errorf("NextHop with no route: %v, want no route", err)
	}
	n.AddRoute("f.client", netip.MustParsePrefix("0.0.0.0/0"), netip.MustParseAddr("10.1.0.254"), "eth0")
	hop, err := n.NextHop("f.client", netip.MustParseAddr("198.51.100.1"))
	if err != nil || hop.Gateway.String() != "10.1.0.254" || hop.Dev != "eth0" || hop.Src.String() != "10.1.0.1" || hop.Neigh != "failed" {
		t.Errorf("NextHop via a gateway nobody owns: %+v %v", hop, err)
	}
	if _, err := n.DialIn(context.Background(), "f.client", "tcp", "198.51.100.1:80"); !errors.Is(err, syscall.EHOSTUNREACH) {
		t.Errorf("dial via a gateway nobody owns: %v, want EHOSTUNREACH", err)
	}
	hop, err = n.NextHop("f.client", netip.MustParseAddr("10.1.0.2"))
	if err != nil || hop.Gateway.IsValid() || hop.Neigh != "reachable" {
		t.Errorf("NextHop on-link to a node: %+v %v", hop, err)
	}
	if err := n.NetNSExists("f.gone"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("NetNSExists of a missing namespace: %v", err)
	}
	if err := n.NetNSExists("f.client"); err != nil {
		t.Errorf("NetNSExists: %v", err)
	}
	if _, err := n.ListenIn("f.gone", "tcp", ":1"); !kernel.IsNotFound(err) {
		t.Errorf("listen in a missing namespace: %v, want not found", err)
	}
}

// TestNetUDPAndNAT: a datagram through a DNAT reaches the server from
// the SNAT'd source; the reply comes back from the address the client
// dialled; a port nobody listens on makes the next read ECONNREFUSED; a
// read deadline passes as os.ErrDeadlineExceeded.
func TestNetUDPAndNAT(t *testing.T) {
	n := twoNodes()
	n.AddNetNS("f.router", netip.MustParsePrefix("10.1.0.254/24"), netip.MustParsePrefix("10.9.0.53/24"))
	n.AddRoute("f.client", netip.MustParsePrefix("10.9.0.0/24"), netip.MustParseAddr("10.1.0.254"), "eth0")
	n.DNAT(netip.MustParseAddrPort("10.9.0.53:53"), netip.MustParseAddrPort("10.1.0.2:5353"))
	n.SNAT("f.client", netip.MustParseAddr("10.1.0.254"))
	srv, err := n.ListenPacketIn("f.server", "udp", ":5353")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c, err := n.DialIn(context.Background(), "f.client", "udp", "10.9.0.53:53")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("q")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	srv.SetReadDeadline(time.Now().Add(time.Second))
	k, from, err := srv.ReadFrom(buf)
	if err != nil || string(buf[:k]) != "q" || !strings.HasPrefix(from.String(), "10.1.0.254:") {
		t.Fatalf("server read %q from %v, %v; want q from the SNAT address", buf[:k], from, err)
	}
	if _, err := srv.WriteTo([]byte("a"), from); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(time.Second))
	if k, err := c.Read(buf); err != nil || string(buf[:k]) != "a" {
		t.Errorf("client read %q, %v; want the reply", buf[:k], err)
	}

	// On-link: no SNAT, and nobody listens on port 9.
	c2, err := n.DialIn(context.Background(), "f.client", "udp", "10.1.0.2:9")
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	c2.Write([]byte("x"))
	c2.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := c2.Read(buf); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("read after a datagram to a closed port: %v, want ECONNREFUSED", err)
	}
	c2.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := c2.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("read with nothing coming: %v, want the deadline", err)
	}
}

// TestNetICMP: an echo request reaches every raw socket of the
// destination, and its reply every raw socket of the source; a dropped
// request gets no reply, a rejected one fails with EPERM.
func TestNetICMP(t *testing.T) {
	n := twoNodes()
	watch, err := n.ListenPacketIn("f.server", "ip4:icmp", "0.0.0.0")
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()
	p, err := n.ListenPacketIn("f.client", "ip4:icmp", "0.0.0.0")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	req, _ := (&icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: 9, Seq: 1, Data: []byte("tok")}}).Marshal(nil)
	dst := &net.IPAddr{IP: net.ParseIP("10.1.0.2")}
	if _, err := p.WriteTo(req, dst); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 128)
	watch.SetReadDeadline(time.Now().Add(time.Second))
	k, from, err := watch.ReadFrom(buf)
	if err != nil || from.String() != "10.1.0.1" || string(buf[:k]) != string(req) {
		t.Errorf("server's raw socket read %v from %v, %v", buf[:k], from, err)
	}
	p.SetReadDeadline(time.Now().Add(time.Second))
	k, from, err = p.ReadFrom(buf)
	if err != nil || from.String() != "10.1.0.2" {
		t.Fatalf("reply from %v, %v", from, err)
	}
	m, err := icmp.ParseMessage(1, buf[:k])
	if e, ok := m.Body.(*icmp.Echo); err != nil || m.Type != ipv4.ICMPTypeEchoReply || !ok || e.ID != 9 || string(e.Data) != "tok" {
		t.Errorf("reply %+v, %v", m, err)
	}

	n.Drop("", netip.MustParseAddrPort("10.1.0.2:0"))
	p.WriteTo(req, dst)
	p.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, _, err := p.ReadFrom(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("read after a dropped request: %v, want the deadline", err)
	}
	// Rules apply in order, the first that matches wins: a reject
	// behind the drop is never reached, one before it is.
	n.Reject("f.client", netip.MustParseAddrPort("10.1.0.2:0"))
	if _, err := p.WriteTo(req, dst); err != nil {
		t.Errorf("send to a dropped address, with a reject behind the drop: %v", err)
	}
	n2 := twoNodes()
	n2.Reject("f.client", netip.MustParseAddrPort("10.1.0.2:0"))
	n2.Drop("", netip.MustParseAddrPort("10.1.0.2:0"))
	p2, err := n2.ListenPacketIn("f.client", "ip4:icmp", "0.0.0.0")
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Close()
	if _, err := p2.WriteTo(req, dst); !errors.Is(err, syscall.EPERM) {
		t.Errorf("send to a rejected address: %v, want EPERM", err)
	}
}

// TestWatched: writes and Changed notify every watch, a burst as one
// value, and the channel closes when its context ends.
func TestWatched(t *testing.T) {
	w := kerneltest.NewWatched(kerneltest.NewFake())
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := w.Watch(ctx, "w")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.NetNSAdd(ctx, "w", "a"); err != nil {
		t.Fatal(err)
	}
	w.Changed()
	select {
	case <-ch:
	case <-time.After(time.Second):
		t.Fatal("no value after a write")
	}
	select {
	case <-ch:
		t.Error("two values for one burst")
	default:
	}
	if err := w.NetNSDel(ctx, "w.a"); err != nil {
		t.Fatal(err)
	}
	if len(ch) != 1 {
		t.Errorf("after a delete: %d values pending, want 1", len(ch))
	}
	cancel()
	deadline := time.After(time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("channel not closed after ctx ended")
		}
	}
}
