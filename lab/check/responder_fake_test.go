package check

import (
	"strings"
	"testing"
	"time"

	"netlab/lab/kernel/kerneltest"
)

// TestResponderWaitsForAPortInUseFake is TestResponderWaitsForAPortInUse
// on the fake network: a port freed 200 ms later is taken once it is
// free; one that stays held is reported after inUseWait.
func TestResponderWaitsForAPortInUseFake(t *testing.T) {
	t.Parallel()
	n := kerneltest.NewNet()
	ns := netns("fk", "web")
	n.AddNetNS(ns)
	freed, err := n.ListenIn(ns, "tcp", ":8080")
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(200*time.Millisecond, func() { freed.Close() })
	held, err := n.ListenPacketIn(ns, "udp", ":53")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { held.Close() })

	rs := newResponders(n, "fk", newTickets())
	t.Cleanup(rs.closeAll)
	start := time.Now()
	if err := rs.start(endpoint{node: "web", proto: "tcp", port: 8080}); err != nil {
		t.Errorf("start on a port freed after 200ms: %v", err)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("the responder started after %v, before the port was freed", d)
	}
	start = time.Now()
	err = rs.start(endpoint{node: "web", proto: "udp", port: 53})
	if err == nil || !strings.Contains(err.Error(), "cannot start a udp responder on port 53 in node web") || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("start on a port that stays in use: %v, want address already in use", err)
	}
	if d := time.Since(start); d < inUseWait {
		t.Errorf("gave up on a port in use after %v, before %v", d, inUseWait)
	}
	if err := rs.start(endpoint{node: "gone", proto: "tcp", port: 80}); err == nil || !strings.Contains(err.Error(), "node gone is not running") {
		t.Errorf("start in a node not running: %v", err)
	}
}
