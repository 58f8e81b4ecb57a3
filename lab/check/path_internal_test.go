package check

import (
	"testing"

	"netlab/lab"
	"netlab/lab/trace"
)

// These tests need no kernel: how a path check judges the path a trace
// saw.

func TestPathDiffNamesEachDifference(t *testing.T) {
	snatViaHost := trace.Path{From: "c2", To: "server", Proto: "udp", Via: []string{"host"}, NAT: "snat", End: "delivered"}
	droppedAtHost := trace.Path{From: "c2", To: "server", Proto: "udp", Via: []string{"host"}, NAT: "none", End: "dropped", DroppedAt: "host"}
	for _, tc := range []struct {
		name  string
		check lab.Check
		got   trace.Path
		want  string
	}{
		{"all agree", lab.Check{Via: []string{"host"}, ViaGiven: true, NAT: "snat"}, snatViaHost, ""},
		{"one more router", lab.Check{Via: []string{"host"}, ViaGiven: true},
			trace.Path{Via: []string{"host", "router"}, NAT: "none", End: "delivered"}, "path via host, router; want via host"},
		{"direct wanted", lab.Check{ViaGiven: true}, snatViaHost, "path via host; want direct"},
		{"via not asserted", lab.Check{NAT: "snat"}, trace.Path{Via: []string{"x", "y"}, NAT: "snat"}, ""},
		{"no nat", lab.Check{NAT: "snat"}, droppedAtHost, "path nat none; want nat snat"},
		{"dropped where wanted", lab.Check{DroppedAt: "host", Expect: lab.ExpectFail}, droppedAtHost, ""},
		{"dropped elsewhere", lab.Check{DroppedAt: "router", Expect: lab.ExpectFail}, droppedAtHost, "path dropped at host; want dropped at router"},
		{"not dropped", lab.Check{DroppedAt: "host", Expect: lab.ExpectFail}, snatViaHost, "path not dropped (delivered); want dropped at host"},
		{"two differences", lab.Check{Via: []string{"router"}, ViaGiven: true, NAT: "dnat"}, snatViaHost,
			"path via host; want via router / path nat snat; want nat dnat"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := pathDiff(&tc.check, tc.got); got != tc.want {
				t.Errorf("pathDiff = %q, want %q", got, tc.want)
			}
		})
	}
}

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
