package check

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"

	"netlab/lab/kernel"
	"netlab/lab/packet"
)

// EchoPayloadBytes is the size of an echo request's data, as ping's
// default: 56 bytes, 64 with the ICMP header.
const EchoPayloadBytes = 56

// MaxEchoPayload is the largest echo request's data that fits in one IP
// packet of 65535 bytes: 65507 for IPv4 (less its 20-byte header and the
// 8-byte ICMP header), 65527 for IPv6 (whose 16-bit payload length does
// not count its own header). ping(8) allows the same.
func MaxEchoPayload(v6 bool) int {
	if v6 {
		return 65535 - 8
	}
	return 65535 - 20 - 8
}

// echoHeaders is the bytes an echo request adds to its data on the wire:
// the IP header (20 or 40) and the ICMP header (8).
func echoHeaders(v6 bool) int {
	if v6 {
		return 40 + 8
	}
	return 20 + 8
}

// Pinger sends ICMP echo requests from inside a node's namespace, through
// a raw ICMP socket (IPv4 or IPv6, after the family of the target), and
// reads the replies and the ICMP errors they provoke. Each Pinger has its
// own random identifier, so pingers running at once never take each
// other's replies.
type Pinger struct {
	ns            kernel.NetNS
	labName, node string
	dst           netip.Addr
	conn          net.PacketConn
	id            uint16
	size          int              // bytes of data in a request
	pmtu          *kernel.PMTUDisc // the socket's -M, when set
}

// NewPinger opens a raw ICMP socket in the node's namespace, through ns,
// for pinging dst.
// Equivalent to: ip netns exec LAB.NODE ping DST
func NewPinger(ns kernel.NetNS, labName, node string, dst netip.Addr) (*Pinger, error) {
	conn, err := listenICMP(ns, labName, node, dst.Is6() && !dst.Is4In6())
	if err != nil {
		return nil, err
	}
	return &Pinger{ns: ns, labName: labName, node: node, dst: dst.Unmap(), conn: conn, id: randomID(), size: EchoPayloadBytes}, nil
}

// SetSize sets the bytes of data each request carries (ping -s), 0 up to
// MaxEchoPayload; EchoPayloadBytes until set.
func (p *Pinger) SetSize(n int) error {
	if max := MaxEchoPayload(p.dst.Is6()); n < 0 || n > max {
		return fmt.Errorf("echo data of %d bytes: want 0 to %d for an %s target", n, max, family(p.dst))
	}
	p.size = n
	return nil
}

// Size is the bytes of data each request carries.
func (p *Pinger) Size() int { return p.size }

// SetPMTUDisc sets the socket's path-MTU discovery mode (ping -M): with
// kernel.PMTUDo, a request larger than the route's MTU is refused by the
// node's own kernel, and one larger than a link further on is dropped
// there with an ICMP "fragmentation needed" back.
// Equivalent to: ip netns exec LAB.NODE ping -M do|want|dont DST
func (p *Pinger) SetPMTUDisc(mode kernel.PMTUDisc) error {
	sc, ok := p.conn.(syscall.Conn)
	if !ok {
		return fmt.Errorf("node %s: this socket has no path-MTU discovery setting", p.node)
	}
	if err := kernel.SetPMTUDisc(sc, p.dst.Is6(), mode); err != nil {
		return fmt.Errorf("node %s: set path-MTU discovery: %w", p.node, err)
	}
	p.pmtu = &mode
	return nil
}

// family names dst's IP version for a message.
func family(dst netip.Addr) string {
	if dst.Is6() {
		return "IPv6"
	}
	return "IPv4"
}

// listenICMP opens a raw ICMP (or, with v6, ICMPv6) socket in the node's
// namespace, through ns: a Pinger's, or an ICMP responder's.
func listenICMP(ns kernel.NetNS, labName, node string, v6 bool) (net.PacketConn, error) {
	network, laddr := "ip4:icmp", "0.0.0.0"
	if v6 {
		network, laddr = "ip6:ipv6-icmp", "::"
	}
	conn, err := ns.ListenPacketIn(netns(labName, node), network, laddr)
	if err != nil {
		return nil, notRunning(node, err)
	}
	return conn, nil
}

// Close closes the socket.
func (p *Pinger) Close() error { return p.conn.Close() }

// Echo is the answer to one echo request.
type Echo struct {
	Seq  uint16
	From netip.Addr
	RTT  time.Duration
	Len  int // bytes of the ICMP reply
}

// EchoError is an echo request that got no reply; Reason says why
// ("no route to ... from node c1", "timed out after 1s ...").
type EchoError struct {
	Seq    uint16
	Reason string
	// From is the router that reported an ICMP error, or invalid.
	From netip.Addr
	// Err is the kernel's error when the send or the read failed
	// (syscall.ENETUNREACH...), else nil.
	Err error
}

func (e *EchoError) Error() string { return e.Reason }

// Echo sends one echo request with sequence number seq and waits until
// its reply, an ICMP error about it, or the timeout. The error is an
// *EchoError when the network, not netlab, is to blame.
func (p *Pinger) Echo(ctx context.Context, seq uint16, timeout time.Duration) (Echo, error) {
	data := make([]byte, p.size)
	rand.Read(data)
	return p.echo(ctx, seq, timeout, data)
}

func (p *Pinger) echo(ctx context.Context, seq uint16, timeout time.Duration, data []byte) (Echo, error) {
	v6 := p.dst.Is6()
	msg, err := marshalEcho(v6, p.id, seq, data)
	if err != nil {
		return Echo{}, fmt.Errorf("echo request: %w", err)
	}
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	stop := context.AfterFunc(ctx, func() { p.conn.SetReadDeadline(time.Now()) })
	defer stop()
	if err := p.conn.SetReadDeadline(deadline); err != nil {
		return Echo{}, err
	}
	start := time.Now()
	if _, err := p.conn.WriteTo(msg, &net.IPAddr{IP: p.dst.AsSlice()}); err != nil {
		if kernel.IsMsgSize(err) {
			return Echo{}, &EchoError{Seq: seq, Reason: p.tooLong(ctx, len(data)), Err: err}
		}
		return Echo{}, &EchoError{Seq: seq, Reason: classify(p.ns, p.labName, p.node, p.dst, err), Err: err}
	}
	// The reply carries the request's data; the IP header is read too.
	buf := make([]byte, max(1500, len(msg)+echoHeaders(v6)+64))
	for {
		n, from, err := p.conn.ReadFrom(buf)
		if err != nil {
			if isTimeout(err) {
				if ctx.Err() != nil && time.Now().Before(deadline) {
					return Echo{}, ctx.Err()
				}
				return Echo{}, &EchoError{Seq: seq, Reason: timeoutReason(p.ns, p.labName, p.node, p.dst, timeout)}
			}
			return Echo{}, &EchoError{Seq: seq, Reason: classify(p.ns, p.labName, p.node, p.dst, err), Err: err}
		}
		m, err := parseICMP(v6, buf[:n])
		if err != nil {
			continue
		}
		src := addrOf(from)
		switch {
		case m.isEchoReply() && m.echo.ID == int(p.id) && m.echo.Seq == int(seq) && bytes.Equal(m.echo.Data, data):
			return Echo{Seq: seq, From: src, RTT: time.Since(start), Len: n}, nil
		case (m.isUnreachable() || m.isTimeExceeded() || m.isPacketTooBig()) && m.original != nil && m.original.id == p.id && m.original.seq == seq &&
			(m.original.proto == packet.ProtoICMP || m.original.proto == packet.ProtoICMPv6):
			return Echo{}, &EchoError{Seq: seq, From: src, Reason: icmpReason(src, m)}
		}
	}
}

// tooLong explains a request the node's own kernel refused for its size
// (EMSGSIZE): larger than the route's MTU, with DF set and local
// fragmentation forbidden (-M do). It asks the kernel for the path's MTU
// through a connected UDP socket, as ping(8) reads it from the error.
func (p *Pinger) tooLong(ctx context.Context, data int) string {
	v6 := p.dst.Is6()
	pkt := data + echoHeaders(v6)
	mtu, err := p.pathMTU(ctx)
	if err != nil || mtu <= 0 {
		return fmt.Sprintf("%s: message too long: a %d-byte packet (%d bytes of data and %d of headers) is larger than the route's MTU, and may not be fragmented", ReasonTooBig, pkt, data, echoHeaders(v6))
	}
	return fmt.Sprintf("%s: message too long, mtu=%d: a %d-byte packet (%d bytes of data and %d of headers) may not be fragmented; at most -s %d fits", ReasonTooBig, mtu, pkt, data, echoHeaders(v6), max(mtu-echoHeaders(v6), 0))
}

// pathMTU is the MTU the node's kernel knows for the path to the target:
// its route's, or less if an ICMP error has taught it a smaller one.
func (p *Pinger) pathMTU(ctx context.Context) (int, error) {
	network := "udp4"
	if p.dst.Is6() {
		network = "udp6"
	}
	// Connecting a UDP socket sends nothing; it picks the route.
	c, err := p.ns.DialIn(ctx, netns(p.labName, p.node), network, netip.AddrPortFrom(p.dst, 9).String())
	if err != nil {
		return 0, err
	}
	defer c.Close()
	sc, ok := c.(syscall.Conn)
	if !ok {
		return 0, errors.New("no socket to ask")
	}
	return kernel.SocketMTU(sc, p.dst.Is6())
}

func addrOf(a net.Addr) netip.Addr {
	if ip, ok := a.(*net.IPAddr); ok {
		if x, ok := netip.AddrFromSlice(ip.IP); ok {
			return x.Unmap()
		}
	}
	return netip.Addr{}
}

// ping sends one echo request from the check's node to its target,
// carrying the check's token, and waits for the reply up to ctx's
// deadline. For a check with To, the reply alone is not enough: the
// watcher in To (the check's responder) must have seen the request, which
// also tells the source it saw.
func (p *probe) ping(ctx context.Context) outcome {
	c := p.check
	pg, err := NewPinger(p.ns, p.labName, c.From, p.dst)
	if err != nil {
		return outcome{err: err}
	}
	defer pg.Close()
	if p.localPort != 0 {
		pg.id = p.localPort // the identifier a trace follows
	}
	e, err := p.echoes(ctx, pg)
	var ee *EchoError
	switch {
	case errors.As(err, &ee):
		return outcome{reason: ee.Reason, cause: ee.Err}
	case err != nil:
		return outcome{reason: fmt.Sprintf("%s: %v", ReasonTimeout, err)}
	}
	if c.To == "" {
		return outcome{reached: true, rtt: e.RTT}
	}
	// The request was in the watcher's socket before the reply left; the
	// wait covers only the watcher's goroutine being slow to read it, so
	// it need not be long unless the check's timeout leaves more.
	wait := 200 * time.Millisecond
	if d, ok := ctx.Deadline(); ok && time.Until(d) > wait {
		wait = time.Until(d)
	}
	seen, ok := p.ts.wait(p.tok, wait)
	if !ok {
		if landed, ok := p.ts.landed(p.tok); ok {
			return outcome{reason: strayReason(p.want, landed)}
		}
		return outcome{reason: fmt.Sprintf("%s: %s answered, but node %s never saw the request (a NAT rule or the address sends it elsewhere)",
			ReasonElsewhere, e.From, c.To)}
	}
	return outcome{reached: true, rtt: e.RTT, seen: seen}
}

// echoInterval is how long a ping check waits for an echo's reply before
// it sends the next, as ping(8) does by default.
const echoInterval = time.Second

// echoes sends the check's echo request, and sends it again every
// echoInterval, with the next sequence number and the same token, until
// one is answered, an ICMP error or the kernel says why it cannot be, or
// the check's timeout passes: one request lost on a busy machine (a full
// backlog) or a lossy link does not fail a check whose way works. A
// check whose timeout is no longer than echoInterval (the default, 1s)
// sends one, and so does a path check, whose trace follows one request.
func (p *probe) echoes(ctx context.Context, pg *Pinger) (Echo, error) {
	c := p.check
	data := echoPayload(p.tok)
	if c.IsPath() || c.Timeout <= echoInterval {
		return pg.echo(ctx, 1, c.Timeout, data)
	}
	deadline := time.Now().Add(c.Timeout)
	for seq := uint16(1); ; seq++ {
		e, err := pg.echo(ctx, seq, min(echoInterval, time.Until(deadline)), data)
		var ee *EchoError
		timedOut := errors.As(err, &ee) && ee.Err == nil && !ee.From.IsValid() && strings.HasPrefix(ee.Reason, ReasonTimeout)
		switch {
		case !timedOut:
			return e, err
		case time.Until(deadline) <= 0 || ctx.Err() != nil:
			// Said for the whole timeout, not the last wait.
			ee.Reason = timeoutReason(p.ns, p.labName, c.From, p.dst, c.Timeout)
			return e, err
		}
	}
}

// echoPayload is the data of a check's echo request: its token, padded to
// ping's 56 bytes.
func echoPayload(t token) []byte {
	data := make([]byte, EchoPayloadBytes)
	copy(data, t[:])
	return data
}
