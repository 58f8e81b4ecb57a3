package kernel

import (
	"testing"

	"golang.org/x/sys/unix"
)

// A listener's view, with its caches filled as startNSTrace fills them,
// so that resolve asks the kernel nothing.
func testNSTrace() *nsTrace {
	inet, bridge := uint8(unix.NFPROTO_INET), uint8(unix.NFPROTO_BRIDGE)
	own := "netlab_trace_1_1"
	n := &nsTrace{netns: "lab.r", fd: -1, table: own,
		chains: map[chainKey]chainInfo{
			{inet, own, "first_forward"}:           {"forward", TraceFirstPriority},
			{inet, own, "last_forward"}:            {"forward", TraceLastPriority},
			{inet, "netlab", "filter_forward"}:     {"forward", 0},
			{inet, "netlab", "sub"}:                {}, // a chain jumped to
			{inet, "other_trace", "first_forward"}: {"forward", TraceFirstPriority},
			{bridge, own, "first_prerouting"}:      {"prerouting", TraceFirstPriority},
		},
		rules: map[chainKey]map[uint64]string{
			{inet, own, "first_forward"}:           {5: traceMarkTag},
			{inet, "netlab", "filter_forward"}:     {9: "netlab-0123456789ab"},
			{inet, "other_trace", "first_forward"}: {5: traceMarkTag},
		},
		links: map[uint32]string{2: "br0", 3: "eth0"},
		ours:  map[uint32]bool{}, hookOf: map[uint32]chainInfo{}}
	return n
}

func TestResolveOwnsOnlyMarkedPackets(t *testing.T) {
	n := testNSTrace()
	inet := uint8(unix.NFPROTO_INET)
	steps := []struct {
		r       rawTrace
		deliver bool
	}{
		// Another trace marks packet 1; our first chain then reports
		// its policy (the packet is traced, our rules did not match).
		{rawTrace{Family: inet, Table: "other_trace", Chain: "first_forward", RuleHandle: 5, Type: unix.NFT_TRACETYPE_RULE, HasVerdict: true, Verdict: nfAccept, ID: 1, Network: []byte{0x45}}, false},
		{rawTrace{Family: inet, Table: n.table, Chain: "first_forward", Type: unix.NFT_TRACETYPE_POLICY, HasPolicy: true, Policy: nfAccept, ID: 1, Network: []byte{0x45}}, false},
		{rawTrace{Family: inet, Table: "netlab", Chain: "filter_forward", RuleHandle: 9, Type: unix.NFT_TRACETYPE_RULE, HasVerdict: true, ID: 1, Network: []byte{0x45}}, false},
		// Packet 2 is ours from our mark rule on.
		{rawTrace{Family: inet, Table: "netlab", Chain: "filter_forward", RuleHandle: 9, Type: unix.NFT_TRACETYPE_RULE, HasVerdict: true, ID: 2, Network: []byte{0x45}}, false},
		{rawTrace{Family: inet, Table: n.table, Chain: "first_forward", RuleHandle: 5, Type: unix.NFT_TRACETYPE_RULE, HasVerdict: true, Verdict: nfAccept, ID: 2, IIf: 2, OIf: 3, Network: []byte{0x45, 1}}, true},
		{rawTrace{Family: inet, Table: "netlab", Chain: "filter_forward", RuleHandle: 9, Type: unix.NFT_TRACETYPE_RULE, HasVerdict: true, Verdict: unix.NFT_JUMP, Target: "sub", ID: 2, IIf: 2, OIf: 3, Network: []byte{0x45, 2}}, true},
		{rawTrace{Family: inet, Table: "netlab", Chain: "sub", Type: unix.NFT_TRACETYPE_RETURN, HasVerdict: true, Verdict: unix.NFT_RETURN, ID: 2}, true},
	}
	var got []TraceEvent
	for i, s := range steps {
		e, ok := n.resolve(s.r)
		if ok != s.deliver {
			t.Errorf("step %d (%s/%s id %d): delivered %v; want %v", i, s.r.Table, s.r.Chain, s.r.ID, ok, s.deliver)
		}
		if ok {
			got = append(got, e)
		}
	}
	if len(got) != 3 {
		t.Fatalf("delivered %d events; want 3", len(got))
	}
	mark, rule, ret := got[0], got[1], got[2]
	if !mark.Own || !mark.OwnFirst || mark.Hook != "forward" || mark.Priority != TraceFirstPriority || mark.IIf != "br0" || mark.OIf != "eth0" {
		t.Errorf("mark event %+v", mark)
	}
	if rule.Own || rule.RuleTag != "netlab-0123456789ab" || rule.Priority != 0 || rule.Verdict != "jump" || rule.Target != "sub" {
		t.Errorf("lab rule event %+v", rule)
	}
	// The chain jumped to runs in its caller's hook; the kernel dumped no
	// headers with its event, so they are its caller's.
	if ret.Hook != "forward" || ret.Type != "return" || ret.Verdict != "return" {
		t.Errorf("return event %+v: want hook forward, return", ret)
	}
	if ret.IIf != "" || len(ret.Network) != 0 {
		// Another chain than the previous event's: nothing to carry over.
		t.Errorf("return event carries headers %v of another chain", ret.Network)
	}
}

func TestResolveCarriesHeadersWithinAChain(t *testing.T) {
	n := testNSTrace()
	inet := uint8(unix.NFPROTO_INET)
	n.resolve(rawTrace{Family: inet, Table: n.table, Chain: "first_forward", RuleHandle: 5, Type: unix.NFT_TRACETYPE_RULE, HasVerdict: true, ID: 3, Network: []byte{0x45}})
	first, _ := n.resolve(rawTrace{Family: inet, Table: "netlab", Chain: "filter_forward", RuleHandle: 9, Type: unix.NFT_TRACETYPE_RULE, HasVerdict: true, ID: 3, IIf: 2, OIf: 3, Network: []byte{0x45, 7}, Transport: []byte{1}})
	policy, ok := n.resolve(rawTrace{Family: inet, Table: "netlab", Chain: "filter_forward", Type: unix.NFT_TRACETYPE_POLICY, HasPolicy: true, Policy: nfDrop, ID: 3})
	if !ok {
		t.Fatal("policy event of a marked packet not delivered")
	}
	if policy.Verdict != "drop" || policy.IIf != first.IIf || policy.OIf != "eth0" || string(policy.Network) != string(first.Network) || string(policy.Transport) != string(first.Transport) {
		t.Errorf("policy event %+v: want the interfaces and headers of the chain's first event", policy)
	}
}
