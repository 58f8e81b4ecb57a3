package check_test

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"netlab/lab/check"
)

// TestChecksRunConcurrentlyFake: eight checks that each wait out their
// timeout (an address nobody holds, so ARP gets no reply) take about one
// timeout together, not eight, and each says ARP got no reply.
func TestChecksRunConcurrentlyFake(t *testing.T) {
	t.Parallel()
	var extra []string
	for _, a := range []string{"99", "98", "97", "96"} {
		extra = append(extra, "{from: c1, ping: 192.168.31."+a+", expect: fail, timeout: 300ms}",
			"{from: c1, to: c2, address: 192.168.31."+a+", proto: udp, expect: fail, timeout: 300ms}")
	}
	l := routedLab(t, extra...)
	start := time.Now()
	res := check.Run(context.Background(), fakeNet(l), l, l.Checks)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("%d checks of 300ms took %s: they did not run at once", len(res), d)
	}
	for _, r := range res {
		if !r.Passed || !strings.HasPrefix(r.Reason, "no ARP reply") {
			t.Errorf("%s: passed=%v reason %q, want a pass with no ARP reply", r.Name, r.Passed, r.Reason)
		}
	}
}

// TestNoLeakFake: after Run, every goroutine it and its responders
// started has ended, timeouts included.
func TestNoLeakFake(t *testing.T) {
	l := routedLab(t,
		"{from: c1, ping: 192.168.31.99, expect: fail, timeout: 200ms}",
		"{from: c1, to: server, proto: tcp, port: 8080}",
		"{from: c1, to: server, proto: udp, port: 8080}",
		"{from: c1, to: server, proto: icmp}",
		"{from: c1, to: server, proto: udp, port: 9, address: 192.168.31.98, expect: fail, timeout: 200ms}",
	)
	n := fakeNet(l)
	check.Run(context.Background(), n, l, l.Checks) // warm up
	before := runtime.NumGoroutine()
	for _, r := range check.Run(context.Background(), n, l, l.Checks) {
		if !r.Passed {
			t.Errorf("%s: %s", r.Name, r.Detail())
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines after the checks, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}
