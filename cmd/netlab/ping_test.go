package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"netlab/lab/kernel/kerneltest"
)

// pingNet is a fake network of lab p: c1 (192.0.2.10) and server
// (192.0.2.20) on one subnet.
func pingNet() *kerneltest.Net {
	n := kerneltest.NewNet()
	n.AddNetNS("p.c1", netip.MustParsePrefix("192.0.2.10/24"))
	n.AddNetNS("p.server", netip.MustParsePrefix("192.0.2.20/24"))
	return n
}

// TestPingStatistics pings through the fake network: every reply is
// printed as ping(8) prints it, and the summary counts them; the JSON
// report carries the same numbers.
func TestPingStatistics(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	e := &env{stdout: &out, stderr: &out}
	err := runPing(context.Background(), e, pingNet(), "p", "c1", netip.MustParseAddr("192.0.2.20"), pingOptions{count: 3, interval: time.Millisecond, wait: time.Second, size: 56, json: false})
	if err != nil {
		t.Fatalf("runPing: %v\n%s", err, out.String())
	}
	want := regexp.MustCompile(`^PING 192\.0\.2\.20 from node c1: 56 data bytes
64 bytes from 192\.0\.2\.20: icmp_seq=1 time=\d+\.\d{3} ms
64 bytes from 192\.0\.2\.20: icmp_seq=2 time=\d+\.\d{3} ms
64 bytes from 192\.0\.2\.20: icmp_seq=3 time=\d+\.\d{3} ms

--- 192\.0\.2\.20 ping statistics \(from node c1\) ---
3 packets transmitted, 3 received, 0% packet loss, time \d+ms
rtt min/avg/max/mdev = \d+\.\d{3}/\d+\.\d{3}/\d+\.\d{3}/\d+\.\d{3} ms
$`)
	if !want.MatchString(out.String()) {
		t.Errorf("output:\n%s\nwant it to match\n%s", out.String(), want)
	}

	out.Reset()
	if err := runPing(context.Background(), e, pingNet(), "p", "c1", netip.MustParseAddr("192.0.2.20"), pingOptions{count: 2, interval: time.Millisecond, wait: time.Second, size: 56, json: true}); err != nil {
		t.Fatal(err)
	}
	var sum pingSummary
	if err := json.Unmarshal(out.Bytes(), &sum); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if sum.Transmitted != 2 || sum.Received != 2 || sum.LossPercent != 0 || len(sum.Replies) != 2 ||
		sum.Replies[1].Seq != 2 || sum.Replies[1].From != "192.0.2.20" || sum.MinMs > sum.AvgMs || sum.AvgMs > sum.MaxMs {
		t.Errorf("summary %+v", sum)
	}
}

// TestPingLoss: requests that get no reply say why, count as lost, and
// a ping with no reply at all exits 1.
func TestPingLoss(t *testing.T) {
	t.Parallel()
	n := pingNet()
	n.Drop("", netip.MustParseAddrPort("192.0.2.20:0"))
	var out bytes.Buffer
	e := &env{stdout: &out, stderr: &out}
	err := runPing(context.Background(), e, n, "p", "c1", netip.MustParseAddr("192.0.2.20"), pingOptions{count: 2, interval: time.Millisecond, wait: 50 * time.Millisecond, size: 56, json: false})
	var ec *exitCode
	if !errors.As(err, &ec) || ec.code != exitFailure {
		t.Errorf("runPing with no reply: %v, want exit %d", err, exitFailure)
	}
	for _, line := range []string{
		"icmp_seq=1 timed out after 50ms (node c1 sends it on-link on eth0; dropped further on, or no way back)\n",
		"icmp_seq=2 timed out after 50ms",
		"2 packets transmitted, 0 received, 100% packet loss",
	} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("output:\n%s\nwant a line %q", out.String(), line)
		}
	}
	if strings.Contains(out.String(), "rtt min/avg/max") {
		t.Errorf("output has rtt statistics without a reply:\n%s", out.String())
	}

	out.Reset()
	err = runPing(context.Background(), e, n, "p", "c1", netip.MustParseAddr("198.51.100.1"), pingOptions{count: 1, interval: time.Millisecond, wait: 50 * time.Millisecond, size: 56, json: false})
	if !strings.Contains(out.String(), "icmp_seq=1 no route to 198.51.100.1 from node c1\n") || err == nil {
		t.Errorf("ping without a route: %v\n%s", err, out.String())
	}
}

// TestPingNotRunning: a node that is not running is an error, before any
// request.
func TestPingNotRunning(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	err := runPing(context.Background(), &env{stdout: &out, stderr: &out}, pingNet(), "p", "gone", netip.MustParseAddr("192.0.2.20"), pingOptions{count: 1, interval: time.Millisecond, wait: time.Second, size: 56, json: false})
	if err == nil || !strings.Contains(err.Error(), "node gone is not running") || out.Len() != 0 {
		t.Errorf("runPing from a node not running: %v, output %q", err, out.String())
	}
}

// TestPingUntilInterrupted: with -c 0, ping runs until Ctrl-C (its ctx
// ends); the request cut short does not count, and the summary follows.
func TestPingUntilInterrupted(t *testing.T) {
	t.Parallel()
	n := pingNet()
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	if err := runPing(ctx, &env{stdout: &out, stderr: &out}, n, "p", "c1", netip.MustParseAddr("192.0.2.20"), pingOptions{count: 0, interval: 20 * time.Millisecond, wait: time.Second, size: 56, json: true}); err != nil {
		t.Fatal(err)
	}
	var sum pingSummary
	if err := json.Unmarshal(out.Bytes(), &sum); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if sum.Transmitted < 2 || sum.Received != sum.Transmitted || len(sum.Replies) != sum.Transmitted {
		t.Errorf("after Ctrl-C: %d transmitted, %d received, %d replies; want at least 2, all answered", sum.Transmitted, sum.Received, len(sum.Replies))
	}
}
