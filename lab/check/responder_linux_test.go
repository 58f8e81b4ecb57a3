package check

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/state"
)

// TestResponderWaitsForAPortInUse: a port still held a moment after the
// last round of checks (here a socket closed 200 ms later) is taken once
// it is free; one that stays held is reported, after the wait; a node not
// running is said to be so. It runs on the fake network and, as root, on
// the real kernel.
func TestResponderWaitsForAPortInUse(t *testing.T) {
	t.Parallel()
	t.Run("fake", func(t *testing.T) {
		t.Parallel()
		n := kerneltest.NewNet()
		n.AddNetNS(netns("fk", "web"))
		testResponderWaitsForAPortInUse(t, n, "fk")
	})
	t.Run("linux", func(t *testing.T) {
		kerneltest.RequireRoot(t)
		t.Parallel()
		labName := kerneltest.LabName(t)
		ns := state.NetNSName(labName, "web")
		if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
			t.Fatalf("ip netns add %s: %v: %s", ns, err, out)
		}
		testResponderWaitsForAPortInUse(t, kernel.NewLinux(), labName)
	})
}

// testResponderWaitsForAPortInUse runs in k, where the lab labName has
// its node web's namespace, and nothing else.
func testResponderWaitsForAPortInUse(t *testing.T, k kernel.NetNS, labName string) {
	ns := state.NetNSName(labName, "web")
	freed, err := k.ListenIn(ns, "tcp", ":8080")
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(200*time.Millisecond, func() { freed.Close() })
	held, err := k.ListenPacketIn(ns, "udp", ":53")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { held.Close() })

	rs := newResponders(k, labName, newTickets())
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
