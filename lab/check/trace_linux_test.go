package check_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"netlab/lab"
	"netlab/lab/check"
	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/plan"
	"netlab/lab/reconcile"
	"netlab/lab/state"
	"netlab/lab/trace"
	"netlab/topologies"
)

// These tests trace probes on the real kernel, through the shipped labs
// brought up under test names: what a course shows with netlab trace.

// upWithLogs brings l up as netlab up does, its processes' logs in a
// temporary directory.
func upWithLogs(t *testing.T, l *lab.Lab) {
	t.Helper()
	logs := t.TempDir()
	openLog := func(node, proc string) (*os.File, error) {
		return os.OpenFile(filepath.Join(logs, node+"."+proc+".log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	}
	k := kernel.NewLinux()
	defer k.Close()
	if _, err := reconcile.Up(context.Background(), k, l, reconcile.Options{OpenLog: openLog}); err != nil {
		t.Fatalf("up: %v", err)
	}
}

// observed reads the running lab as netlab trace does, its rules named
// after the file's.
func observed(t *testing.T, l *lab.Lab) *state.State {
	t.Helper()
	k := kernel.NewLinux()
	defer k.Close()
	desired := plan.Desired(l)
	s, err := reconcile.Observe(context.Background(), k, l.Name, desired, nil)
	if err != nil {
		t.Fatal(err)
	}
	reconcile.NameRules(s, l.Name, nil, desired)
	return s
}

// traceCheck traces the check text c of lab l, logging the trace.
func traceCheck(t *testing.T, l *lab.Lab, c string) (*trace.Result, check.Result) {
	t.Helper()
	ck := checkOf(t, l, c)
	k := kernel.NewLinux()
	defer k.Close()
	res, r := check.Trace(context.Background(), k, k, l, observed(t, l), ck)
	if r.Err != nil {
		t.Fatalf("trace %s: %v", c, r.Err)
	}
	var b strings.Builder
	if err := res.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %s\n%s", r.Name, r.Detail(), b.String())
	return res, r
}

// checkOf parses the check text c in the context of lab l, whose
// text it is given: the lab reparsed with c appended.
func checkOf(t *testing.T, l *lab.Lab, c string) *lab.Check {
	t.Helper()
	text, ok := labTexts.Load(l.Name)
	if !ok {
		t.Fatalf("no text for lab %s", l.Name)
	}
	s := text.(string)
	if !strings.Contains(s, "\nchecks:\n") {
		s += "checks:\n"
	}
	l2 := parseLab(t, s+"  - "+c+"\n")
	return l2.Checks[len(l2.Checks)-1]
}

// labTexts keeps the text each test lab was made from, by lab name.
var labTexts sync.Map

// shippedLab is courseLab that keeps the text, for checkOf.
func shippedLab(t *testing.T, file string) *lab.Lab {
	t.Helper()
	data, err := topologies.Read(file)
	if err != nil {
		t.Fatal(err)
	}
	name := kerneltest.LabName(t)
	text := courseNameLine.ReplaceAllString(string(data), "name: "+name)
	labTexts.Store(name, text)
	return parseLab(t, text)
}

// step finds the first step of way w at node and hook (kind "hook").
func step(w *trace.Way, node, hook string) *trace.Step {
	for i := range w.Steps {
		s := &w.Steps[i]
		if s.Node == node && s.Hook == hook && s.Kind == "hook" {
			return s
		}
	}
	return nil
}

// changed finds a step of w at node and hook whose addresses changed.
func changed(w *trace.Way, node, hook string) *trace.Step {
	for i := range w.Steps {
		s := &w.Steps[i]
		if s.Node == node && s.Hook == hook && s.Before != nil && s.After != nil {
			return s
		}
	}
	return nil
}

func requireHooks(t *testing.T, w *trace.Way, what string, want [][2]string) {
	t.Helper()
	for _, nh := range want {
		if step(w, nh[0], nh[1]) == nil {
			t.Errorf("%s: no step at %s %s", what, nh[0], nh[1])
		}
	}
}

// TestTraceSingleIPMasquerade traces the UDP probe from c2 to server on
// the shipped single-ip lab: the request crosses c2's output and
// postrouting, the host's prerouting, forward and postrouting, where the
// masquerade rule changes the source to the host's 198.51.100.86, and
// server's prerouting and input; the answer comes back with the reverse
// translation (conntrack's, at the host's prerouting) to c2.
func TestTraceSingleIPMasquerade(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	l := shippedLab(t, "single-ip.yaml")
	upWithLogs(t, l)
	// The lab's own rules count only the probe's packets: a trace
	// through the bridge alone moves no counter of the masquerade rule,
	// one through the masquerade moves it by one (the new connection's
	// first packet, the one the nat chain sees).
	before := masqueradePackets(t, l)
	traceCheck(t, l, "{from: c1, to: c3}")
	if got := masqueradePackets(t, l); got != before {
		t.Errorf("a trace from c1 to c3 moved the masquerade rule's counter from %d to %d", before, got)
	}
	res, r := traceCheck(t, l, "{from: c2, to: server, proto: udp, port: 7}")
	if got := masqueradePackets(t, l); got != before+1 {
		t.Errorf("masquerade rule's counter %d after the UDP trace, want %d (the probe's first packet)", got, before+1)
	}
	if !r.Passed || r.Seen.String() != "198.51.100.86" {
		t.Errorf("probe: passed %v, seen %v: %s", r.Passed, r.Seen, r.Detail())
	}
	req := res.Request
	requireHooks(t, req, "request", [][2]string{{"c2", "output"}, {"c2", "postrouting"},
		{"host", "prerouting"}, {"host", "forward"}, {"host", "postrouting"}, {"server", "prerouting"}, {"server", "input"}})
	if req.End.What != "delivered" || req.End.Node != "server" {
		t.Errorf("request ends %+v, want delivered to server", req.End)
	}
	nat := changed(req, "host", "postrouting")
	switch {
	case nat == nil:
		t.Error("request: no address change at host postrouting")
	case !strings.Contains(nat.Rule, "masquerade") || !strings.HasPrefix(nat.Before.Src, "192.168.31.11:") || !strings.HasPrefix(nat.After.Src, "198.51.100.86:"):
		t.Errorf("host postrouting: rule %q, src %s -> %s; want the masquerade rule, 192.168.31.11 -> 198.51.100.86", nat.Rule, nat.Before.Src, nat.After.Src)
	}
	ans := res.Answer
	if ans == nil {
		t.Fatal("no answer traced")
	}
	back := changed(ans, "host", "prerouting")
	switch {
	case back == nil:
		t.Error("answer: no reverse translation at host prerouting")
	case !strings.HasPrefix(back.Before.Dst, "198.51.100.86:") || !strings.HasPrefix(back.After.Dst, "192.168.31.11:"):
		t.Errorf("answer at host prerouting: dst %s -> %s, want 198.51.100.86 -> 192.168.31.11", back.Before.Dst, back.After.Dst)
	}
	if ans.End.What != "delivered" || ans.End.Node != "c2" {
		t.Errorf("answer ends %+v, want delivered to c2", ans.End)
	}
	if p := res.Path(); p.NAT != "snat" || strings.Join(p.Via, ",") != "host" {
		t.Errorf("path %+v, want via host, nat snat", p)
	}
	noTraceTables(t, l)
}

// masqueradePackets is the packet counter of the host's masquerade rule.
func masqueradePackets(t *testing.T, l *lab.Lab) uint64 {
	t.Helper()
	host := observed(t, l).Nodes["host"]
	if host == nil || host.NFT == nil {
		t.Fatal("host has no nftables table")
	}
	for _, c := range host.NFT.Chains {
		for _, r := range c.Rules {
			if r.Action == "masquerade" {
				return r.Packets
			}
		}
	}
	t.Fatal("host has no masquerade rule")
	return 0
}

// TestTracePortPublishDNAT traces the client's TCP probe to the host's
// published port 8080 on the shipped port-publish lab: the DNAT rule at
// the host's prerouting changes the destination to c1's 172.17.0.2:8080.
func TestTracePortPublishDNAT(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	l := shippedLab(t, "port-publish.yaml")
	requirePrograms(t, l)
	upWithLogs(t, l)
	res, r := traceCheck(t, l, "{from: client, to: c1, proto: tcp, port: 8080, address: 203.0.113.10}")
	if !r.Passed {
		t.Errorf("probe: %s", r.Detail())
	}
	dnat := changed(res.Request, "host", "prerouting")
	switch {
	case dnat == nil:
		t.Fatal("request: no address change at host prerouting")
	case dnat.Before.Dst != "203.0.113.10:8080" || dnat.After.Dst != "172.17.0.2:8080" || dnat.Before.Src != dnat.After.Src:
		t.Errorf("host prerouting: %+v -> %+v, want dst 203.0.113.10:8080 -> 172.17.0.2:8080, src unchanged", *dnat.Before, *dnat.After)
	case !strings.Contains(dnat.Rule, "dnat") || dnat.Table != "nat":
		t.Errorf("host prerouting: table %q rule %q, want the nat table's dnat rule", dnat.Table, dnat.Rule)
	}
	if res.Request.End.What != "delivered" || res.Request.End.Node != "c1" {
		t.Errorf("request ends %+v, want delivered to c1", res.Request.End)
	}
	if p := res.Path(); p.NAT != "dnat" {
		t.Errorf("path %+v, want nat dnat", p)
	}
}

// firewallLab is a router r whose forward policy drops all but TCP port
// 80 between a and b.
const firewallLab = `nodes:
  a:
    interfaces:
      eth0: {addresses: [192.168.40.10/24]}
    routes: [{to: default, via: 192.168.40.1}]
  r:
    sysctls: {net.ipv4.ip_forward: 1}
    interfaces:
      eth0: {addresses: [192.168.40.1/24]}
      eth1: {addresses: [203.0.113.1/24]}
    firewall:
      forward:
        policy: drop
        rules:
          - {action: accept, state: [established, related]}
          - {action: accept, proto: tcp, dport: 80}
  b:
    interfaces:
      eth0: {addresses: [203.0.113.20/24]}
    routes: [{to: default, via: 203.0.113.1}]
links:
  - [a:eth0, r:eth0]
  - [r:eth1, b:eth0]
checks:
  - {from: a, to: b, proto: tcp, port: 80, via: [r], nat: none}
  - {from: a, to: b, proto: udp, port: 53, expect: fail, dropped-at: r}
  - {from: a, to: b, proto: tcp, port: 80, via: []}
  - {from: a, to: b, proto: udp, port: 53, expect: fail, dropped-at: b}
`

func newFirewallLab(t *testing.T) *lab.Lab {
	t.Helper()
	name := kerneltest.LabName(t)
	text := "name: " + name + "\n" + firewallLab
	labTexts.Store(name, text)
	return parseLab(t, text)
}

// TestTraceForwardPolicyDrop: the UDP probe the router's forward policy
// drops ends the trace at that step, with no answer.
func TestTraceForwardPolicyDrop(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	l := newFirewallLab(t)
	upWithLogs(t, l)
	res, r := traceCheck(t, l, "{from: a, to: b, proto: udp, port: 53, expect: fail}")
	if !r.Passed || r.Reached {
		t.Errorf("probe: passed %v reached %v: %s", r.Passed, r.Reached, r.Detail())
	}
	if want := "blocked as expected: timed out after 1s: the trace shows it dropped at r forward by policy drop"; r.Detail() != want {
		t.Errorf("detail %q, want %q", r.Detail(), want)
	}
	req := res.Request
	if req.End.What != "dropped" || req.End.Node != "r" || req.End.Hook != "forward" || req.End.Rule != "policy drop" {
		t.Errorf("request ends %+v, want dropped at r forward by policy drop", req.End)
	}
	if n := len(req.Steps); n == 0 || req.Steps[n-1].Node != "r" || req.Steps[n-1].Hook != "forward" {
		t.Errorf("the request's last step is %+v, want r's forward, where it was dropped", req.Steps[len(req.Steps)-1])
	}
	for _, s := range req.Steps {
		if s.Node == "b" {
			t.Errorf("request reached b after the drop: %+v", s)
		}
	}
	if res.Answer != nil {
		t.Errorf("an answer to a dropped probe: %+v", res.Answer)
	}
	noTraceTables(t, l)
}

// TestRunPathChecks runs the firewall lab's path checks through
// check.Run, as netlab check does: the right paths pass, and a wrong one
// fails saying which part differed.
func TestRunPathChecks(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	l := newFirewallLab(t)
	upWithLogs(t, l)
	k := kernel.NewLinux()
	defer k.Close()
	res := check.Run(context.Background(), k, l, l.Checks)
	for _, r := range res {
		t.Logf("%s: passed %v: %s", r.Name, r.Passed, r.Detail())
	}
	for _, i := range []int{0, 1} {
		if !res[i].Passed {
			t.Errorf("%s (check %d) failed: %s", res[i].Name, i+1, res[i].Detail())
		}
	}
	if r := res[2]; r.Passed || r.PathReason != "path via r; want via no node (direct)" {
		t.Errorf("via: [] through a router: passed %v, path reason %q", r.Passed, r.PathReason)
	}
	if r := res[3]; r.Passed || !strings.Contains(r.PathReason, "path dropped at r; want dropped at b") {
		t.Errorf("dropped-at b, dropped at r: passed %v, path reason %q", r.Passed, r.PathReason)
	}
	noTraceTables(t, l)
}

// noTraceTables requires that no trace table is left in the lab's
// namespaces, as nft list tables shows them from outside.
func noTraceTables(t *testing.T, l *lab.Lab) {
	t.Helper()
	if _, err := exec.LookPath("nft"); err != nil {
		t.Logf("nft not installed: the tables are not listed from outside (%v)", err)
		return
	}
	for _, n := range l.Nodes {
		if n.Host {
			continue
		}
		ns := state.NetNSName(l.Name, n.Name)
		out, err := exec.Command("ip", "netns", "exec", ns, "nft", "list", "tables").CombinedOutput()
		if err != nil {
			t.Fatalf("nft list tables in %s: %v\n%s", ns, err, out)
		}
		if strings.Contains(string(out), kernel.TraceTablePrefix) {
			t.Errorf("after the trace, %s still has a trace table:\n%s", ns, out)
		}
	}
}
