package check

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"netlab/lab/kernel"
)

// The responder protocol, for TCP and UDP alike: the probe sends a line
// "netlab TOKEN", and the responder answers "netlab TOKEN SOURCE" with the
// source address it saw, so the probe learns what a NAT on the way did.
const greeting = "netlab"

// responders are the TCP and UDP echo responders of one Run, one per
// node, protocol and port, shared by the checks that probe it.
type responders struct {
	labName string
	mu      sync.Mutex
	m       map[respKey]*responder
}

type respKey struct {
	node, proto string
	port        uint16
}

type responder struct {
	err   error
	close func() error
	wg    sync.WaitGroup
}

func newResponders(labName string) *responders {
	return &responders{labName: labName, m: make(map[respKey]*responder)}
}

// start starts the responder for node, proto and port unless it runs
// already; it returns the error of the first attempt to start it.
func (rs *responders) start(node, proto string, port uint16) error {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	k := respKey{node, proto, port}
	if r, ok := rs.m[k]; ok {
		return r.err
	}
	r := &responder{}
	rs.m[k] = r
	ns := netns(rs.labName, node)
	addr := net.JoinHostPort("", strconv.Itoa(int(port)))
	switch proto {
	case "tcp":
		l, err := kernel.ListenIn(ns, "tcp", addr)
		if err != nil {
			r.err = responderError(node, proto, port, err)
			return r.err
		}
		t := &tcpResponder{l: l, conns: make(map[net.Conn]bool)}
		r.close = t.close
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			t.serve(&r.wg)
		}()
	case "udp":
		c, err := kernel.ListenPacketIn(ns, "udp", addr)
		if err != nil {
			r.err = responderError(node, proto, port, err)
			return r.err
		}
		r.close = c.Close
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			serveUDP(c)
		}()
	default:
		r.err = fmt.Errorf("unknown protocol %q", proto)
	}
	return r.err
}

func responderError(node, proto string, port uint16, err error) error {
	if kernel.IsNotFound(err) {
		return notRunning(node, err)
	}
	return fmt.Errorf("cannot start a %s responder on port %d in node %s: %w", proto, port, node, err)
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

// tcpResponder accepts probes and answers each with the source it saw.
// Closing it closes the listener and every connection still open, so no
// goroutine outlives Run.
type tcpResponder struct {
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
		wg.Add(1)
		t.mu.Unlock()
		go func() {
			defer wg.Done()
			defer t.forget(c)
			c.SetDeadline(time.Now().Add(5 * time.Second))
			line, err := bufio.NewReader(io.LimitReader(c, 256)).ReadString('\n')
			if err != nil {
				return
			}
			if reply, ok := answer(strings.TrimSpace(line), c.RemoteAddr()); ok {
				io.WriteString(c, reply+"\n")
			}
		}()
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

func serveUDP(c net.PacketConn) {
	buf := make([]byte, 1500)
	for {
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			return // closed
		}
		if reply, ok := answer(strings.TrimSpace(string(buf[:n])), from); ok {
			c.WriteTo([]byte(reply), from)
		}
	}
}

// answer is the responder's reply to a probe's line.
func answer(line string, from net.Addr) (string, bool) {
	if !strings.HasPrefix(line, greeting+" ") {
		return "", false
	}
	ap, err := netip.ParseAddrPort(from.String())
	if err != nil {
		return "", false
	}
	return line + " " + ap.Addr().Unmap().String(), true
}

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

// streamProbe connects (tcp) or sends datagrams (udp) from node to dst,
// and reads the responder's answer, within timeout (ctx's deadline).
func streamProbe(ctx context.Context, labName, from, proto string, dst netip.AddrPort, timeout time.Duration) outcome {
	probe := greeting + " " + hex.EncodeToString(token(8))
	start := time.Now()
	c, err := kernel.DialIn(ctx, netns(labName, from), proto, dst.String())
	if err != nil {
		return failed(labName, from, dst.Addr(), timeout, err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	deadline, _ := ctx.Deadline()
	c.SetDeadline(deadline)
	var reply string
	if proto == "tcp" {
		if _, err := io.WriteString(c, probe+"\n"); err != nil {
			return failed(labName, from, dst.Addr(), timeout, err)
		}
		reply, err = bufio.NewReader(io.LimitReader(c, 256)).ReadString('\n')
		if err != nil {
			return failed(labName, from, dst.Addr(), timeout, err)
		}
	} else {
		reply, err = udpExchange(c, probe, deadline)
		if err != nil {
			return failed(labName, from, dst.Addr(), timeout, err)
		}
	}
	seen, ok := parseAnswer(probe, reply)
	if !ok {
		return outcome{reached: true, rtt: time.Since(start), reason: fmt.Sprintf("unexpected answer %q from %s", strings.TrimSpace(reply), dst)}
	}
	return outcome{reached: true, rtt: time.Since(start), seen: seen}
}

// udpExchange sends the probe every 200 ms (a datagram may be lost, as
// the first is while ARP resolves) until the answer comes or the deadline
// passes.
func udpExchange(c net.Conn, probe string, deadline time.Time) (string, error) {
	buf := make([]byte, 1500)
	for {
		if _, err := c.Write([]byte(probe)); err != nil {
			return "", err
		}
		rd := time.Now().Add(200 * time.Millisecond)
		if !deadline.IsZero() && rd.After(deadline) {
			rd = deadline
		}
		c.SetReadDeadline(rd)
		for {
			n, err := c.Read(buf)
			if isTimeout(err) {
				if !deadline.IsZero() && !time.Now().Before(deadline) {
					return "", err
				}
				break // send again
			}
			if err != nil {
				return "", err
			}
			if s := string(buf[:n]); strings.HasPrefix(s, probe+" ") {
				return s, nil
			}
		}
	}
}

// failed is the outcome of a probe that got no answer.
func failed(labName, from string, dst netip.Addr, timeout time.Duration, err error) outcome {
	if isTimeout(err) {
		return outcome{reason: timeoutReason(labName, from, dst, timeout)}
	}
	return outcome{reason: classify(labName, from, dst, err)}
}
