package main

import (
	"testing"

	"netlab/lab"
	"netlab/lab/check"
)

// TestCheckReportListen: -o json gives the responder's port as listen
// when a check's listen differs from its port, and leaves it out
// otherwise.
func TestCheckReportListen(t *testing.T) {
	l := &lab.Lab{Name: "t"}
	res := []check.Result{
		{Check: &lab.Check{From: "client", To: "web", Proto: "tcp", Port: 8080, Listen: 80, Expect: lab.ExpectOK}},
		{Check: &lab.Check{From: "client", To: "web", Proto: "udp", Port: 53, Expect: lab.ExpectOK}},
		{Check: &lab.Check{From: "client", To: "web", Proto: "tcp", Port: 80, Listen: 80, Expect: lab.ExpectOK}},
	}
	rep := checkReport(l, res)
	for i, want := range [][2]int{{8080, 80}, {53, 0}, {80, 0}} {
		if got := rep.Checks[i]; got.Port != want[0] || got.Listen != want[1] {
			t.Errorf("check %d: port %d listen %d, want port %d listen %d", i, got.Port, got.Listen, want[0], want[1])
		}
	}
}
