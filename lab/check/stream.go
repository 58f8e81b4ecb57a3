package check

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// stream connects (tcp) or sends datagrams (udp) from the check's node to
// its target, and reads the responder's answer, within ctx's deadline.
func (p *probe) stream(ctx context.Context) outcome {
	c := p.check
	dst := netip.AddrPortFrom(p.dst, p.port)
	line := probeLine(p.tok)
	start := time.Now()
	conn, err := p.ns.DialFromIn(ctx, netns(p.labName, c.From), c.Proto, p.localPort, dst.String())
	if err != nil {
		return p.failed(err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	var reply string
	if c.Proto == "tcp" {
		if _, err := io.WriteString(conn, line+"\n"); err != nil {
			return p.failed(err)
		}
		reply, err = bufio.NewReader(io.LimitReader(conn, 256)).ReadString('\n')
		if err != nil {
			return p.unanswered(dst, err)
		}
	} else {
		reply, err = p.udpExchange(conn, line, deadline)
		if err != nil {
			return p.failed(err)
		}
	}
	seen, ok := parseAnswer(line, reply)
	if !ok {
		return outcome{reason: fmt.Sprintf("%s: %s answered %q, not this check's answer (another program listens there, or a NAT rule sends the probe to one)",
			ReasonNotNetlab, dst, strings.TrimSpace(reply))}
	}
	return outcome{reached: true, rtt: time.Since(start), seen: seen}
}

// errStray ends a UDP exchange whose probe reached another check's
// responder, which will never answer it.
var errStray = errors.New("the probe reached another check's responder")

// udpExchange sends the probe every 200 ms (a datagram may be lost, as
// the first is while ARP resolves) until the answer comes, the deadline
// passes, or the probe is known to have reached another check's
// responder.
func (p *probe) udpExchange(c net.Conn, line string, deadline time.Time) (string, error) {
	buf := make([]byte, 1500)
	for {
		if _, err := c.Write([]byte(line)); err != nil {
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
				if _, stray := p.ts.landed(p.tok); stray {
					return "", errStray
				}
				if !deadline.IsZero() && !time.Now().Before(deadline) {
					return "", err
				}
				break // send again
			}
			if err != nil {
				return "", err
			}
			if s := string(buf[:n]); strings.HasPrefix(s, line+" ") {
				return s, nil
			}
		}
	}
}

// unanswered is the outcome of a TCP probe that connected but got no
// answer: it reached another check's responder, or something that is not
// netlab's.
func (p *probe) unanswered(dst netip.AddrPort, err error) outcome {
	if landed, ok := p.ts.landed(p.tok); ok {
		return outcome{reason: strayReason(p.want, landed)}
	}
	switch {
	case isTimeout(err):
		return outcome{reason: fmt.Sprintf("%s: connected to %s, but no answer came within %s (another program listens there, or a NAT rule sends the probe to one)",
			ReasonNotNetlab, dst, p.check.Timeout)}
	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET):
		return outcome{reason: fmt.Sprintf("%s: connected to %s, but it closed the connection without this check's answer (another program listens there, or a NAT rule sends the probe to one)",
			ReasonNotNetlab, dst)}
	}
	return p.failed(err)
}

// failed is the outcome of a probe that got no answer, with the reason
// the kernel's error, or after a timeout the source node's view, gives.
func (p *probe) failed(err error) outcome {
	c := p.check
	switch {
	case errors.Is(err, errStray):
		landed, _ := p.ts.landed(p.tok)
		return outcome{reason: strayReason(p.want, landed)}
	case isTimeout(err):
		return outcome{reason: timeoutReason(p.ns, p.labName, c.From, p.dst, c.Timeout)}
	}
	return outcome{reason: classify(p.ns, p.labName, c.From, p.dst, err), cause: err}
}
