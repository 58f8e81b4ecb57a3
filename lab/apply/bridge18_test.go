package apply_test

import (
	"slices"
	"testing"

	"netlab/lab/kernel/kerneltest"
	"netlab/lab/state"
)

// bridge18Lab has a bridge running STP, a port with hairpin on and a
// host with static neighbours (issue 18).
const bridge18Lab = `name: LAB
nodes:
  sw:
    interfaces:
      br0: {kind: bridge, addresses: [10.80.0.1/24], bridge: {stp: true, forward-delay: 2s, hello-time: 1s, max-age: 6s, priority: 4096}}
      p1: {master: br0, port: {hairpin: true}}
  h:
    interfaces:
      eth0:
        addresses: [10.80.0.2/24, "2001:db8:80::2/64"]
        neighbors: [{ip: 10.80.0.1, mac: "02:00:00:00:50:01"}, {ip: "2001:db8:80::1", mac: "02:00:00:00:50:01"}]
links:
  - [h:eth0, sw:p1]
`

// TestBridgeDriftRepaired changes a lab's STP timers, a port's flag and
// its neighbours by hand, on the fake and on the real kernel: plan names
// each as an in-place change, up repairs it, and an entry added by hand
// (without netlab's mark) is neither shown nor removed.
func TestBridgeDriftRepaired(t *testing.T) {
	t.Parallel()
	onBoth(t, testBridgeDriftRepaired)
}

func testBridgeDriftRepaired(t *testing.T, e *env) {
	name := kerneltest.LabName(t)
	l := realParse(t, name, bridge18Lab)
	realUp(t, e.k, l)
	if _, p := realPlan(t, e.k, l, nil, false); !p.Empty() {
		t.Fatalf("plan after up: %q", realChanges(p))
	}
	sw, h := state.NetNSName(name, "sw"), state.NetNSName(name, "h")
	e.ip(t, "-n", sw, "link", "set", "br0", "type", "bridge", "stp_state", "1", "hello_time", "300")
	e.ip(t, "-n", sw, "link", "set", "p1", "type", "bridge_slave", "hairpin", "off")
	e.ip(t, "-n", h, "neigh", "replace", "10.80.0.1", "lladdr", "02:00:00:00:50:99", "dev", "eth0", "nud", "permanent", "proto", "78")
	e.ip(t, "-n", h, "neigh", "del", "2001:db8:80::1", "dev", "eth0")
	e.ip(t, "-n", h, "neigh", "add", "10.80.0.77", "lladdr", "02:00:00:00:50:77", "dev", "eth0", "nud", "permanent")
	_, p := realPlan(t, e.k, l, nil, false)
	want := []string{
		"h ~ link eth0: neighbors [10.80.0.1 lladdr 02:00:00:00:50:99] -> [10.80.0.1 lladdr 02:00:00:00:50:01, 2001:db8:80::1 lladdr 02:00:00:00:50:01]",
		"sw ~ link br0: stp true (forward-delay 2s hello-time 3s max-age 6s priority 4096) -> true (forward-delay 2s hello-time 1s max-age 6s priority 4096)",
		"sw ~ link p1: port hairpin off isolated off learning on flood on mcast-flood on bcast-flood on -> hairpin on isolated off learning on flood on mcast-flood on bcast-flood on",
	}
	got := realChanges(p)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("plan after the hand changes:\n%q\nwant\n%q", got, want)
	}
	realUp(t, e.k, l)
	if _, p := realPlan(t, e.k, l, nil, false); !p.Empty() {
		t.Errorf("plan after the repair: %q", realChanges(p))
	}
	// The entry added by hand is still there: deleting it works.
	e.ip(t, "-n", h, "neigh", "del", "10.80.0.77", "dev", "eth0")
}
