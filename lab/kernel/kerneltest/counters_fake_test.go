package kerneltest_test

import (
	"context"
	"testing"

	"netlab/lab/kernel/kerneltest"
	"netlab/lab/state"
)

// TestFakeCounters: Traffic moves a link's counters as LinkCounters and
// Observe read them, RuleTraffic a rule's as RuleCounters reads it; a
// namespace that does not exist is left out; each read is counted.
func TestFakeCounters(t *testing.T) {
	f := kerneltest.NewFake()
	f.MustSeed(t, "ip netns add t.a", "ip -n t.a link set lo alias netlab:t:a", "ip -n t.a link add eth0 type dummy", "ip -n t.a link set eth0 up")
	ctx := context.Background()
	if err := f.Traffic("t.a", "eth0", state.Counters{TxPackets: 3, TxBytes: 300}); err != nil {
		t.Fatal(err)
	}
	got, err := f.LinkCounters(ctx, []string{"t.a", "t.gone"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(got["t.a"]) != 2 {
		t.Fatalf("LinkCounters = %v, want t.a's lo and eth0 only", got)
	}
	eth0 := got["t.a"][1]
	if eth0.Name != "eth0" || !eth0.Up || eth0.OperState != "up" || eth0.Stats.TxPackets != 3 || eth0.Stats.TxBytes != 300 {
		t.Errorf("eth0 = %+v, want up with 3 packets, 300 bytes sent", eth0)
	}
	obs, err := f.Observe(ctx, "t", nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := obs.Nodes["a"].Links["eth0"].Stats; s.TxPackets != 3 {
		t.Errorf("Observe's eth0 counters %+v, want 3 packets sent", s)
	}
	tbl := &state.NFTable{Chains: []*state.NFChain{{Name: "filter_input", Type: "filter", Hook: "input", Policy: "accept",
		Rules: []*state.NFRule{{Proto: "udp", DPort: 9, Action: "accept", Tag: "netlab-000000000001"}}}}}
	if err := f.NFTableSet(ctx, "t.a", tbl); err != nil {
		t.Fatal(err)
	}
	if err := f.RuleTraffic("t.a", "filter_input", "netlab-000000000001", 5, 500); err != nil {
		t.Fatal(err)
	}
	rules, err := f.RuleCounters(ctx, []string{"t.a", "t.gone"})
	if err != nil {
		t.Fatal(err)
	}
	if rs := rules["t.a"]; len(rules) != 1 || len(rs) != 1 || rs[0].Packets != 5 || rs[0].Bytes != 500 || rs[0].Chain != "filter_input" {
		t.Errorf("RuleCounters = %v, want t.a's rule with 5 packets", rules)
	}
	if f.Calls("LinkCounters") != 1 || f.Calls("RuleCounters") != 1 || f.Calls("Observe") != 1 {
		t.Errorf("calls: LinkCounters %d, RuleCounters %d, Observe %d; want 1 each", f.Calls("LinkCounters"), f.Calls("RuleCounters"), f.Calls("Observe"))
	}
}
