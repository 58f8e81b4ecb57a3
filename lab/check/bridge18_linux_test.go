package check_test

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/plan"
	"netlab/lab/reconcile"
	"netlab/lab/state"
)

// Issue 18's real-kernel tests of bridge STP, bridge port flags and
// static neighbours, each checked from outside with ip(8) and bridge(8)
// and with real traffic (the lab's own ping checks).

func planText(p *plan.Plan) string {
	var b strings.Builder
	p.WriteText(&b)
	return b.String()
}

// outside runs ip or bridge as a user would, and returns its output.
func outside(t *testing.T, prog string, args ...string) string {
	t.Helper()
	out, err := exec.Command(prog, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", prog, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// reached runs the lab's one check and reports whether the ping got
// its answer, trying a few times when want is true (a loaded machine).
func reached(t *testing.T, text string, want bool) bool {
	t.Helper()
	l := parseLab(t, text)
	var got bool
	for attempt := 0; attempt < 3; attempt++ {
		res := run(t, l)
		if len(res) != 1 {
			t.Fatalf("%d results, want 1", len(res))
		}
		if got = res[0].Reached; got == want {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	return got
}

// rxPackets reads a link's received-packet counter with ip -s -j.
func rxPackets(t *testing.T, netns, dev string) uint64 {
	t.Helper()
	var links []struct {
		Stats struct {
			RX struct {
				Packets uint64 `json:"packets"`
			} `json:"rx"`
		} `json:"stats64"`
	}
	if err := json.Unmarshal([]byte(outside(t, "ip", "-n", netns, "-s", "-j", "link", "show", "dev", dev)), &links); err != nil || len(links) != 1 {
		t.Fatalf("ip -s -j link show %s: %v", dev, err)
	}
	return links[0].Stats.RX.Packets
}

const stpLoop = `name: LAB
nodes:
  s1:
    interfaces:
      br0: {kind: bridge, bridge: {stp: true, forward-delay: 2s, hello-time: 1s, max-age: 6s, priority: 4096}}
      p1: {master: br0}
      p2: {master: br0}
      p3: {master: br0}
  s2:
    interfaces:
      br0: {kind: bridge, bridge: {stp: true, forward-delay: 2s, hello-time: 1s, max-age: 6s}}
      p1: {master: br0}
      p2: {master: br0}
      p3: {master: br0}
  h1:
    interfaces:
      eth0: {addresses: [10.77.0.1/24]}
  h2:
    interfaces:
      eth0: {addresses: [10.77.0.2/24]}
links:
  - [s1:p1, s2:p1]
  - [s1:p2, s2:p2]
  - [h1:eth0, s1:p3]
  - [h2:eth0, s2:p3]
checks:
  - {from: h1, ping: 10.77.0.2}
`

// TestSTPLoopConverges: two bridges joined twice make a loop; with STP,
// up returns on a settled tree, exactly one port is blocking (bridge
// link, from outside), h1 reaches h2 across it, and no frame circles:
// the loop's ports see a few BPDUs a second, not a storm.
func TestSTPLoopConverges(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	name := kerneltest.RegisterLab(t, "nltestbrstp")
	text := strings.Replace(stpLoop, "name: LAB", "name: "+name, 1)
	start := time.Now()
	up(t, parseLab(t, text))
	t.Logf("up, with the tree settled, in %s", time.Since(start).Round(time.Millisecond))
	states := map[string]int{}
	for _, sw := range []string{"s1", "s2"} {
		out := outside(t, "bridge", "-n", state.NetNSName(name, sw), "link", "show")
		for _, line := range strings.Split(out, "\n") {
			if i := strings.Index(line, " state "); i >= 0 {
				states[strings.Fields(line[i+len(" state "):])[0]]++
			}
		}
		if d := outside(t, "ip", "-n", state.NetNSName(name, sw), "-d", "link", "show", "dev", "br0"); !strings.Contains(d, "stp_state 1") || !strings.Contains(d, "forward_delay 200") {
			t.Errorf("%s br0 is not running STP with forward delay 2s: %s", sw, d)
		}
	}
	if states["blocking"] != 1 || states["forwarding"] != 5 {
		t.Errorf("port states %v, want 1 blocking and 5 forwarding", states)
	}
	if !reached(t, text, true) {
		t.Error("h1 does not reach h2 over the spanning tree")
	}
	before := rxPackets(t, state.NetNSName(name, "s1"), "p1") + rxPackets(t, state.NetNSName(name, "s1"), "p2")
	time.Sleep(3 * time.Second)
	after := rxPackets(t, state.NetNSName(name, "s1"), "p1") + rxPackets(t, state.NetNSName(name, "s1"), "p2")
	t.Logf("the loop's ports of s1 received %d packets in 3s", after-before)
	if after-before > 60 {
		t.Errorf("the loop's ports of s1 received %d packets in 3s: a storm", after-before)
	}
	// The plan of a settled lab is empty: the observed timers are the file's.
	k := kernel.NewLinux()
	defer k.Close()
	planned, err := reconcile.Plan(context.Background(), k, parseLab(t, text), reconcile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !planned.Plan.Empty() {
		t.Errorf("plan after up is not empty:\n%s", planText(planned.Plan))
	}
}

const vepaHairpin = `name: LAB
nodes:
  sw:
    interfaces:
      br0: {kind: bridge}
      p1: {master: br0, port: {hairpin: true}}
  host:
    interfaces:
      eth0: {}
  c1:
    interfaces:
      m0: {kind: macvlan, macvlan: {parent: host:eth0, mode: vepa}, addresses: [10.78.0.1/24]}
  c2:
    interfaces:
      m0: {kind: macvlan, macvlan: {parent: host:eth0, mode: vepa}, addresses: [10.78.0.2/24]}
links:
  - [host:eth0, sw:p1]
checks:
  - {from: c1, ping: 10.78.0.2}
`

// TestHairpinVEPA: two VEPA macvlans on one parent reach each other only
// through the switch, which must send their frames back out of the port
// they came in by: hairpin on that port. Turning it off in the file
// (and up again) stops them.
func TestHairpinVEPA(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	name := kerneltest.RegisterLab(t, "nltestbrhp")
	text := strings.Replace(vepaHairpin, "name: LAB", "name: "+name, 1)
	sw := state.NetNSName(name, "sw")
	up(t, parseLab(t, text))
	if out := outside(t, "bridge", "-n", sw, "-d", "link", "show", "dev", "p1"); !strings.Contains(out, "hairpin on") {
		t.Fatalf("p1 has no hairpin: %s", out)
	}
	if !reached(t, text, true) {
		t.Error("c1 does not reach c2 through the hairpin port")
	}
	off := strings.Replace(text, "hairpin: true", "hairpin: false", 1)
	upEdited(t, parseLab(t, off))
	if out := outside(t, "bridge", "-n", sw, "-d", "link", "show", "dev", "p1"); !strings.Contains(out, "hairpin off") {
		t.Fatalf("p1 still has hairpin: %s", out)
	}
	if reached(t, off, false) {
		t.Error("c1 reaches c2 with hairpin off: VEPA should need the switch to send frames back")
	}
}

const staticNeighbors = `name: LAB
nodes:
  a:
    interfaces:
      eth0:
        mac: "02:00:00:00:0a:01"
        addresses: [10.79.0.1/24]
        neighbors: [{ip: 10.79.0.2, mac: "02:00:00:00:0b:01"}]
  b:
    interfaces:
      eth0:
        mac: "02:00:00:00:0b:01"
        addresses: [10.79.0.2/24]
        neighbors: [{ip: 10.79.0.1, mac: "02:00:00:00:0a:01"}]
links:
  - [a:eth0, b:eth0]
checks:
  - {from: a, ping: 10.79.0.2}
`

// TestStaticNeighborNoARP: with ARP off on both ends (set by hand, which
// also flushes their neighbour tables), a ping fails; up puts the
// permanent entries back (drift), and then a reaches b with no ARP at
// all, since neither end can send or answer one. A changed MAC and a
// deleted entry are repaired too, and an entry added by hand stays.
func TestStaticNeighborNoARP(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	name := kerneltest.RegisterLab(t, "nltestbrnb")
	text := strings.Replace(staticNeighbors, "name: LAB", "name: "+name, 1)
	a, b := state.NetNSName(name, "a"), state.NetNSName(name, "b")
	up(t, parseLab(t, text))
	if out := outside(t, "ip", "-n", a, "neigh", "show", "dev", "eth0"); !strings.Contains(out, "10.79.0.2 lladdr 02:00:00:00:0b:01 PERMANENT proto 78") {
		t.Fatalf("a's entry for b is not permanent and marked: %q", out)
	}
	for _, ns := range []string{a, b} {
		outside(t, "ip", "-n", ns, "link", "set", "eth0", "arp", "off")
	}
	if out := outside(t, "ip", "-n", a, "neigh", "show", "dev", "eth0"); strings.Contains(out, "PERMANENT") {
		t.Fatalf("arp off left a's permanent entry: %q", out)
	}
	if reached(t, text, false) {
		t.Fatal("a reaches b with ARP off and no neighbour entries: the test proves nothing")
	}
	upEdited(t, parseLab(t, text))
	if !reached(t, text, true) {
		t.Error("a does not reach b over its static entries, with ARP off on both ends")
	}
	for _, ns := range []string{a, b} {
		if out := outside(t, "ip", "-n", ns, "neigh", "show", "dev", "eth0"); strings.Count(out, "\n") != 1 || !strings.Contains(out, "PERMANENT proto 78") {
			t.Errorf("%s's neighbours, want the one permanent entry and nothing learned: %q", ns, out)
		}
	}
	// Drift: a MAC changed, an entry deleted, and one added by hand.
	outside(t, "ip", "-n", a, "neigh", "replace", "10.79.0.2", "lladdr", "02:00:00:00:0b:99", "dev", "eth0", "nud", "permanent", "proto", "78")
	outside(t, "ip", "-n", b, "neigh", "del", "10.79.0.1", "dev", "eth0")
	outside(t, "ip", "-n", a, "neigh", "add", "10.79.0.50", "lladdr", "02:00:00:00:0c:01", "dev", "eth0", "nud", "permanent")
	p := upEdited(t, parseLab(t, text))
	if got := len(p.Changes); got != 2 {
		t.Errorf("up made %d changes, want 2 (a's and b's neighbours):\n%s", got, planText(p))
	}
	if out := outside(t, "ip", "-n", a, "neigh", "show", "dev", "eth0"); !strings.Contains(out, "10.79.0.2 lladdr 02:00:00:00:0b:01 PERMANENT") || !strings.Contains(out, "10.79.0.50 lladdr 02:00:00:00:0c:01 PERMANENT") {
		t.Errorf("a's neighbours after up: %q", out)
	}
	if out := outside(t, "ip", "-n", b, "neigh", "show", "dev", "eth0"); !strings.Contains(out, "10.79.0.1 lladdr 02:00:00:00:0a:01 PERMANENT proto 78") {
		t.Errorf("b's entry was not put back: %q", out)
	}
	if !reached(t, text, true) {
		t.Error("a does not reach b after the repair")
	}
}
