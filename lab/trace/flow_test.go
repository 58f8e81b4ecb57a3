package trace

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"testing"

	"netlab/lab/kernel"
)

// policyHops is the policy-routing lab's gw as the kernel answers
// routes: its main table has no way to the server, and its rules send
// each LAN's sources to their provider. NextHop (the destination alone)
// finds no route, as the kernel's main table does; FlowHop applies the
// rules. It keeps the flows it was asked.
type policyHops struct {
	fakeHops
	asked []kernel.Flow
}

const gwNS = "policy-rt.gw"

func (p *policyHops) FlowHop(netns string, f kernel.Flow) (kernel.Hop, error) {
	p.asked = append(p.asked, f)
	if netns == gwNS && !netip.MustParsePrefix("10.0.0.0/16").Contains(f.Dst) {
		switch {
		case netip.MustParsePrefix("10.0.1.0/24").Contains(f.Src):
			return kernel.Hop{Dev: "up1", Gateway: netip.MustParseAddr("10.255.1.2")}, nil
		case netip.MustParsePrefix("10.0.2.0/24").Contains(f.Src):
			return kernel.Hop{Dev: "up2", Gateway: netip.MustParseAddr("10.255.2.2")}, nil
		}
		return kernel.Hop{}, fmt.Errorf("route to %s: %w", f.Dst, syscall.ENETUNREACH)
	}
	return p.NextHop(netns, f.Dst)
}

// policyRequest is a UDP request from a LAN host through gw and its
// provider to the server, as the trace sees it (the request only).
func policyRequest(host, lan, up, isp, src string) []kernel.TraceEvent {
	req := udp(src+":40001", "203.0.113.10:7")
	var b traceBuilder
	b.hook("policy-rt."+host, 1, "output", "", "eth0", req, req)
	b.hook("policy-rt."+host, 1, "postrouting", "", "eth0", req, req)
	b.hook(gwNS, 2, "prerouting", lan, "", req, req)
	b.hook(gwNS, 2, "forward", lan, up, req, req)
	b.hook(gwNS, 2, "postrouting", "", up, req, req)
	b.hook("policy-rt."+isp, 3, "prerouting", "down", "", req, req)
	b.hook("policy-rt."+isp, 3, "forward", "down", "net", req, req)
	b.hook("policy-rt."+isp, 3, "postrouting", "", "net", req, req)
	port := map[string]string{"isp1": "p1", "isp2": "p2"}[isp]
	b.bridgeHook("policy-rt.internet", 5, "prerouting", port, "", req)
	b.bridgeHook("policy-rt.internet", 5, "forward", port, "p3", req)
	b.bridgeHook("policy-rt.internet", 5, "postrouting", "", "p3", req)
	b.hook("policy-rt.server", 4, "prerouting", "eth0", "", req, req)
	b.hook("policy-rt.server", 4, "input", "eth0", "", req, req)
	return b.events
}

// TestAssemblePolicyRouted: a routed hop in a node whose rules pick the
// way by source is told as the kernel routes that packet, from its
// source and on its input interface (RTM_GETROUTE with src and iif), not
// by the main table's answer for its destination, which here is none:
// alice's request leaves gw by up1 via isp1's 10.255.1.2, bob's by up2.
func TestAssemblePolicyRouted(t *testing.T) {
	st := labState(t, "policy-routing")
	for _, tc := range []struct {
		host, lan, up, isp, src, want string
	}{
		{"alice", "sales", "up1", "isp1", "10.0.1.10", "gw route forward -> up1 via 10.255.1.2"},
		{"bob", "lab", "up2", "isp2", "10.0.2.10", "gw route forward -> up2 via 10.255.2.2"},
	} {
		hops := &policyHops{}
		hops.route("policy-rt."+tc.host, "0.0.0.0/0", "eth0", strings.TrimSuffix(tc.src, ".10")+".1")
		hops.route("policy-rt."+tc.isp, "203.0.113.0/24", "net", "")
		r := Assemble(policyRequest(tc.host, tc.lan, tc.up, tc.isp, tc.src), st, hops, nil)
		steps := stepSummary(r.Request)
		if !slices.Contains(steps, tc.want) {
			t.Errorf("%s's request: no step %q in\n%s", tc.host, tc.want, strings.Join(steps, "\n"))
		}
		if r.Request.End.What != "delivered" {
			t.Errorf("%s's request ends %+v, want delivered", tc.host, r.Request.End)
		}
		want := kernel.Flow{Dst: netip.MustParseAddr("203.0.113.10"), Src: netip.MustParseAddr(tc.src), IIf: tc.lan}
		if !slices.Contains(hops.asked, want) {
			t.Errorf("%s's request: gw's route was not asked for %+v; asked %+v", tc.host, want, hops.asked)
		}
	}

	// Without FlowHops (the fake network), the kernel's own output
	// interface stands in, with no gateway: still by up1, never "?".
	r := Assemble(policyRequest("alice", "sales", "up1", "isp1", "10.0.1.10"), st, &fakeHops{}, nil)
	if steps := stepSummary(r.Request); !slices.Contains(steps, "gw route forward -> up1") {
		t.Errorf("without FlowHops: no step \"gw route forward -> up1\" in\n%s", strings.Join(steps, "\n"))
	}
}
