package check

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"netlab/lab/kernel"
)

// The responder protocol, for TCP and UDP alike: the probe sends a line
// "netlab TOKEN", and the responder answers "netlab TOKEN SOURCE" with the
// source address it saw, so the probe learns what a NAT on the way did.
// A responder answers only a token that is a ticket for it (isolation.go);
// to any other line it says nothing, and a TCP responder closes the
// connection.
const greeting = "netlab"

// responders are the responders of one Run, one per endpoint (node,
// protocol and port), shared by the checks that mean it. For ICMP the
// node's kernel answers the echo requests itself; the responder is a raw
// socket that watches them arrive, to tell each check whether its own
// request reached the node and from which source.
type responders struct {
	ns      kernel.NetNS
	labName string
	ts      *tickets
	mu      sync.Mutex
	m       map[endpoint]*responder
}

type responder struct {
	err   error
	close func() error
	wg    sync.WaitGroup
}

func newResponders(ns kernel.NetNS, labName string, ts *tickets) *responders {
	return &responders{ns: ns, labName: labName, ts: ts, m: make(map[endpoint]*responder)}
}

// start starts the responder at e unless it runs already; it returns the
// error of the first attempt to start it.
func (rs *responders) start(e endpoint) error {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if r, ok := rs.m[e]; ok {
		return r.err
	}
	r := &responder{}
	rs.m[e] = r
	ns := netns(rs.labName, e.node)
	addr := net.JoinHostPort("", strconv.Itoa(int(e.port)))
	switch e.proto {
	case "tcp":
		l, err := retryInUse(func() (net.Listener, error) { return rs.ns.ListenIn(ns, "tcp", addr) })
		if err != nil {
			r.err = responderError(e, err)
			return r.err
		}
		t := &tcpResponder{at: e, ts: rs.ts, l: l, conns: make(map[net.Conn]bool)}
		r.close = t.close
		r.wg.Go(func() { t.serve(&r.wg) })
	case "udp":
		c, err := retryInUse(func() (net.PacketConn, error) { return rs.ns.ListenPacketIn(ns, "udp", addr) })
		if err != nil {
			r.err = responderError(e, err)
			return r.err
		}
		r.close = c.Close
		r.wg.Go(func() { serveUDP(c, e, rs.ts) })
	case "icmp", "icmp6":
		c, err := listenICMP(rs.ns, rs.labName, e.node, e.proto == "icmp6")
		if err != nil {
			r.err = err
			return r.err
		}
		r.close = c.Close
		r.wg.Go(func() { watchEcho(c, e, rs.ts) })
	default:
		r.err = fmt.Errorf("unknown protocol %q", e.proto)
	}
	return r.err
}

// inUseWait is how long a responder waits for a port in use to be freed.
const inUseWait = time.Second

// retryInUse calls listen until it does not fail with EADDRINUSE, for up
// to inUseWait. A port that the last round of checks closed a moment ago
// (the TUI runs them again and again) can still be held by a child
// process this program forked meanwhile: the child holds copies of every
// socket from fork until its exec closes them. A port that stays in use
// (a program of the lab listens there) is reported after the wait.
func retryInUse[T any](listen func() (T, error)) (T, error) {
	deadline := time.Now().Add(inUseWait)
	for {
		s, err := listen()
		if !errors.Is(err, syscall.EADDRINUSE) || time.Now().After(deadline) {
			return s, err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func responderError(e endpoint, err error) error {
	if kernel.IsNotFound(err) {
		return notRunning(e.node, err)
	}
	return fmt.Errorf("cannot start a %s responder on port %d in node %s: %w", e.proto, e.port, e.node, err)
}

// closeAll stops every responder and waits for their goroutines.
func (rs *responders) closeAll() {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	for _, r := range rs.m {
		if r.close != nil {
			r.close()
		}
		r.wg.Wait()
	}
}

// tcpResponder accepts probes and answers each of its own with the source
// it saw. Closing it closes the listener and every connection still open,
// so no goroutine outlives Run.
type tcpResponder struct {
	at     endpoint
	ts     *tickets
	l      net.Listener
	mu     sync.Mutex
	conns  map[net.Conn]bool
	closed bool
}

func (t *tcpResponder) serve(wg *sync.WaitGroup) {
	for {
		c, err := t.l.Accept()
		if err != nil {
			return // closed
		}
		t.mu.Lock()
		if t.closed {
			t.mu.Unlock()
			c.Close()
			return
		}
		t.conns[c] = true
		t.mu.Unlock()
		wg.Go(func() {
			defer t.forget(c)
			c.SetDeadline(time.Now().Add(5 * time.Second))
			line, err := bufio.NewReader(io.LimitReader(c, 256)).ReadString('\n')
			if err != nil {
				return
			}
			if reply, ok := answer(t.ts, t.at, line, c.RemoteAddr()); ok {
				io.WriteString(c, reply+"\n")
			}
		})
	}
}

func (t *tcpResponder) forget(c net.Conn) {
	t.mu.Lock()
	delete(t.conns, c)
	t.mu.Unlock()
	c.Close()
}

func (t *tcpResponder) close() error {
	t.mu.Lock()
	t.closed = true
	for c := range t.conns {
		c.Close()
	}
	t.mu.Unlock()
	return t.l.Close()
}

func serveUDP(c net.PacketConn, at endpoint, ts *tickets) {
	buf := make([]byte, 1500)
	for {
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			return // closed
		}
		if reply, ok := answer(ts, at, string(buf[:n]), from); ok {
			c.WriteTo([]byte(reply), from)
		}
	}
}

// answer is the reply of the responder at at to a probe's line from
// source from: "netlab TOKEN SOURCE" when the token is a ticket for at,
// nothing otherwise.
func answer(ts *tickets, at endpoint, line string, from net.Addr) (string, bool) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(line), greeting+" ")
	if !ok {
		return "", false
	}
	tok, ok := parseToken(rest)
	if !ok {
		return "", false
	}
	ap, err := netip.ParseAddrPort(from.String())
	if err != nil {
		return "", false
	}
	src := ap.Addr().Unmap()
	if !ts.claim(tok, at, src) {
		return "", false
	}
	return probeLine(tok) + " " + src.String(), true
}

// probeLine is the line a probe with token t sends.
func probeLine(t token) string { return greeting + " " + t.String() }

// parseAnswer takes the source address from the responder's answer to
// the probe line.
func parseAnswer(probe, reply string) (netip.Addr, bool) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(reply), probe+" ")
	if !ok {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(rest)
	return a, err == nil
}

// watchEcho reads the ICMP messages that arrive in the node at at and
// claims the token of every echo request. The kernel has handed the
// request to this raw socket before it answers it, so a check whose reply
// came back finds its request claimed as soon as this goroutine has read it.
func watchEcho(c net.PacketConn, at endpoint, ts *tickets) {
	v6 := at.proto == "icmp6"
	buf := make([]byte, 1500)
	for {
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			return // closed
		}
		m, err := parseICMP(v6, buf[:n])
		if err != nil || !m.isEchoRequest() {
			continue
		}
		if tok, ok := tokenOf(m.echo.Data); ok {
			ts.claim(tok, at, addrOf(from))
		}
	}
}
