package check_test

import (
	"strings"
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

// TestTraceMacvlan: on the macvlan lab, the router's ping to c2 goes in
// by host's eth0, the macvlans' parent, and on to c2's macvlan, which
// takes it before host's namespace sees it; c1's to the router goes out
// on the parent's wire.
func TestTraceMacvlan(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	l := shippedLab(t, "macvlan.yaml")
	upWithLogs(t, l)
	res, _ := traceRecorded(t, l, "{from: router, to: c2}", "kernel-macvlan-router-c2")
	if e := res.Request.End; e.What != "delivered" || e.Node != "c2" {
		t.Errorf("request ends %+v, want delivered to c2", e)
	}
	if res.Answer == nil || res.Answer.End.What != "delivered" || res.Answer.End.Node != "router" {
		t.Errorf("answer %+v, want delivered to router", res.Answer)
	}
}

// TestTraceVXLAN: on the vxlan lab, c1's ping to c3 crosses host1's
// bridge out by the vxlan device and host2's in by its own, then c3.
func TestTraceVXLAN(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	l := shippedLab(t, "vxlan-overlay.yaml")
	upWithLogs(t, l)
	res, _ := traceRecorded(t, l, "{from: c1, to: c3}", "kernel-vxlan-c1-c3")
	if p := res.Path(); strings.Join(p.Via, ",") != "host1,host2" || p.End != "delivered" || p.To != "c3" {
		t.Errorf("path %+v, want via host1, host2 to c3", p)
	}
	if res.Answer == nil || res.Answer.End.What != "delivered" || res.Answer.End.Node != "c1" {
		t.Errorf("answer %+v, want delivered to c1", res.Answer)
	}
}

// TestTraceOutputDNAT: on the netfilter-hooks lab, fw's own connection
// to its outside address is routed to itself (lo), DNATed at output to
// web, and routed again, out of eth0; web's answer is translated back at
// fw's input.
func TestTraceOutputDNAT(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	l := shippedLab(t, "netfilter-hooks.yaml")
	upWithLogs(t, l)
	res, r := traceRecorded(t, l, "{from: fw, to: web, proto: tcp, port: 80, address: 198.51.100.1}", "kernel-nf-hooks-output-dnat")
	if !r.Passed {
		t.Errorf("probe: %s", r.Detail())
	}
	var routes []string
	for _, s := range res.Request.Steps {
		if s.Kind == "route" {
			routes = append(routes, s.Node+" "+s.Route)
		}
	}
	if want := "fw -> lo, fw -> eth0 (rerouted)"; strings.Join(routes, ", ") != want {
		t.Errorf("routes %q, want %q", strings.Join(routes, ", "), want)
	}
}

// TestTraceTun: on the tuntap lab, vpn's ping into tun0, which no
// program has open, leaves by tun0 and is seen nowhere after.
func TestTraceTun(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	l := shippedLab(t, "tuntap.yaml")
	upWithLogs(t, l)
	res, _ := traceRecorded(t, l, "{from: vpn, ping: 10.8.0.2, expect: fail}", "kernel-tuntap-tun0")
	if e := res.Request.End; e.What != "lost" || e.Node != "vpn" || !strings.Contains(e.Reason, "tun0") || !strings.Contains(e.Reason, "no carrier") {
		t.Errorf("request ends %+v, want lost at vpn by tun0, which has no carrier", e)
	}
}

// TestTraceRedirect: on the netfilter-hooks lab, web's DNS query to any
// address is redirected to fw itself at fw's prerouting (the
// destination changes to fw's address), delivered to fw, and answered
// with the source translated back.
func TestTraceRedirect(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	l := shippedLab(t, "netfilter-hooks.yaml")
	upWithLogs(t, l)
	res, r := traceRecorded(t, l, "{from: web, to: fw, proto: udp, port: 53, address: 192.0.2.53}", "kernel-nf-hooks-redirect")
	if !r.Passed {
		t.Errorf("probe: %s", r.Detail())
	}
	if p := res.Path(); p.NAT != "dnat" || p.End != "delivered" || p.To != "fw" || len(p.Via) != 0 {
		t.Errorf("path %+v, want delivered to fw, nat dnat", p)
	}
	redir := changed(res.Request, "fw", "prerouting")
	if redir == nil || redir.Before.Dst != "192.0.2.53:53" || !strings.HasPrefix(redir.After.Dst, "192.168.50.1:53") || !strings.Contains(redir.Rule, "redirect") {
		t.Errorf("redirect step %+v", redir)
	}
}

// TestTraceForwardingOff: on exercise 03, whose router does not forward,
// the client's ping is seen at the router's prerouting and nowhere
// after; the trace says forwarding is off there.
func TestTraceForwardingOff(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	l := shippedLab(t, "exercises/03-ip-forward/exercise.yaml")
	upWithLogs(t, l)
	res, _ := traceRecorded(t, l, "{from: client, ping: 198.51.100.10, expect: fail}", "kernel-ex03-forwarding-off")
	if e := res.Request.End; e.What != "lost" || e.Node != "router" || e.Hook != "prerouting" || !strings.Contains(e.Reason, "forwarding is off") {
		t.Errorf("request ends %+v, want lost at router prerouting, forwarding off", e)
	}
}

// TestTraceNoRouteBack: on exercise 05, whose router does not
// masquerade, the laptop's ping reaches the server, which has no route
// back to the laptop's private address: the answer is never sent, and
// the trace and the check's reason say so.
func TestTraceNoRouteBack(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	l := shippedLab(t, "exercises/05-masquerade/exercise.yaml")
	upWithLogs(t, l)
	res, r := traceRecorded(t, l, "{from: laptop, ping: 203.0.113.80}", "kernel-ex05-no-route-back")
	if e := res.Request.End; e.What != "delivered" || e.Node != "server" {
		t.Errorf("request ends %+v, want delivered to server", e)
	}
	if res.Answer == nil || res.Answer.End.What != "no-route" || res.Answer.End.Node != "server" {
		t.Errorf("answer %+v, want no route back at server", res.Answer)
	}
	if want := "timed out after 1s: the trace shows the answer: no route at server: no route back to 192.168.5.10"; r.Reason != want {
		t.Errorf("reason %q, want %q", r.Reason, want)
	}
}
