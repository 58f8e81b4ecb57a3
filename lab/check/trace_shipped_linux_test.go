package check_test

import (
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
