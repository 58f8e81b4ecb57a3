package main

import (
	"net/netip"
	"testing"

	"netlab/lab"
	"netlab/lab/check"
)

// TestCheckReportPorts: -o json gives the port each check dials, the
// responder's port as listen when a check's listen differs from its port
// (and leaves it out otherwise), and an http check's URL and status.
func TestCheckReportPorts(t *testing.T) {
	l := &lab.Lab{Name: "t"}
	res := []check.Result{
		{Check: &lab.Check{From: "client", To: "web", Proto: "tcp", Port: 8080, Listen: 80, Expect: lab.ExpectOK}},
		{Check: &lab.Check{From: "client", To: "web", Proto: "udp", Port: 53, Expect: lab.ExpectOK}},
		{Check: &lab.Check{From: "client", To: "web", Proto: "tcp", Port: 80, Listen: 80, Expect: lab.ExpectOK}},
		{Check: &lab.Check{From: "client", Connect: netip.MustParseAddrPort("192.0.2.1:22"), Proto: "tcp", Expect: lab.ExpectOK}},
		{Check: &lab.Check{From: "client", HTTP: "https://web/", Proto: "tcp", Expect: lab.ExpectOK}, Status: 204},
		{Check: &lab.Check{From: "client", To: "web", Proto: "icmp", Expect: lab.ExpectOK}},
	}
	rep := checkReport(l, res)
	want := []checkJSON{
		{Port: 8080, Listen: 80},
		{Port: 53},
		{Port: 80},
		{Port: 22},
		{Port: 443, URL: "https://web/", HTTPStatus: 204},
		{},
	}
	for i, w := range want {
		got := rep.Checks[i]
		if got.Port != w.Port || got.Listen != w.Listen || got.URL != w.URL || got.HTTPStatus != w.HTTPStatus {
			t.Errorf("check %d: port %d listen %d url %q status %d, want port %d listen %d url %q status %d",
				i, got.Port, got.Listen, got.URL, got.HTTPStatus, w.Port, w.Listen, w.URL, w.HTTPStatus)
		}
	}
}
