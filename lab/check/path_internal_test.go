package check

import (
	"testing"

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
