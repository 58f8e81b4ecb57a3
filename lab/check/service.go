package check

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"netlab/lab"
)

// Checks that talk to real services: connect opens a TCP connection to
// whatever listens at an address and port, http GETs a URL. Neither
// starts a responder; both go out from inside the check's node, as the
// probes of the other checks do.

// connect opens a TCP connection from the check's node and closes it at
// once: the check passes when something accepted it.
func (p *probe) connect(ctx context.Context) outcome {
	start := time.Now()
	conn, err := p.ns.DialFromIn(ctx, netns(p.labName, p.check.From), "tcp", p.localPort, netip.AddrPortFrom(p.dst, p.port).String())
	if err != nil {
		return p.failed(err)
	}
	rtt := time.Since(start)
	conn.Close()
	return outcome{reached: true, rtt: rtt}
}

// get GETs the check's URL from the check's node: it passes on a 2xx or
// 3xx status. A redirect is not followed (a 3xx is the answer), no proxy
// from the environment is used, and the connection goes to the address
// Target gave, whatever name the URL holds.
func (p *probe) get(ctx context.Context) outcome {
	c := p.check
	dst := netip.AddrPortFrom(p.dst, p.port)
	var connected atomic.Bool // set by the transport's goroutine
	client := &http.Client{
		Transport: &http.Transport{
			Proxy: nil,
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				conn, err := p.ns.DialIn(ctx, netns(p.labName, c.From), network, dst.String())
				connected.Store(err == nil)
				return conn, err
			},
			DisableKeepAlives: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.HTTP, nil)
	if err != nil {
		return outcome{err: fmt.Errorf("http %s: %w", c.HTTP, err)} // validated: does not happen
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // the cause, without Go's `Get "URL": ` in front
		}
		if connected.Load() && isTimeout(err) {
			return outcome{reason: fmt.Sprintf("%s after %s: connected to %s, but no HTTP answer came", ReasonTimeout, c.Timeout, dst)}
		}
		return p.failed(err)
	}
	rtt := time.Since(start)
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 399 {
		return outcome{status: resp.StatusCode, reason: fmt.Sprintf("%s: %s answered %s (a check wants 2xx or 3xx)", ReasonStatus, dst, resp.Status)}
	}
	return outcome{reached: true, rtt: rtt, status: resp.StatusCode}
}

// httpTarget is the address an http check connects to: the URL's host
// when it is an IP, else the address the name stands for first in the
// lab's hosts files (a node's first address, an interface's).
func httpTarget(l *lab.Lab, rawURL string) (netip.Addr, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("http %q: %w", rawURL, err)
	}
	host := u.Hostname()
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Unmap(), nil
	}
	if a, ok := l.HostAddr(host); ok {
		return a, nil
	}
	return netip.Addr{}, fmt.Errorf("http host %q is neither an IP address nor a name of the lab's hosts files", host)
}

// httpPort is the port of an http check's URL: its own, or the scheme's.
func httpPort(rawURL string) uint16 {
	u, err := url.Parse(rawURL)
	if err != nil {
		return 0
	}
	if n, err := strconv.ParseUint(u.Port(), 10, 16); err == nil {
		return uint16(n)
	}
	if u.Scheme == "https" {
		return 443
	}
	return 80
}
