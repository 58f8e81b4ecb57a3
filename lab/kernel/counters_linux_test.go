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
// past an input rule of b that counts it), as Observe sees them, and each
// link reads as Observe reads it. A bridge port names its bridge, a link
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

	// Every link as Observe reads it: the same index, MTU, state and
	// master, and counters no further on than Observe's read after them.
	links, err := k.LinkCounters(ctx, []string{nsA, nsB})
	if err != nil {
		t.Fatal(err)
	}
	obs, err = k.Observe(ctx, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	for node, ns := range map[string]string{"a": nsA, "b": nsB} {
		n := obs.Nodes[node]
		if len(links[ns]) != len(n.Links) {
			t.Errorf("node %s: LinkCounters read %d links, Observe %d", node, len(links[ns]), len(n.Links))
		}
		for _, lc := range links[ns] {
			l := n.Links[lc.Name]
			if l == nil {
				t.Errorf("node %s: LinkCounters read %s, which Observe did not", node, lc.Name)
				continue
			}
			if lc.Index != l.Index || lc.MTU != l.MTU || lc.Up != l.Up || lc.OperState != l.OperState || lc.MasterIndex != 0 {
				t.Errorf("node %s link %s: LinkCounters %+v, Observe %+v", node, lc.Name, lc, l)
			}
			if lc.Stats.RxPackets > l.Stats.RxPackets || lc.Stats.TxBytes > l.Stats.TxBytes {
				t.Errorf("node %s link %s: counters %+v ahead of Observe's later %+v", node, lc.Name, lc.Stats, l.Stats)
			}
		}
	}

	// A port names its bridge by index.
	ipCmd(t, "-n", nsB, "link", "add", "br9", "type", "bridge")
	ipCmd(t, "-n", nsB, "link", "set", "eth0", "master", "br9")
	links, err = k.LinkCounters(ctx, []string{nsB})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]kernel.LinkCounters{}
	for _, lc := range links[nsB] {
		byName[lc.Name] = lc
	}
	if br, port := byName["br9"], byName["eth0"]; br.Index == 0 || port.MasterIndex != br.Index {
		t.Errorf("b's eth0 enslaved to br9 (index %d) reads master %d", br.Index, port.MasterIndex)
	}

	ipCmd(t, "-n", nsA, "link", "set", "eth0", "down")
	if a2, _, _ := read(); a2.Up || a2.OperState != "down" {
		t.Errorf("after a eth0 set down: %+v, want it down", a2)
	}
}
