package check_test

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"netlab/lab"
	"netlab/lab/check"
	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/labfile"
	"netlab/lab/reconcile"
	"netlab/lab/validate"
	"netlab/topologies"
)

func TestMain(m *testing.M) {
	// The real kernel starts commands and processes in nodes through
	// this binary, again, as netlab's launcher.
	kernel.AnswerLauncher()
	os.Exit(kerneltest.LeakCheck(m).Run())
}

// parseLab loads and validates a lab file given as text.
func parseLab(t *testing.T, text string) *lab.Lab {
	t.Helper()
	l, diags := labfile.Parse("test.yaml", []byte(text))
	diags.Append(validate.Lab(l)...)
	if diags.HasErrors() {
		t.Fatalf("lab file is invalid: %v\n%s", diags.Err(), text)
	}
	return l
}

// defaultLab is the built-in default lab under a fresh test name, with
// extra checks appended to its own.
func defaultLab(t *testing.T, extraChecks ...string) *lab.Lab {
	t.Helper()
	name := kerneltest.LabName(t)
	text := string(topologies.Default())
	if !strings.Contains(text, "name: single-ip\n") {
		t.Fatal("the default lab no longer has the line \"name: single-ip\"")
	}
	text = strings.Replace(text, "name: single-ip\n", "name: "+name+"\n", 1)
	for _, c := range extraChecks {
		text += "  - " + c + "\n"
	}
	return parseLab(t, text)
}

// up plans, applies and verifies l, as netlab up does.
func up(t *testing.T, l *lab.Lab) {
	t.Helper()
	k := kernel.NewLinux()
	defer k.Close()
	if _, err := reconcile.Up(context.Background(), k, l, reconcile.Options{}); err != nil {
		t.Fatalf("up: %v", err)
	}
}

// run runs the lab's checks and logs each result.
func run(t *testing.T, l *lab.Lab) []check.Result {
	t.Helper()
	return runOn(t, kernel.NewLinux(), l)
}

// runOn runs the lab's checks in ns and logs each result.
func runOn(t *testing.T, ns kernel.NetNS, l *lab.Lab) []check.Result {
	t.Helper()
	res := check.Run(context.Background(), ns, l, l.Checks)
	for _, r := range res {
		t.Logf("%-50s passed=%v reached=%v %s (%s)", r.Name, r.Passed, r.Reached, r.Detail(), r.Elapsed.Round(time.Millisecond))
	}
	return res
}

// byName finds the result of the check named name.
func byName(t *testing.T, res []check.Result, name string) check.Result {
	t.Helper()
	for _, r := range res {
		if r.Name == name {
			return r
		}
	}
	var names []string
	for _, r := range res {
		names = append(names, r.Name)
	}
	t.Fatalf("no check named %q among %q", name, names)
	return check.Result{}
}

// TestDefaultLabChecksPass brings the default lab up and runs its own
// checks: all pass, including the UDP check whose responder sees the
// host's masquerade address, and the one that must fail.
func TestDefaultLabChecksPass(t *testing.T) {
	t.Parallel()
	onBothNets(t, testDefaultLabChecksPass)
}

func testDefaultLabChecksPass(t *testing.T, n *network) {
	l := defaultLab(t)
	n.up(t, l)
	res := n.run(t, l)
	if len(res) != 4 {
		t.Fatalf("got %d results, want 4", len(res))
	}
	for _, r := range res {
		if !r.Passed {
			t.Errorf("%s: failed: %s", r.Name, r.Detail())
		}
	}
	udp := byName(t, res, "c2 -> server udp/7 (198.51.100.183)")
	if udp.Seen.String() != "198.51.100.86" {
		t.Errorf("%s: seen %s, want 198.51.100.86", udp.Name, udp.Seen)
	}
	blocked := byName(t, res, "server ping 192.168.31.10")
	if blocked.Reached || !strings.HasPrefix(blocked.Reason, "no route to 192.168.31.10 from node server") {
		t.Errorf("%s: reached=%v reason %q, want no route", blocked.Name, blocked.Reached, blocked.Reason)
	}
}

// TestProbeKinds covers each kind of probe: ICMP, TCP and UDP to a node,
// with the source the responder saw through the host's masquerade, and
// without NAT on the bridge; expect: fail for TCP; and a seen-source
// that does not match.
func TestProbeKinds(t *testing.T) {
	t.Parallel()
	onBothNets(t, testProbeKinds)
}

func testProbeKinds(t *testing.T, n *network) {
	l := defaultLab(t,
		"{from: c2, to: server, seen-source: 198.51.100.86}",
		"{from: c3, to: server, proto: tcp, port: 8080, seen-source: 198.51.100.86}",
		"{from: c1, to: server, proto: udp, port: 5353, seen-source: 198.51.100.86}",
		"{from: c1, to: c2, proto: tcp, port: 8080, seen-source: 192.168.31.10}",
		"{from: c1, to: c2, proto: icmp, seen-source: 192.168.31.10}",
		"{from: server, to: c1, proto: tcp, port: 22, expect: fail}",
		"{from: server, to: c1, proto: udp, port: 53, expect: fail}",
		"{from: c3, to: c1, proto: udp, port: 9, seen-source: 198.51.100.86}",
		"{from: c1, to: c3, proto: tcp, port: 8080, expect: fail}",
	)
	n.up(t, l)
	res := n.run(t, l)
	tests := []struct {
		name    string
		passed  bool
		reached bool
		seen    string
		reason  string // a substring of Reason
	}{
		{name: "c2 -> server icmp (198.51.100.183)", passed: true, reached: true, seen: "198.51.100.86"},
		{name: "c3 -> server tcp/8080 (198.51.100.183)", passed: true, reached: true, seen: "198.51.100.86"},
		{name: "c1 -> server udp/5353 (198.51.100.183)", passed: true, reached: true, seen: "198.51.100.86"},
		{name: "c1 -> c2 tcp/8080 (192.168.31.11)", passed: true, reached: true, seen: "192.168.31.10"},
		{name: "c1 -> c2 icmp (192.168.31.11)", passed: true, reached: true, seen: "192.168.31.10"},
		{name: "server -> c1 tcp/22 (192.168.31.10)", passed: true, reason: "no route to 192.168.31.10 from node server"},
		{name: "server -> c1 udp/53 (192.168.31.10)", passed: true, reason: "no route to 192.168.31.10 from node server"},
		// The bridge does not masquerade: c1 sees c3's own address.
		{name: "c3 -> c1 udp/9 (192.168.31.10)", passed: false, reached: true, seen: "192.168.31.12", reason: "c1 saw source 192.168.31.12, want 198.51.100.86"},
		// expect: fail on traffic that gets through fails the check.
		{name: "c1 -> c3 tcp/8080 (192.168.31.12)", passed: false, reached: true, seen: "192.168.31.10"},
	}
	for _, tc := range tests {
		r := byName(t, res, tc.name)
		if r.Err != nil {
			t.Errorf("%s: %v", tc.name, r.Err)
			continue
		}
		if r.Passed != tc.passed || r.Reached != tc.reached {
			t.Errorf("%s: passed=%v reached=%v, want passed=%v reached=%v (%s)", tc.name, r.Passed, r.Reached, tc.passed, tc.reached, r.Detail())
		}
		if tc.seen != "" && r.Seen.String() != tc.seen {
			t.Errorf("%s: seen %s, want %s", tc.name, r.Seen, tc.seen)
		}
		if !strings.Contains(r.Reason, tc.reason) {
			t.Errorf("%s: reason %q, want it to contain %q", tc.name, r.Reason, tc.reason)
		}
		if tc.reached && r.RTT <= 0 {
			t.Errorf("%s: rtt %v, want > 0", tc.name, r.RTT)
		}
	}
	if d := byName(t, res, "c1 -> c3 tcp/8080 (192.168.31.12)").Detail(); !strings.Contains(d, "expects it to fail") {
		t.Errorf("detail of a check that got through against expect: fail: %q", d)
	}
}

// TestBrokenLab deletes c1's default route by hand: the check from c1 to
// the server fails, saying there is no route; the others still pass.
func TestBrokenLab(t *testing.T) {
	t.Parallel()
	onBothNets(t, testBrokenLab)
}

func testBrokenLab(t *testing.T, n *network) {
	l := defaultLab(t)
	n.up(t, l)
	n.delRoute(t, l.Name+".c1", "default")
	res := n.run(t, l)
	r := byName(t, res, "c1 ping 198.51.100.183")
	if r.Passed || r.Reached {
		t.Fatalf("%s passed with c1's default route deleted: %s", r.Name, r.Detail())
	}
	if want := "no route to 198.51.100.183 from node c1"; r.Reason != want {
		t.Errorf("reason %q, want %q", r.Reason, want)
	}
	for _, name := range []string{"c1 ping 192.168.31.11", "c2 -> server udp/7 (198.51.100.183)", "server ping 192.168.31.10"} {
		if r := byName(t, res, name); !r.Passed {
			t.Errorf("%s failed: %s", name, r.Detail())
		}
	}
}

// TestChecksRunConcurrently gives the lab eight checks that each wait
// out their 1s timeout (an address on c1's subnet that nobody holds, so
// ARP gets no reply): together they take about one timeout, not eight,
// and each says that ARP got no reply.
func TestChecksRunConcurrently(t *testing.T) {
	t.Parallel()
	onBothNets(t, testChecksRunConcurrently)
}

func testChecksRunConcurrently(t *testing.T, n *network) {
	var extra []string
	for _, a := range []string{"99", "98", "97", "96"} {
		extra = append(extra, "{from: c1, ping: 192.168.31."+a+", expect: fail}", "{from: c2, ping: 192.168.31."+a+", expect: fail}")
	}
	l := defaultLab(t, extra...)
	n.up(t, l)
	start := time.Now()
	res := n.run(t, l)
	elapsed := time.Since(start)
	var sum time.Duration
	for _, c := range l.Checks {
		sum += c.Timeout
	}
	if elapsed > 3*time.Second {
		t.Errorf("%d checks took %s; the sum of their timeouts is %s: they did not run at once", len(res), elapsed, sum)
	}
	for _, r := range res[4:] {
		if !r.Passed || !strings.HasPrefix(r.Reason, "no ARP reply") {
			t.Errorf("%s: passed=%v reason %q, want a pass with no ARP reply", r.Name, r.Passed, r.Reason)
		}
	}
}

// TestIPv6 pings and probes over IPv6: ping, ICMPv6, TCP and UDP checks,
// with the sources seen, and a ping with no route.
func TestIPv6(t *testing.T) {
	t.Parallel()
	onBothNets(t, testIPv6)
}

func testIPv6(t *testing.T, n *network) {
	name := kerneltest.LabName(t)
	l := parseLab(t, `name: `+name+`
nodes:
  a:
    interfaces:
      eth0: {addresses: ["2001:db8::1/64"]}
  b:
    interfaces:
      eth0: {addresses: ["2001:db8::2/64"]}
links:
  - [a:eth0, b:eth0]
checks:
  - {from: a, ping: "2001:db8::2", timeout: 5s}
  - {from: a, to: b, seen-source: "2001:db8::1", timeout: 5s}
  - {from: b, to: a, proto: tcp, port: 80, seen-source: "2001:db8::2", timeout: 5s}
  - {from: b, to: a, proto: udp, port: 53, seen-source: "2001:db8::2", timeout: 5s}
  - {from: a, ping: "2001:db8:1::9", expect: fail}
`)
	n.up(t, l)
	res := n.run(t, l)
	for _, r := range res {
		if !r.Passed {
			t.Errorf("%s: %s", r.Name, r.Detail())
		}
	}
	if want := "blocked as expected: no route to 2001:db8:1::9 from node a"; res[4].Detail() != want {
		t.Errorf("%s: %q, want %q", res[4].Name, res[4].Detail(), want)
	}
}

// TestNotRunning: a check on a lab that is not up fails with the fix,
// even when it expects a failure.
func TestNotRunning(t *testing.T) {
	t.Parallel()
	onBothNets(t, testNotRunning)
}

func testNotRunning(t *testing.T, n *network) {
	l := defaultLab(t)
	for _, r := range n.run(t, l) {
		if r.Passed || r.Err == nil || !strings.Contains(r.Err.Error(), "is not running: start the lab with netlab up") {
			t.Errorf("%s: passed=%v err=%v, want a failure saying the node is not running", r.Name, r.Passed, r.Err)
		}
	}
}

// TestNoLeak runs the default lab's checks, some of which time out, and
// finds the process with as many file descriptors and goroutines as
// before. It is not parallel, so no other test opens files meanwhile.
func TestNoLeak(t *testing.T) {
	kerneltest.RequireRoot(t)
	l := defaultLab(t,
		"{from: c1, ping: 192.168.31.99, expect: fail}",
		"{from: c3, to: server, proto: tcp, port: 8080}",
		"{from: c3, to: server, proto: udp, port: 8080}",
		"{from: c3, to: server, proto: icmp}",
	)
	up(t, l)
	run(t, l) // warm up: the runtime's own threads and pollers
	fds, gs := countFDs(t), runtime.NumGoroutine()
	res := run(t, l)
	for _, r := range res {
		if !r.Passed {
			t.Errorf("%s: %s", r.Name, r.Detail())
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		fdsAfter, gsAfter := countFDs(t), runtime.NumGoroutine()
		if fdsAfter <= fds && gsAfter <= gs {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the checks: %d fds (before %d), %d goroutines (before %d)", fdsAfter, fds, gsAfter, gs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func countFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// ip runs ip(8) as a person would to change a lab by hand.
func ip(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// TestReasons: the reason a probe fails names what stopped it: a router
// with no route, a firewall that rejects (refused) or drops (timed out)
// on the way in, and one that drops on the way out.
func TestReasons(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	l := defaultLab(t,
		"{from: c1, ping: 203.0.113.1, expect: fail}",
		"{from: c1, to: server, address: 203.0.113.1, proto: tcp, port: 80, expect: fail}",
	)
	name := kerneltest.LabName(t)
	fw := parseLab(t, `name: `+name+`
nodes:
  a:
    interfaces:
      eth0: {addresses: [192.0.2.1/24]}
    firewall:
      output:
        rules:
          - {action: drop, proto: udp, dport: 25}
  b:
    interfaces:
      eth0: {addresses: [192.0.2.2/24]}
    firewall:
      input:
        rules:
          - {action: reject, proto: tcp, dport: 22}
          - {action: drop, proto: tcp, dport: 23}
          - {action: reject, proto: udp, dport: 53}
links:
  - [a:eth0, b:eth0]
checks:
  - {from: a, to: b, proto: tcp, port: 22, expect: fail}
  - {from: a, to: b, proto: tcp, port: 23, expect: fail}
  - {from: a, to: b, proto: udp, port: 53, expect: fail}
  - {from: a, to: b, proto: udp, port: 25, expect: fail}
  - {from: a, to: b, proto: tcp, port: 80}
`)
	up(t, l)
	up(t, fw)
	res := append(run(t, l), run(t, fw)...)
	tests := []struct{ name, reason string }{
		{"c1 ping 203.0.113.1", "no route at 192.168.31.1 (ICMP destination unreachable, net unreachable)"},
		{"c1 -> server tcp/80 (203.0.113.1)", "no route to 203.0.113.1 beyond 192.168.31.1 (a router on the way reported network unreachable)"},
		{"a -> b tcp/22 (192.0.2.2)", "refused by 192.0.2.2 (nothing listens there, or a firewall rejects)"},
		{"a -> b tcp/23 (192.0.2.2)", "timed out after 1s (node a sends it on-link on eth0; dropped further on, or no way back)"},
		{"a -> b udp/53 (192.0.2.2)", "refused by 192.0.2.2 (nothing listens there, or a firewall rejects)"},
		{"a -> b udp/25 (192.0.2.2)", "blocked by a firewall in node a (its output rules dropped the packet)"},
		{"a -> b tcp/80 (192.0.2.2)", ""},
	}
	for _, tc := range tests {
		r := byName(t, res, tc.name)
		if !r.Passed || r.Reason != tc.reason {
			t.Errorf("%s: passed=%v reason %q, want a pass with reason %q", tc.name, r.Passed, r.Reason, tc.reason)
		}
	}
}

// TestICMPRuleFamily: a firewall rule with proto icmp and an IPv6
// destination drops ICMPv6 echo requests, as one with an IPv4
// destination drops ICMPv4 ones; before, it matched ICMPv4 (protocol 1)
// in IPv6 packets, which never come, so the IPv6 ping got through.
// TCP to the same server proves the IPv6 path is up before the pings.
func TestICMPRuleFamily(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	name := kerneltest.LabName(t)
	l := parseLab(t, `name: `+name+`
nodes:
  c:
    interfaces:
      eth0: {addresses: [10.72.0.2/24, "fd72:1::2/64"]}
    routes: [{to: default, via: 10.72.0.1}, {to: "::/0", via: "fd72:1::1"}]
  gw:
    sysctls: {net.ipv4.ip_forward: 1, net.ipv6.conf.all.forwarding: 1}
    interfaces:
      eth0: {addresses: [10.72.0.1/24, "fd72:1::1/64"]}
      eth1: {addresses: [10.73.0.1/24, "fd72:2::1/64"]}
    firewall:
      forward:
        policy: accept
        rules:
          - {action: drop, proto: icmp, destination: "fd72:2::/64"}
          - {action: drop, proto: icmp, destination: 10.73.0.0/24}
  s:
    interfaces:
      eth0: {addresses: [10.73.0.2/24, "fd72:2::2/64"]}
    routes: [{to: default, via: 10.73.0.1}, {to: "::/0", via: "fd72:2::1"}]
links:
  - [c:eth0, gw:eth0]
  - [gw:eth1, s:eth0]
checks:
  - {from: c, to: s, address: "fd72:2::2", proto: tcp, port: 80, timeout: 5s}
  - {from: c, to: s, address: 10.73.0.2, proto: tcp, port: 80, timeout: 5s}
  - {from: c, ping: "fd72:2::2", expect: fail}
  - {from: c, ping: 10.73.0.2, expect: fail}
`)
	up(t, l)
	// The TCP checks first, alone: the pings are sent once both paths
	// carry traffic, so neither can fail for a path still coming up.
	passInTurn(t, l, l.Checks[:2], l.Checks[2:])
}

// passInTurn runs each batch of l's checks once the batch before it has
// finished, and reports each check that does not pass.
func passInTurn(t *testing.T, l *lab.Lab, batches ...[]*lab.Check) {
	t.Helper()
	for _, checks := range batches {
		for _, r := range check.Run(context.Background(), kernel.NewLinux(), l, checks) {
			if !r.Passed {
				t.Errorf("%s: %s", r.Name, r.Detail())
			}
		}
	}
}

// TestIPv6ThroughRouterAtOnce: IPv6 through a router works as soon as up
// is done. The router's link-local addresses used to be tentative for a
// second or two (duplicate address detection), and without one it sends
// no neighbor solicitation, so a check run right after up failed. No
// address of any node is tentative once up returns; the ping's timeout
// leaves room for the kernel's link watch, which turns a new link's
// carrier on up to a second late on a busy machine.
func TestIPv6ThroughRouterAtOnce(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	name := kerneltest.LabName(t)
	l := parseLab(t, `name: `+name+`
nodes:
  c:
    interfaces:
      eth0: {addresses: ["fd74:1::2/64"]}
    routes: [{to: "::/0", via: "fd74:1::1"}]
  r:
    sysctls: {net.ipv6.conf.all.forwarding: 1}
    interfaces:
      eth0: {addresses: ["fd74:1::1/64"]}
      eth1: {addresses: ["fd74:2::1/64"]}
  s:
    interfaces:
      eth0: {addresses: ["fd74:2::2/64"]}
    routes: [{to: "::/0", via: "fd74:2::1"}]
links:
  - [c:eth0, r:eth0]
  - [r:eth1, s:eth0]
checks:
  - {from: c, ping: "fd74:2::2", timeout: 2s}
`)
	up(t, l)
	for _, node := range []string{"c", "r", "s"} {
		ns := name + "." + node
		out, err := exec.Command("ip", "-n", ns, "-6", "addr", "show", "tentative").CombinedOutput()
		if err != nil {
			t.Fatalf("ip -n %s addr show tentative: %v: %s", ns, err, out)
		}
		if len(out) != 0 {
			t.Errorf("node %s has tentative addresses right after up:\n%s", node, out)
		}
	}
	for _, r := range run(t, l) {
		if !r.Passed {
			t.Errorf("%s right after up: %s", r.Name, r.Detail())
		}
	}
}
