package check_test

import (
	"testing"

	"netlab/lab/kernel/kerneltest"
	"netlab/lab/trace"
)

// TestTraceSingleIPBridgedTCP traces a TCP probe between two containers
// of the single-ip lab's bridge: each way crosses the host's bridge once
// (its first packet, not the handshake's and the close's after it).
func TestTraceSingleIPBridgedTCP(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	l := shippedLab(t, "single-ip.yaml")
	upWithLogs(t, l)
	res, r := traceRecorded(t, l, "{from: c1, to: c2, proto: tcp, port: 80}", "kernel-single-ip-bridged-tcp")
	if !r.Passed {
		t.Errorf("probe: %s", r.Detail())
	}
	for _, w := range []struct {
		name string
		way  *trace.Way
	}{{"request", res.Request}, {"answer", res.Answer}} {
		if w.way == nil {
			t.Fatalf("no %s", w.name)
		}
		for _, hook := range []string{"prerouting", "forward", "postrouting"} {
			if n := countSteps(w.way, "host", "bridge", hook); n != 1 {
				t.Errorf("%s: %d bridge %s steps at host, want 1", w.name, n, hook)
			}
		}
	}
}

// TestTraceSingleIPNoRoute: a ping from c2 to an address the host has no
// route to crosses the host's bridge up to br0 (the bridge's input
// after the inet prerouting br_netfilter ran) and ends at the host's
// routing failure; the answer is the host's ICMP net unreachable.
func TestTraceSingleIPNoRoute(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	l := shippedLab(t, "single-ip.yaml")
	upWithLogs(t, l)
	res, _ := traceRecorded(t, l, "{from: c2, ping: 203.0.113.99, expect: fail}", "kernel-single-ip-no-route")
	if e := res.Request.End; e.What != "no-route" || e.Node != "host" {
		t.Errorf("request ends %+v, want no-route at host", e)
	}
	if res.Answer == nil || res.Answer.End.What != "delivered" || res.Answer.End.Node != "c2" {
		t.Errorf("answer %+v, want the host's ICMP error delivered to c2", res.Answer)
	}
}

// TestTraceRouterNoRoute: the same on a plain router with no bridge.
func TestTraceRouterNoRoute(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	l := newFirewallLab(t)
	upWithLogs(t, l)
	res, _ := traceRecorded(t, l, "{from: a, ping: 198.51.100.99, expect: fail}", "kernel-router-no-route")
	if e := res.Request.End; e.What != "no-route" || e.Node != "r" {
		t.Errorf("request ends %+v, want no-route at r", e)
	}
	if res.Answer == nil || res.Answer.End.What != "delivered" || res.Answer.End.Node != "a" {
		t.Errorf("answer %+v, want r's ICMP error delivered to a", res.Answer)
	}
}
