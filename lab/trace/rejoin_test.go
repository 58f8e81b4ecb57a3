package trace

import (
	"encoding/json"
	"os"
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
