package trace

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"netlab/lab/kernel"
)

// recorded is a trace recorded on the real kernel (testdata/README.md).
type recorded struct {
	Events []kernel.TraceEvent `json:"events"`
}

func loadRecorded(t *testing.T, file string) []kernel.TraceEvent {
	t.Helper()
	data, err := os.ReadFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	var r recorded
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	return r.Events
}

// TestRejoinGivesARoutedPacketOneIDPerNamespace: on the recorded trace
// through r's bridge, the request's prerouting (from veth1 up to br0)
// and its forward and postrouting came under two IDs; rejoined, they
// are one, and Assemble follows the request to b and its answer back.
func TestRejoinGivesARoutedPacketOneIDPerNamespace(t *testing.T) {
	events := loadRecorded(t, "kernel-udp-masquerade.json")
	ids := func(evs []kernel.TraceEvent, chain string) map[uint32]bool {
		m := map[uint32]bool{}
		for _, e := range evs {
			if e.NetNS == "trace.r" && e.Family == "inet" && (e.Chain == "first_prerouting" || e.Chain == chain) && e.IIf == "br0" {
				m[e.ID] = true
			}
		}
		return m
	}
	if len(ids(events, "nat_postrouting")) != 2 {
		t.Fatalf("the recording no longer has the request under two IDs in r: %v", ids(events, "nat_postrouting"))
	}
	joined := rejoin(events)
	if got := ids(joined, "nat_postrouting"); len(got) != 1 {
		t.Errorf("rejoined: the request's prerouting and postrouting in r have IDs %v, want one", got)
	}
	if len(joined) != len(events) {
		t.Errorf("rejoin kept %d of %d events", len(joined), len(events))
	}
	var b strings.Builder
	res := Assemble(joined, nil, nil, nil)
	res.WriteText(&b)
	if res.Request == nil || res.Request.End.What != "delivered" || res.Request.End.Node != "b" {
		t.Errorf("request after rejoin: %+v\n%s", res.Request, b.String())
	}
	if res.Answer == nil || res.Answer.End.What != "delivered" || res.Answer.End.Node != "a" {
		t.Errorf("answer after rejoin: %+v\n%s", res.Answer, b.String())
	}
	t.Logf("\n%s", b.String())
}

// TestUnnestPutsBrNetfiltersHooksInTheWaysOrder: the events of a frame
// bridged from v1 to v2 with br_netfilter loaded, in the order the
// kernel reported them (recorded on Linux 6.18): the inet prerouting and
// forward inside the bridge's, the inet postrouting after the bridge's.
// Unnested, each hook's events are together, in the way's order, and
// the other namespace's events keep their place.
func TestUnnestPutsBrNetfiltersHooksInTheWaysOrder(t *testing.T) {
	type ev struct {
		family, hook string
		first        bool
	}
	reported := []ev{
		{"bridge", "prerouting", true}, {"inet", "prerouting", true}, {"inet", "prerouting", false},
		{"bridge", "prerouting", false}, {"bridge", "forward", true}, {"inet", "forward", true},
		{"inet", "forward", false}, {"bridge", "forward", false}, {"bridge", "postrouting", true},
		{"bridge", "postrouting", false}, {"inet", "postrouting", true}, {"inet", "postrouting", false},
	}
	var events []kernel.TraceEvent
	for i, r := range reported {
		events = append(events, kernel.TraceEvent{NetNS: "l.a", ID: 7, Seq: uint64(2*i + 1), Family: r.family, Hook: r.hook, Own: true, OwnFirst: r.first})
		if i == 10 { // another namespace's event, in between
			events = append(events, kernel.TraceEvent{NetNS: "l.c", ID: 9, Seq: uint64(2*i + 2), Family: "inet", Hook: "prerouting", Own: true, OwnFirst: true})
		}
	}
	got := unnest(events)
	var order []string
	for _, e := range got {
		if e.NetNS == "l.a" {
			order = append(order, e.Family+" "+e.Hook)
		}
	}
	want := []string{"bridge prerouting", "bridge prerouting", "inet prerouting", "inet prerouting",
		"bridge forward", "bridge forward", "inet forward", "inet forward",
		"inet postrouting", "inet postrouting", "bridge postrouting", "bridge postrouting"}
	if !slices.Equal(order, want) {
		t.Errorf("unnested order\n%v\nwant\n%v", order, want)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Seq <= got[i-1].Seq {
			t.Fatalf("Seqs out of order after unnest: %d then %d", got[i-1].Seq, got[i].Seq)
		}
	}
	for _, e := range got {
		if e.NetNS == "l.c" && e.Seq != 22 {
			t.Errorf("the other namespace's event moved to Seq %d, want 22", e.Seq)
		}
	}

	// A frame that is not bridge-received (a namespace's own output) is
	// left as it came.
	own := []kernel.TraceEvent{
		{NetNS: "l.b", ID: 1, Seq: 1, Family: "inet", Hook: "postrouting", Own: true},
		{NetNS: "l.b", ID: 1, Seq: 2, Family: "bridge", Hook: "output", Own: true},
	}
	if got := unnest(own); got[0].Hook != "postrouting" || got[1].Hook != "output" {
		t.Errorf("unnest reordered a frame the namespace sent: %+v", got)
	}
}
