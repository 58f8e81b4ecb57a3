package kernel_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/state"
)

// TestCountersLinux: LinkCounters reads each link of a running lab with
// its state and counters, and RuleCounters the counters of its rules by
// tag; both move with real traffic (UDP from a to b through a veth pair,
// past an input rule of b that counts it), as Observe sees them. A link
// set down reads down; a namespace that is gone is left out, not an
// error.
func TestCountersLinux(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	name := kerneltest.LabName(t)
	l := parseLab(t, fmt.Sprintf(`name: %s
nodes:
  a:
    interfaces:
      eth0: {addresses: [10.9.0.1/24]}
  b:
    interfaces:
      eth0: {addresses: [10.9.0.2/24]}
    firewall:
      input:
        rules:
          - {action: accept, proto: udp, dport: 9}
links:
  - [a:eth0, b:eth0]
`, name))
	k := newLinux(t)
	upLab(t, k, l)
	ctx := context.Background()
	nsA, nsB := state.NetNSName(name, "a"), state.NetNSName(name, "b")
	gone := state.NetNSName(name, "nosuch")

	read := func() (a, b kernel.LinkCounters, rule kernel.RuleCounter) {
		t.Helper()
		links, err := k.LinkCounters(ctx, []string{nsA, nsB, gone})
		if err != nil {
			t.Fatalf("LinkCounters: %v", err)
		}
		if _, ok := links[gone]; ok || len(links) != 2 {
			t.Fatalf("LinkCounters read %d namespaces (%v), want a and b only", len(links), links)
		}
		find := func(ns string) kernel.LinkCounters {
			for _, lc := range links[ns] {
				if lc.Name == "eth0" {
					return lc
				}
			}
			t.Fatalf("LinkCounters of %s: no eth0 in %v", ns, links[ns])
			return kernel.LinkCounters{}
		}
		rules, err := k.RuleCounters(ctx, []string{nsA, nsB})
		if err != nil {
			t.Fatalf("RuleCounters: %v", err)
		}
		if _, ok := rules[nsA]; ok {
			t.Errorf("RuleCounters of a, which has no table: %v, want it left out", rules[nsA])
		}
		if len(rules[nsB]) != 1 || rules[nsB][0].Chain == "" || rules[nsB][0].Tag == "" {
			t.Fatalf("RuleCounters of b: %v, want its one rule with its chain and tag", rules[nsB])
		}
		return find(nsA), find(nsB), rules[nsB][0]
	}
	a0, b0, r0 := read()
	if !a0.Up || a0.OperState != "up" || a0.MTU != 1500 || a0.Index == 0 {
		t.Errorf("a eth0 = %+v, want up, oper up, mtu 1500", a0)
	}

	srv, err := k.ListenPacketIn(nsB, "udp", "10.9.0.2:9")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c, err := k.DialIn(ctx, nsA, "udp", "10.9.0.2:9")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const sent = 20
	for range sent {
		if _, err := c.Write([]byte("counted")); err != nil {
			t.Fatal(err)
		}
	}
	// Wait until b has them all: then the counters are final.
	buf := make([]byte, 64)
	srv.SetReadDeadline(time.Now().Add(5 * time.Second))
	for i := range sent {
		if _, _, err := srv.ReadFrom(buf); err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
	}
	a1, b1, r1 := read()
	if d := a1.Stats.TxPackets - a0.Stats.TxPackets; d < sent {
		t.Errorf("a eth0 sent %d more packets, want at least %d", d, sent)
	}
	if d := b1.Stats.RxPackets - b0.Stats.RxPackets; d < sent {
		t.Errorf("b eth0 received %d more packets, want at least %d", d, sent)
	}
	if r1.Tag != r0.Tag || r1.Packets-r0.Packets != sent || r1.Bytes <= r0.Bytes {
		t.Errorf("b's rule went from %+v to %+v, want %d more packets", r0, r1, sent)
	}
	obs, err := k.Observe(ctx, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := obs.Nodes["a"].Links["eth0"].Stats; got.TxPackets < a1.Stats.TxPackets {
		t.Errorf("Observe's a eth0 tx %d, behind LinkCounters' %d", got.TxPackets, a1.Stats.TxPackets)
	}

	ipCmd(t, "-n", nsA, "link", "set", "eth0", "down")
	if a2, _, _ := read(); a2.Up || a2.OperState != "down" {
		t.Errorf("after a eth0 set down: %+v, want it down", a2)
	}
}
