package check

import (
	"testing"
	"time"

	"netlab/lab"
	"netlab/lab/trace"
)

// These tests need no kernel: how a path check judges the path a trace
// saw.

func TestJudgePathFailsAProbeThatGotThroughTheWrongWay(t *testing.T) {
	c := &lab.Check{From: "c2", To: "server", Expect: lab.ExpectOK, Via: []string{"router"}, ViaGiven: true}
	r := judgePath(Result{Check: c, Passed: true, Reached: true}, trace.Path{Via: []string{"host"}, End: "delivered"})
	if r.Passed {
		t.Error("a probe that went via host passed a check that wants it via router")
	}
	if want := "path via host; want via router"; r.PathReason != want || r.Detail() != want {
		t.Errorf("reason %q, detail %q, want %q", r.PathReason, r.Detail(), want)
	}
	if r.Path == nil || r.Path.Via[0] != "host" {
		t.Errorf("result's path %+v, want the one the trace saw", r.Path)
	}

	ok := judgePath(Result{Check: c, Passed: true, Reached: true}, trace.Path{Via: []string{"router"}, End: "delivered"})
	if !ok.Passed || ok.PathReason != "" {
		t.Errorf("the right path: passed %v, reason %q", ok.Passed, ok.PathReason)
	}
}

func TestJudgePathKeepsTheProbesReason(t *testing.T) {
	c := &lab.Check{From: "c2", To: "server", Expect: lab.ExpectFail, DroppedAt: "router"}
	// Blocked, as expected, but at another node than the one asserted.
	r := judgePath(Result{Check: c, Passed: true, Reason: "timed out after 1s"}, trace.Path{End: "dropped", DroppedAt: "host"})
	if r.Passed {
		t.Error("dropped at host passed a check that wants it dropped at router")
	}
	if want := "path dropped at host; want dropped at router"; r.Detail() != want {
		t.Errorf("detail %q, want %q (not \"blocked as expected\")", r.Detail(), want)
	}
	c2 := &lab.Check{From: "c2", To: "server", Expect: lab.ExpectOK, NAT: "snat"}
	r = judgePath(Result{Check: c2, Reason: "no route to 198.51.100.10 from node c2"}, trace.Path{NAT: "none", End: "no-route"})
	if want := "no route to 198.51.100.10 from node c2 / path nat none; want nat snat"; r.Detail() != want {
		t.Errorf("detail %q, want %q", r.Detail(), want)
	}
}

// TestTracedReasonOfARefusal: a connection refused by a reject rule on
// the way says where, from the trace, not "refused by" the target; one
// the target itself refused keeps its reason.
func TestTracedReasonOfARefusal(t *testing.T) {
	refused := Result{Check: &lab.Check{From: "a"}, Reason: "refused by 203.0.113.20 (nothing listens there, or a firewall rejects)"}
	res := &trace.Result{Request: &trace.Way{End: trace.End{What: "dropped", Node: "r", Hook: "forward", Rule: "tcp dport 25 counter reject"}}}
	if got, want := tracedReason(refused, res), "refused: the trace shows it dropped at r forward by rule tcp dport 25 counter reject"; got != want {
		t.Errorf("reason %q, want %q", got, want)
	}
	res.Request.End = trace.End{What: "delivered", Node: "b"}
	if got := tracedReason(refused, res); got != refused.Reason {
		t.Errorf("refused by the target itself: %q, want %q", got, refused.Reason)
	}
}

// TestTracedReasonOfALoss: a timeout whose request the trace saw lost on
// the way says where and why; one lost at its source keeps the
// probe's own reason.
func TestTracedReasonOfALoss(t *testing.T) {
	timedOut := Result{Check: &lab.Check{From: "client", Timeout: time.Second}, Reason: "timed out after 1s (node client sends it via 10.3.0.1 dev eth0; dropped further on, or no way back)"}
	lost := trace.End{What: "lost", Node: "router", Hook: "prerouting", Reason: "not routed after prerouting: forwarding is off (net.ipv4.ip_forward = 0)"}
	res := &trace.Result{Request: &trace.Way{End: lost}}
	want := "timed out after 1s: the trace shows it lost after router prerouting: not routed after prerouting: forwarding is off (net.ipv4.ip_forward = 0)"
	if got := tracedReason(timedOut, res); got != want {
		t.Errorf("reason %q, want %q", got, want)
	}
	res.Request.End = trace.End{What: "lost", Node: "client", Hook: "postrouting", Reason: "left by eth0, seen nowhere after"}
	if got := tracedReason(timedOut, res); got != timedOut.Reason {
		t.Errorf("lost at the source: %q, want the probe's own %q", got, timedOut.Reason)
	}
}

// TestTracedReasonOfALostAnswer: a timeout whose request arrived and
// whose answer the trace saw lost (a wrong gateway: no neighbour
// answer) says so; the probe's own guess is about the request.
func TestTracedReasonOfALostAnswer(t *testing.T) {
	timedOut := Result{Check: &lab.Check{From: "printer", Timeout: time.Second}, Reason: "timed out after 1s (node printer sends it via 10.9.2.1 dev eth0; dropped further on, or no way back)"}
	res := &trace.Result{
		Request: &trace.Way{End: trace.End{What: "delivered", Node: "laptop"}},
		Answer:  &trace.Way{End: trace.End{What: "lost", Node: "laptop", Hook: "postrouting", Reason: "left by eth0, no neighbour answer from 10.9.1.254 (incomplete)"}},
	}
	want := "timed out after 1s: the trace shows the answer lost after laptop postrouting: left by eth0, no neighbour answer from 10.9.1.254 (incomplete)"
	if got := tracedReason(timedOut, res); got != want {
		t.Errorf("reason %q, want %q", got, want)
	}
}

// TestTracedReasonOfARefusalAfterADNAT: a connection to a published
// port refused where the DNAT took it (exercise 06: published to a port
// where nothing listens) names that node and address, not the
// published address.
func TestTracedReasonOfARefusalAfterADNAT(t *testing.T) {
	refused := Result{Check: &lab.Check{From: "client"}, Reason: "refused by 198.51.100.6 (nothing listens there, or a firewall rejects)"}
	res := &trace.Result{Request: &trace.Way{
		Steps: []trace.Step{{Node: "host", Hook: "prerouting", Before: &trace.Addrs{Src: "198.51.100.20:61000", Dst: "198.51.100.6:80"}, After: &trace.Addrs{Src: "198.51.100.20:61000", Dst: "172.16.6.10:8080"}}},
		End:   trace.End{What: "delivered", Node: "web"},
	}}
	want := "refused by web at 172.16.6.10:8080, where the trace shows it delivered after a DNAT (nothing listens there, or a firewall rejects)"
	if got := tracedReason(refused, res); got != want {
		t.Errorf("reason %q, want %q", got, want)
	}
}
