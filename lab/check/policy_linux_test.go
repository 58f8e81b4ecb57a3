package check_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os/exec"
	"strings"
	"testing"

	"netlab/lab"
	"netlab/lab/check"
	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/plan"
	"netlab/lab/state"
	"netlab/topologies"
)

// policyLab loads policy-routing.yaml under name.
func policyLab(t *testing.T, name string) *lab.Lab {
	t.Helper()
	data, err := topologies.Read("policy-routing.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return parseLab(t, strings.Replace(string(data), "name: policy-rt\n", "name: "+name+"\n", 1))
}

// ipOut runs ip with args and returns what it printed.
func ipOut(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// rxPackets reads a link's received packets with ip -s, as a person
// would check which way traffic went.
func rxPackets(t *testing.T, netns, dev string) int {
	t.Helper()
	lines := strings.Split(ipOut(t, "-n", netns, "-s", "link", "show", "dev", dev), "\n")
	for i, line := range lines {
		if strings.Contains(line, "RX:") && i+1 < len(lines) {
			var bytes, packets int
			if _, err := fmt.Sscan(lines[i+1], &bytes, &packets); err != nil {
				t.Fatalf("ip -s link show %s: %v", dev, err)
			}
			return packets
		}
	}
	t.Fatalf("ip -s link show %s: no RX line", dev)
	return 0
}

// pingCheck is the lab's ping check from node, a probe of netlab's own
// (no ping binary needed).
func pingCheck(t *testing.T, l *lab.Lab, node string) *lab.Check {
	t.Helper()
	for _, c := range l.Checks {
		if c.From == node && c.Ping.IsValid() && c.Expect != "fail" {
			return c
		}
	}
	t.Fatalf("policy-routing.yaml has no ping check from %s", node)
	return nil
}

// TestPolicyRoutingOnLinux brings up policy-routing.yaml in the real
// kernel and proves, from outside with ip and with traffic, that the two
// LANs leave by different providers: ip rule and ip route show table N
// show netlab's rules and tables (proto 78); the server sees alice's
// packets from isp1 and bob's from isp2 (the lab's checks, by the
// masqueraded source), and the packets are counted on the uplink each
// rule picks and not on the other. Then drift: netlab's rule deleted by
// hand is planned back and restored by up; a table route deleted by
// hand is restored; a rule added by hand is left by up (and it works:
// alice goes out by isp2), and up with the rule removed from the file
// deletes netlab's rule and not the person's.
func TestPolicyRoutingOnLinux(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	// A name of this part's own: nltestrt and four hex digits.
	l := policyLab(t, kerneltest.RegisterLab(t, fmt.Sprintf("nltestrt%04x", rand.IntN(1<<16))))
	gw := state.NetNSName(l.Name, "gw")
	upEdited(t, l)

	rules := ipOut(t, "-n", gw, "rule", "show")
	for _, want := range []string{"1000:\tfrom 10.0.1.0/24 lookup 101 proto 78", "1001:\tfrom 10.0.2.0/24 lookup 102 proto 78", "32766:\tfrom all lookup main"} {
		if !strings.Contains(rules, want) {
			t.Errorf("ip rule show lacks %q:\n%s", want, rules)
		}
	}
	for table, via := range map[string]string{"101": "10.255.1.2", "102": "10.255.2.2"} {
		got := ipOut(t, "-n", gw, "route", "show", "table", table)
		if want := "default via " + via + " dev up"; !strings.Contains(got, want) || !strings.Contains(got, "proto 78") {
			t.Errorf("ip route show table %s = %q, want %q with proto 78", table, got, want)
		}
	}
	if got := ipOut(t, "-n", gw, "route", "show", "default"); got != "" {
		t.Errorf("gw's main table has a default route, which the lab does not give: %q", got)
	}

	requireChecks := func(what string, checks []*lab.Check) {
		t.Helper()
		for attempt := 1; ; attempt++ {
			failed := ""
			for _, r := range check.Run(context.Background(), kernel.NewLinux(), l, checks) {
				t.Logf("%s: %s passed=%v %s", what, r.Name, r.Passed, r.Detail())
				if !r.Passed {
					failed += r.Name + ": " + r.Detail() + "; "
				}
			}
			if failed == "" {
				return
			}
			if attempt == 3 {
				t.Fatalf("%s: %s", what, failed)
			}
		}
	}
	requireChecks("as up made it", l.Checks) // its path checks among them: traced by way of gw and each's provider

	// The route of each LAN's packets at gw, as trace asks it (src and
	// iif, RTM_GETROUTE), and the main table's, which has none.
	lk := kernel.NewLinux()
	defer lk.Close()
	server := netip.MustParseAddr("203.0.113.10")
	for src, want := range map[string]string{"10.0.1.10 sales": "up1 via 10.255.1.2", "10.0.2.10 lab": "up2 via 10.255.2.2"} {
		addr, iif, _ := strings.Cut(src, " ")
		hop, err := lk.FlowHop(gw, kernel.Flow{Dst: server, Src: netip.MustParseAddr(addr), IIf: iif})
		if got := hop.Dev + " via " + hop.Gateway.String(); err != nil || got != want {
			t.Errorf("FlowHop from %s: %q, %v; want %q", src, got, err, want)
		}
	}
	if _, err := lk.NextHop(gw, server); !kernel.IsNoRoute(err) {
		t.Errorf("NextHop at gw to the server: %v, want no route (gw's main table has none)", err)
	}

	// The counters of the two uplinks, as ip -s shows them, from the
	// providers' side.
	isp1, isp2 := state.NetNSName(l.Name, "isp1"), state.NetNSName(l.Name, "isp2")
	// Twenty pings, each an echo request at least, and the packets each
	// provider's downlink received meanwhile (a stray IPv6 neighbour
	// message or two aside).
	sent := func(from string) (via1, via2 int) {
		t.Helper()
		c := pingCheck(t, l, from)
		a1, a2 := rxPackets(t, isp1, "down"), rxPackets(t, isp2, "down")
		for range 20 {
			if r := check.Run(context.Background(), kernel.NewLinux(), l, []*lab.Check{c})[0]; !r.Passed {
				t.Fatalf("%s: %s", r.Name, r.Detail())
			}
		}
		return rxPackets(t, isp1, "down") - a1, rxPackets(t, isp2, "down") - a2
	}
	if v1, v2 := sent("alice"); v1 < 20 || v2 > 2 {
		t.Errorf("alice's 20 pings: %d packets reached isp1, %d isp2; want all by isp1", v1, v2)
	}
	if v1, v2 := sent("bob"); v2 < 20 || v1 > 2 {
		t.Errorf("bob's 20 pings: %d packets reached isp1, %d isp2; want all by isp2", v1, v2)
	}

	// Drift: netlab's rule and a table's route, deleted by hand.
	ip(t, "-n", gw, "rule", "del", "priority", "1000", "from", "10.0.1.0/24", "table", "101")
	ip(t, "-n", gw, "route", "del", "default", "table", "102")
	p := upEdited(t, l)
	var repaired []string
	for _, c := range p.Changes {
		if c.Action == plan.Create && (c.Object == plan.Rule || c.Object == plan.Route) {
			repaired = append(repaired, c.Describe())
		}
	}
	want := []string{"rule -4 priority 1000 from 10.0.1.0/24 lookup 101", "route default via 10.255.2.2 table 102"}
	if strings.Join(repaired, "; ") != strings.Join(want, "; ") {
		t.Errorf("up after the hand deletes created %q, want %q", repaired, want)
	}
	if got := ipOut(t, "-n", gw, "rule", "show", "priority", "1000"); !strings.Contains(got, "from 10.0.1.0/24 lookup 101 proto 78") {
		t.Errorf("after up, rule 1000 is %q", got)
	}
	if got := ipOut(t, "-n", gw, "route", "show", "table", "102"); !strings.Contains(got, "default via 10.255.2.2") {
		t.Errorf("after up, table 102 is %q", got)
	}
	requireChecks("repaired", l.Checks)

	// A rule of a person's, before netlab's: up leaves it, and it is
	// what routes alice now.
	ip(t, "-n", gw, "rule", "add", "priority", "500", "from", "10.0.1.10", "table", "102")
	if p := upEdited(t, l); !p.Empty() {
		var b strings.Builder
		p.WriteText(&b)
		t.Errorf("up with a hand rule planned changes:\n%s", b.String())
	}
	if got := ipOut(t, "-n", gw, "rule", "show", "priority", "500"); !strings.Contains(got, "from 10.0.1.10 lookup 102") {
		t.Errorf("after up, the hand rule 500 is %q", got)
	}
	if v1, v2 := sent("alice"); v2 < 20 || v1 > 2 {
		t.Errorf("alice's 20 pings under the hand rule: %d packets reached isp1, %d isp2; want all by isp2", v1, v2)
	}

	// The rules taken out of the file: netlab's go, the person's stays.
	edited := policyLab(t, l.Name)
	edited.Node("gw").Rules = nil
	upEdited(t, edited)
	rules = ipOut(t, "-n", gw, "rule", "show")
	if strings.Contains(rules, "proto 78") {
		t.Errorf("after up without rules, netlab's rules are still there:\n%s", rules)
	}
	if !strings.Contains(rules, "500:\tfrom 10.0.1.10 lookup 102") {
		t.Errorf("after up without rules, the hand rule is gone:\n%s", rules)
	}
	if r := check.Run(context.Background(), kernel.NewLinux(), edited, []*lab.Check{pingCheck(t, edited, "bob")})[0]; r.Passed {
		t.Error("bob reaches the server with no rule to send him to table 102: the main table has no way out")
	} else {
		t.Logf("bob without the rules: %s", r.Detail())
	}
}
