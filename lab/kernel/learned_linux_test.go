package kernel_test

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"netlab/lab/kernel/kerneltest"
	"netlab/lab/plan"
	"netlab/lab/state"
)

// TestBridgeLearning: after traffic crosses a bridge, Observe reports on
// each port the MAC address of the host behind it, as the bridge learned.
func TestBridgeLearning(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	name := kerneltest.LabName(t)
	k := newLinux(t)
	l := parseLab(t, strings.Replace(`name: NAME
nodes:
  sw:
    interfaces:
      br0: {kind: bridge}
      p1: {master: br0}
      p2: {master: br0}
  h1:
    interfaces:
      eth0: {addresses: [10.3.0.1/24], mac: "02:00:00:00:03:01"}
  h2:
    interfaces:
      eth0: {addresses: [10.3.0.2/24], mac: "02:00:00:00:03:02"}
links:
  - [h1:eth0, sw:p1]
  - [h2:eth0, sw:p2]
`, "name: NAME", "name: "+name, 1))
	upLab(t, k, l)
	dst := udpEchoServer(t, openNS(t, state.NetNSName(name, "h2")), netip.MustParseAddr("10.3.0.2"))
	if _, err := udpProbe(openNS(t, state.NetNSName(name, "h1")), dst, 2*time.Second); err != nil {
		t.Fatalf("h1 -> h2 across the bridge: %v", err)
	}
	s, err := k.Observe(context.Background(), name, nil)
	if err != nil {
		t.Fatal(err)
	}
	sw := s.Nodes["sw"]
	for port, mac := range map[string]string{"p1": "02:00:00:00:03:01", "p2": "02:00:00:00:03:02"} {
		if got := sw.Links[port].Learned; !slices.Contains(got, mac) {
			t.Errorf("port %s learned %q; want the MAC of the host behind it, %s", port, got, mac)
		}
	}
	if got := sw.Links["br0"].Learned; len(got) != 0 {
		t.Errorf("the bridge itself lists learned MACs %q; they belong to its ports", got)
	}
	// A read for a diff (with the lab's desired state) leaves them out:
	// no plan compares them, and the kernel's dump of a bridge's database
	// grows with the square of its ports.
	s, err = k.Observe(context.Background(), name, plan.Desired(l))
	if err != nil {
		t.Fatal(err)
	}
	for port := range map[string]bool{"p1": true, "p2": true} {
		if got := s.Nodes["sw"].Links[port].Learned; len(got) != 0 {
			t.Errorf("Observe with want: port %s lists learned MACs %q; want none read", port, got)
		}
	}
}
