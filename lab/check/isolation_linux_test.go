package check_test

import (
	"strings"
	"testing"
	"time"

	"netlab/lab"
	"netlab/lab/check"
	"netlab/lab/kernel/kerneltest"
)

// TestChecksDoNotAnswerEachOther runs, 20 times over, a lab whose host
// publishes its port 80 (tcp and udp) on web's port 8080, with a check
// to web's port 80 through the published port that must fail (nothing
// of that check listens where the DNAT sends it) beside a direct check
// to web's port 8080. The direct check's responder sees the first
// check's probe arrive; it must not answer it, so every run gives the
// same, right, result. An ICMP check to web through the host's address,
// which the host answers itself, must not count as reaching web either.
// It runs on the fake network and, as root, on the real kernel.
func TestChecksDoNotAnswerEachOther(t *testing.T) {
	t.Parallel()
	onBothNets(t, testChecksDoNotAnswerEachOther)
}

func testChecksDoNotAnswerEachOther(t *testing.T, n *network) {
	name := kerneltest.LabName(t)
	l := parseLab(t, `name: `+name+`
nodes:
  host:
    sysctls: {net.ipv4.ip_forward: 1}
    interfaces:
      eth0: {addresses: [198.51.100.6/24]}
      eth1: {addresses: [10.6.0.1/24]}
    nat:
      - {action: dnat, in: eth0, proto: tcp, dport: 80, to: "10.6.0.10:8080"}
      - {action: dnat, in: eth0, proto: udp, dport: 80, to: "10.6.0.10:8080"}
  web:
    interfaces:
      eth0: {addresses: [10.6.0.10/24]}
    routes: [{to: default, via: 10.6.0.1}]
  client:
    interfaces:
      eth0: {addresses: [198.51.100.20/24]}
links:
  - [client:eth0, host:eth0]
  - [host:eth1, web:eth0]
checks:
  - {from: client, to: web, address: 198.51.100.6, proto: tcp, port: 80, expect: fail}
  - {from: host, to: web, proto: tcp, port: 8080}
  - {from: client, to: web, address: 198.51.100.6, proto: udp, port: 80, expect: fail, timeout: 500ms}
  - {from: host, to: web, proto: udp, port: 8080}
  - {from: client, to: web, address: 198.51.100.6, expect: fail, timeout: 500ms}
  - {from: host, to: web}
`)
	n.up(t, l)
	// fakeReason is the reason the fake network gives, where each stray
	// probe says where it went.
	want := []struct {
		name       string
		reached    bool
		fakeReason string
	}{
		{"client -> web tcp/80 (198.51.100.6)", false, "went elsewhere: reached web tcp/8080, another check's responder, not web tcp/80 (a NAT rule or the address sends it there)"},
		{"host -> web tcp/8080 (10.6.0.10)", true, ""},
		{"client -> web udp/80 (198.51.100.6)", false, "went elsewhere: reached web udp/8080, another check's responder, not web udp/80 (a NAT rule or the address sends it there)"},
		{"host -> web udp/8080 (10.6.0.10)", true, ""},
		{"client -> web icmp (198.51.100.6)", false, "went elsewhere: 198.51.100.6 answered, but node web never saw the request (a NAT rule or the address sends it elsewhere)"},
		{"host -> web icmp (10.6.0.10)", true, ""},
	}
	start := time.Now()
	wrong := 0
	var first []check.Result
	for run := 1; run <= 20; run++ {
		res := check.Run(t.Context(), n.netns(), l, l.Checks)
		if first == nil {
			first = res
			for _, r := range res {
				t.Logf("run 1: %-40s passed=%v reached=%v %s", r.Name, r.Passed, r.Reached, r.Detail())
			}
		}
		for i, r := range res {
			if r.Name != want[i].name || r.Reached != want[i].reached || !r.Passed {
				wrong++
				t.Errorf("run %d: %s: passed=%v reached=%v (%s), want a pass with reached=%v", run, r.Name, r.Passed, r.Reached, r.Detail(), want[i].reached)
			} else if r.Reason != first[i].Reason {
				wrong++
				t.Errorf("run %d: %s: reason %q, run 1 said %q", run, r.Name, r.Reason, first[i].Reason)
			} else if n.fake != nil && r.Reason != want[i].fakeReason {
				wrong++
				t.Errorf("run %d: %s: reason %q, want %q", run, r.Name, r.Reason, want[i].fakeReason)
			}
		}
		if time.Since(start) > 45*time.Second {
			t.Fatalf("20 runs took more than 45s (at run %d)", run)
		}
	}
	t.Logf("20 runs in %s, %d wrong results", time.Since(start).Round(time.Millisecond), wrong)
}

// listenLab is a host that publishes web's tcp port 80 on its own 8080 and
// web's udp port 53 on its 5353, with checks that dial the published ports
// and listen on web's; without dnat, the same lab with no DNAT rules.
func listenLab(t *testing.T, name string, dnat bool) *lab.Lab {
	t.Helper()
	nat := `
    nat:
      - {action: dnat, in: eth0, proto: tcp, dport: 8080, to: "10.6.0.10:80"}
      - {action: dnat, in: eth0, proto: udp, dport: 5353, to: "10.6.0.10:53"}`
	if !dnat {
		nat = ""
	}
	return parseLab(t, `name: `+name+`
nodes:
  host:
    sysctls: {net.ipv4.ip_forward: 1}
    interfaces:
      eth0: {addresses: [198.51.100.6/24]}
      eth1: {addresses: [10.6.0.1/24]}`+nat+`
  web:
    interfaces:
      eth0: {addresses: [10.6.0.10/24]}
    routes: [{to: default, via: 10.6.0.1}]
  client:
    interfaces:
      eth0: {addresses: [198.51.100.20/24]}
links:
  - [client:eth0, host:eth0]
  - [host:eth1, web:eth0]
checks:
  - {from: client, to: web, address: 198.51.100.6, proto: tcp, port: 8080, listen: 80, seen-source: 198.51.100.20}
  - {from: client, to: web, address: 198.51.100.6, proto: udp, port: 5353, listen: 53, seen-source: 198.51.100.20}
`)
}

// TestListenChecksDNAT: a check that dials the host's published port and
// listens on web's own port passes through the DNAT rule, and fails once
// the rule is gone from the file and up has removed it. It runs on the
// fake network and, as root, on the real kernel.
func TestListenChecksDNAT(t *testing.T) {
	t.Parallel()
	onBothNets(t, testListenChecksDNAT)
}

func testListenChecksDNAT(t *testing.T, n *network) {
	name := kerneltest.LabName(t)
	with := listenLab(t, name, true)
	n.up(t, with)
	names := []string{"client -> web tcp/8080->80 (198.51.100.6)", "client -> web udp/5353->53 (198.51.100.6)"}
	for i, r := range n.run(t, with) {
		if r.Name != names[i] || !r.Passed || !r.Reached || r.Seen.String() != "198.51.100.20" {
			t.Errorf("with the DNAT rule: %s: passed=%v reached=%v seen %v (%s), want %s to pass, seeing 198.51.100.20", r.Name, r.Passed, r.Reached, r.Seen, r.Detail(), names[i])
		}
	}
	without := listenLab(t, name, false)
	n.upEdited(t, without)
	for _, r := range n.run(t, without) {
		if r.Passed || r.Reached || !strings.HasPrefix(r.Reason, check.ReasonRefused) {
			t.Errorf("without the DNAT rule: %s: passed=%v reached=%v (%s), want a failure: refused", r.Name, r.Passed, r.Reached, r.Detail())
		}
	}
}
