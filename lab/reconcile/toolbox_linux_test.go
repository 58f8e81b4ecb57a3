package reconcile_test

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/plan"
	"netlab/lab/reconcile"
	"netlab/lab/state"
	"netlab/topologies"
)

// toolboxLab returns a lab name for this part's tests: nltestsh and 4
// random letters, removed when the test ends.
func toolboxLab(t *testing.T) string {
	t.Helper()
	const letters = "abcdefghijklmnopqrstuvwxyz"
	b := make([]byte, 4)
	rand.Read(b)
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return kerneltest.RegisterLab(t, "nltestsh"+string(b))
}

// tc runs tc as a user would, from outside.
func tc(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("tc", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("tc %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// measure sends from a to b's 10.0.0.2:5001 for d and returns the rate
// the receiver saw, in bits per second.
func measure(t *testing.T, k *kernel.Linux, a, b string, d time.Duration) float64 {
	t.Helper()
	ln, err := k.ListenIn(b, "tcp", "10.0.0.2:5001")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type result struct {
		n       int64
		elapsed time.Duration
		err     error
	}
	got := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- result{err: err}
			return
		}
		defer c.Close()
		buf := make([]byte, 64<<10)
		var n int64
		var start time.Time
		for {
			m, err := c.Read(buf)
			if m > 0 && start.IsZero() {
				start = time.Now()
			}
			n += int64(m)
			if err != nil {
				if errors.Is(err, io.EOF) {
					err = nil
				}
				got <- result{n, time.Since(start), err}
				return
			}
		}
	}()
	c, err := k.DialIn(ctx, a, "tcp", "10.0.0.2:5001")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		c.SetWriteDeadline(deadline)
		if _, err := c.Write(buf); err != nil {
			break // the deadline
		}
	}
	c.Close()
	r := <-got
	if r.err != nil {
		t.Fatal(r.err)
	}
	return float64(r.n*8) / r.elapsed.Seconds()
}

// TestRateOnLinux shapes a's egress to 10mbit: tc shows netlab's tbf at
// 4e:, a transfer from a to b runs at no more than about 10 Mbit/s, and a
// qdisc deleted by hand is drift that up puts back.
func TestRateOnLinux(t *testing.T) {
	kerneltest.RequireRoot(t)
	kerneltest.SkipIfLacks(t, kernel.NeedTBF)
	name := toolboxLab(t)
	l := parse(t, strings.Replace(strings.Replace(pairLab, "name: pair", "name: "+name, 1),
		"eth0: {addresses: [10.0.0.1/24]}", "eth0: {addresses: [10.0.0.1/24], rate: 10mbit}", 1))
	k := kernel.NewLinux()
	defer k.Close()
	if _, err := reconcile.Up(ctx, k, l, reconcile.Options{}); err != nil {
		t.Fatal(err)
	}
	defer reconcile.Down(ctx, k, name, reconcile.DownOptions{})
	nsA, nsB := state.NetNSName(name, "a"), state.NetNSName(name, "b")
	show := tc(t, "-n", nsA, "qdisc", "show", "dev", "eth0")
	if !strings.Contains(show, "qdisc tbf 4e: root") || !strings.Contains(show, "rate 10Mbit") {
		t.Fatalf("tc qdisc show: %q, want netlab's tbf 4e: at 10Mbit", show)
	}
	if show := tc(t, "-n", nsB, "qdisc", "show", "dev", "eth0"); strings.Contains(show, "4e:") {
		t.Errorf("b's eth0 has a qdisc of netlab's: %q", show)
	}

	rate := measure(t, k, nsA, nsB, 3*time.Second)
	t.Logf("a to b through rate: 10mbit: %.2f Mbit/s", rate/1e6)
	if rate > 11e6 || rate < 5e6 {
		t.Errorf("measured %.2f Mbit/s, want about 10 (no more than 11)", rate/1e6)
	}
	// The other way is not shaped.
	back := measureBack(t, k, nsB, nsA)
	t.Logf("b to a, not shaped: %.2f Mbit/s", back/1e6)
	if back < 3*rate {
		t.Errorf("b to a: %.2f Mbit/s, want far above the shaped direction's %.2f", back/1e6, rate/1e6)
	}

	// Drift: deleted by hand, planned as an update of egress, repaired.
	tc(t, "-n", nsA, "qdisc", "del", "dev", "eth0", "root")
	planned, err := reconcile.Plan(ctx, k, l, reconcile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !hasEgressUpdate(planned.Plan, "a", "eth0") {
		var b strings.Builder
		planned.Plan.WriteText(&b)
		t.Fatalf("plan after tc qdisc del:\n%s", b.String())
	}
	if _, err := reconcile.Up(ctx, k, l, reconcile.Options{}); err != nil {
		t.Fatal(err)
	}
	if show := tc(t, "-n", nsA, "qdisc", "show", "dev", "eth0"); !strings.Contains(show, "qdisc tbf 4e: root") {
		t.Fatalf("after up: %q, want netlab's tbf back", show)
	}
	// Someone else's root qdisc: on b:eth0, which declares no impairment,
	// left alone; on a:eth0, which does, replaced by netlab's.
	tc(t, "-n", nsB, "qdisc", "add", "dev", "eth0", "root", "handle", "8001:", "tbf", "rate", "1mbit", "burst", "32kb", "latency", "50ms")
	tc(t, "-n", nsA, "qdisc", "replace", "dev", "eth0", "root", "handle", "8002:", "tbf", "rate", "1mbit", "burst", "32kb", "latency", "50ms")
	planned, err = reconcile.Plan(ctx, k, l, reconcile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !hasEgressUpdate(planned.Plan, "a", "eth0") || hasEgressUpdate(planned.Plan, "b", "eth0") {
		var b strings.Builder
		planned.Plan.WriteText(&b)
		t.Fatalf("plan with users' qdiscs on a:eth0 and b:eth0:\n%s", b.String())
	}
	if _, err := reconcile.Up(ctx, k, l, reconcile.Options{}); err != nil {
		t.Fatal(err)
	}
	if show := tc(t, "-n", nsA, "qdisc", "show", "dev", "eth0"); !strings.Contains(show, "qdisc tbf 4e: root") || strings.Contains(show, "8002:") {
		t.Errorf("a:eth0 after up: %q, want netlab's tbf in place of the user's", show)
	}
	if show := tc(t, "-n", nsB, "qdisc", "show", "dev", "eth0"); !strings.Contains(show, "qdisc tbf 8001: root") {
		t.Errorf("b:eth0 after up: %q, want the user's tbf kept", show)
	}
	s, err := k.Observe(ctx, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Nodes["b"].Links["eth0"].OtherQdisc; got != "tbf 8001:" {
		t.Errorf("b:eth0's other qdisc = %q, want tbf 8001:", got)
	}
	tc(t, "-n", nsB, "qdisc", "del", "dev", "eth0", "root")

	// Changed in the file: changed in place.
	l.Node("a").Interface("eth0").Egress.Rate = 20e6
	if _, err := reconcile.Up(ctx, k, l, reconcile.Options{}); err != nil {
		t.Fatal(err)
	}
	if show := tc(t, "-n", nsA, "qdisc", "show", "dev", "eth0"); !strings.Contains(show, "rate 20Mbit") {
		t.Fatalf("after the change to 20mbit: %q", show)
	}
	// Removed from the file: netlab's qdisc goes, the kernel's default is back.
	l.Node("a").Interface("eth0").Egress = l.Node("b").Interface("eth0").Egress
	if _, err := reconcile.Up(ctx, k, l, reconcile.Options{}); err != nil {
		t.Fatal(err)
	}
	if show := tc(t, "-n", nsA, "qdisc", "show", "dev", "eth0"); strings.Contains(show, "4e:") {
		t.Fatalf("after rate was removed: %q", show)
	}
}

// measureBack is measure the other way, to 10.0.0.1.
func measureBack(t *testing.T, k *kernel.Linux, from, to string) float64 {
	t.Helper()
	ln, err := k.ListenIn(to, "tcp", "10.0.0.1:5002")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan float64, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- 0
			return
		}
		defer c.Close()
		start := time.Now()
		n, _ := io.Copy(io.Discard, c)
		done <- float64(n*8) / time.Since(start).Seconds()
	}()
	c, err := k.DialIn(ctx, from, "tcp", "10.0.0.1:5002")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		c.SetWriteDeadline(deadline)
		if _, err := c.Write(buf); err != nil {
			break
		}
	}
	c.Close()
	return <-done
}

func hasEgressUpdate(p *plan.Plan, node, link string) bool {
	for _, c := range p.Changes {
		if c.Node != node || c.Name != link || c.Action != plan.Update {
			continue
		}
		for _, a := range c.Attrs {
			if a.Link == state.AttrEgress {
				return true
			}
		}
	}
	return false
}

// outsideHas asks ip or tc, in a namespace of their own (unshare -n),
// whether the kernel makes what cmd makes on a veth nlx0: the check from
// outside that netlab's own probe is compared with.
func outsideHas(t *testing.T, cmd string) bool {
	t.Helper()
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("no unshare to check the kernel from outside")
	}
	return exec.Command("unshare", "-n", "sh", "-c", "ip link add nlx0 type veth peer name nlx1 && "+cmd).Run() == nil
}

// TestLacksOnLinux brings up a lab with a vlan and a delay: on a kernel
// without 802.1Q or netem (this machine's), plan and up refuse it at the
// fields, naming the kernel options, and nothing is made; on a kernel
// with both, netlab's probe agrees with ip and tc.
func TestLacksOnLinux(t *testing.T) {
	kerneltest.RequireRoot(t)
	hasVLAN := outsideHas(t, "ip link add link nlx0 name nlx0.10 type vlan id 10")
	hasNetem := outsideHas(t, "tc qdisc add dev nlx0 root netem delay 1ms")
	k := kernel.NewLinux()
	defer k.Close()
	lacks, err := k.Lacks(ctx, []kernel.Need{kernel.NeedVLAN, kernel.NeedNetem, kernel.NeedTBF, "veth", "bridge"})
	if err != nil {
		t.Fatal(err)
	}
	if _, lacked := lacks[kernel.NeedVLAN]; lacked == hasVLAN {
		t.Errorf("netlab says 802.1q lacking: %v; ip link add type vlan works: %v", lacked, hasVLAN)
	}
	if _, lacked := lacks[kernel.NeedNetem]; lacked == hasNetem {
		t.Errorf("netlab says netem lacking: %v; tc netem works: %v", lacked, hasNetem)
	}
	if e, lacked := lacks["veth"]; lacked {
		t.Errorf("veth lacking: %v", e)
	}
	// Every other need, against ip and tc.
	for need, cmd := range map[kernel.Need]string{
		"bridge":       "ip link add nlxb type bridge",
		"vxlan":        "ip link add nlxv type vxlan id 1 dstport 4789",
		"macvlan":      "ip link add link nlx0 name nlxm type macvlan mode bridge",
		"tun":          "ip tuntap add dev nlxt mode tun",
		"tap":          "ip tuntap add dev nlxp mode tap",
		kernel.NeedTBF: "tc qdisc add dev nlx0 root tbf rate 1mbit burst 32kb latency 50ms",
	} {
		got, err := k.Lacks(ctx, []kernel.Need{need})
		if err != nil {
			t.Fatal(err)
		}
		if _, lacked := got[need]; lacked == outsideHas(t, cmd) {
			t.Errorf("netlab says %s lacking: %v; %q works: %v", need, lacked, cmd, !lacked)
		}
	}
	if hasVLAN && hasNetem {
		t.Skip("this kernel has 802.1Q and netem: no refusal to see")
	}
	name := toolboxLab(t)
	text := "name: " + name + `
nodes:
  a:
    interfaces:
      eth0: {addresses: [10.0.0.1/24], delay: 20ms}
      eth0.10: {kind: vlan, vlan: {parent: eth0, id: 10}}
  b:
    interfaces:
      eth0: {addresses: [10.0.0.2/24]}
links:
  - [a:eth0, b:eth0]
`
	l := parse(t, text)
	for _, run := range []func() error{
		func() error { _, err := reconcile.Plan(ctx, k, l, reconcile.Options{}); return err },
		func() error { _, err := reconcile.Up(ctx, k, l, reconcile.Options{}); return err },
	} {
		err := run()
		var refused *reconcile.RefusedError
		if !errors.As(err, &refused) {
			t.Fatalf("err = %v, want a refusal", err)
		}
		msg := err.Error()
		if !hasVLAN && !strings.Contains(msg, `test.yaml:6:23: interface "eth0.10" of node "a" needs 802.1Q VLAN support (CONFIG_VLAN_8021Q), which this kernel lacks`) {
			t.Errorf("refusal %q does not point at the vlan's kind (6:23) with CONFIG_VLAN_8021Q", msg)
		}
		if !hasNetem && !strings.Contains(msg, `test.yaml:5:47: interface "eth0" of node "a" needs the netem qdisc (CONFIG_NET_SCH_NETEM), which this kernel lacks`) {
			t.Errorf("refusal %q does not point at delay (5:47) with CONFIG_NET_SCH_NETEM", msg)
		}
		t.Log(msg)
	}
	if ns, err := k.NetNSList(ctx, name); err != nil || len(ns) != 0 {
		t.Errorf("after the refusals: namespaces %v (%v), want none", ns, err)
	}
}

// TestFDBOnlyVXLANOnLinux carries TCP over a VXLAN with neither remote nor
// group: only its static fdb entries (a flood entry and the peer's MAC)
// say where frames go. A second vxlan shows proxy, l2miss, l3miss and
// nolearning as ip reads them, and a second plan is empty.
func TestFDBOnlyVXLANOnLinux(t *testing.T) {
	kerneltest.RequireRoot(t)
	kerneltest.SkipIfLacks(t, "vxlan")
	name := toolboxLab(t)
	text := "name: " + name + `
nodes:
  a:
    interfaces:
      eth0: {addresses: [10.0.0.1/24]}
      vx0:
        kind: vxlan
        mac: "02:00:00:00:09:01"
        addresses: [10.9.0.1/24]
        vxlan:
          vni: 42
          local: 10.0.0.1
          learning: false
          fdb:
            - {mac: "00:00:00:00:00:00", dst: 10.0.0.2}
            - {mac: "02:00:00:00:09:02", dst: 10.0.0.2}
      vx1:
        kind: vxlan
        vxlan: {vni: 43, local: 10.0.0.1, learning: false, proxy: true, l2miss: true, l3miss: true,
                fdb: [{mac: "00:00:00:00:00:00", dst: 10.0.0.2}]}
  b:
    interfaces:
      eth0: {addresses: [10.0.0.2/24]}
      vx0:
        kind: vxlan
        mac: "02:00:00:00:09:02"
        addresses: [10.9.0.2/24]
        vxlan:
          vni: 42
          local: 10.0.0.2
          learning: false
          fdb:
            - {mac: "00:00:00:00:00:00", dst: 10.0.0.1}
            - {mac: "02:00:00:00:09:01", dst: 10.0.0.1}
links:
  - [a:eth0, b:eth0]
`
	l := parse(t, text)
	k := kernel.NewLinux()
	defer k.Close()
	if _, err := reconcile.Up(ctx, k, l, reconcile.Options{}); err != nil {
		t.Fatal(err)
	}
	defer reconcile.Down(ctx, k, name, reconcile.DownOptions{})
	nsA, nsB := state.NetNSName(name, "a"), state.NetNSName(name, "b")

	show, err := exec.Command("ip", "-n", nsA, "-d", "link", "show", "vx1").CombinedOutput()
	if err != nil {
		t.Fatalf("ip link show: %v\n%s", err, show)
	}
	for _, want := range []string{"vxlan id 43", "nolearning", "proxy", "l2miss", "l3miss"} {
		if !strings.Contains(string(show), want) {
			t.Errorf("ip -d link show vx1: no %q in\n%s", want, show)
		}
	}
	_, vxLine, _ := strings.Cut(string(show), "vxlan id 43")
	vxLine, _, _ = strings.Cut(vxLine, "\n")
	if strings.Contains(vxLine, "remote") || strings.Contains(vxLine, "group") {
		t.Errorf("vx1 has a remote or group:\n%s", show)
	}
	fdb, err := exec.Command("bridge", "-n", nsA, "fdb", "show", "dev", "vx0").CombinedOutput()
	if err != nil {
		t.Fatalf("bridge fdb show: %v\n%s", err, fdb)
	}
	if !strings.Contains(string(fdb), "02:00:00:00:09:02 dst 10.0.0.2") || !strings.Contains(string(fdb), "00:00:00:00:00:00 dst 10.0.0.2") {
		t.Errorf("bridge fdb show dev vx0:\n%s", fdb)
	}

	ln, err := k.ListenIn(nsB, "tcp", "10.9.0.2:7")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			io.Copy(c, c)
			c.Close()
		}
	}()
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := k.DialIn(dctx, nsA, "tcp", "10.9.0.2:7")
	if err != nil {
		t.Fatalf("over the fdb-only vxlan: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("over vni 42\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 12)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "over vni 42\n" {
		t.Fatalf("echo over the vxlan: %q, %v", buf, err)
	}

	planned, err := reconcile.Plan(ctx, k, l, reconcile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !planned.Plan.Empty() {
		var b strings.Builder
		planned.Plan.WriteText(&b)
		t.Errorf("second plan not empty:\n%s", b.String())
	}
}

// TestVLANOnLinux brings up the course's one-armed router where the
// kernel has 802.1Q: ip shows each vlan with its id on its parent, h1
// reaches h2 in the other VLAN through r, and a second plan is empty.
// Here (a kernel without 802.1Q) it skips, naming CONFIG_VLAN_8021Q.
func TestVLANOnLinux(t *testing.T) {
	kerneltest.RequireRoot(t)
	kerneltest.SkipIfLacks(t, kernel.NeedVLAN, "bridge")
	data, err := topologies.Read("one-armed-router.yaml")
	if err != nil {
		t.Fatal(err)
	}
	name := toolboxLab(t)
	l := parse(t, strings.Replace(string(data), "name: onearm", "name: "+name, 1))
	k := kernel.NewLinux()
	defer k.Close()
	if _, err := reconcile.Up(ctx, k, l, reconcile.Options{}); err != nil {
		t.Fatal(err)
	}
	defer reconcile.Down(ctx, k, name, reconcile.DownOptions{})
	show, err := exec.Command("ip", "-n", state.NetNSName(name, "r"), "-d", "link", "show", "eth0.10").CombinedOutput()
	if err != nil || !strings.Contains(string(show), "eth0.10@eth0") || !strings.Contains(string(show), "vlan protocol 802.1Q id 10") {
		t.Errorf("ip -d link show eth0.10: %v\n%s", err, show)
	}
	ln, err := k.ListenIn(state.NetNSName(name, "h2"), "tcp", "10.20.0.10:7")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
		}
	}()
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := k.DialIn(dctx, state.NetNSName(name, "h1"), "tcp", "10.20.0.10:7")
	if err != nil {
		t.Fatalf("h1 to h2 across the VLANs: %v", err)
	}
	c.Close()
	planned, err := reconcile.Plan(ctx, k, l, reconcile.Options{})
	if err != nil || !planned.Plan.Empty() {
		t.Errorf("second plan: %v, %v", planned, err)
	}
}

// TestNetemOnLinux gives a's egress delay: 50ms where the kernel has
// netem: tc shows netlab's netem at 4e:, a TCP connect from a to b takes
// at least the delay, and a second plan is empty (the kernel's ticks read
// back as the file's 50ms). Here (no netem) it skips, naming
// CONFIG_NET_SCH_NETEM.
func TestNetemOnLinux(t *testing.T) {
	kerneltest.RequireRoot(t)
	kerneltest.SkipIfLacks(t, kernel.NeedNetem)
	name := toolboxLab(t)
	l := parse(t, strings.Replace(strings.Replace(pairLab, "name: pair", "name: "+name, 1),
		"eth0: {addresses: [10.0.0.1/24]}", "eth0: {addresses: [10.0.0.1/24], delay: 50ms, loss: 0.5%, rate: 100mbit}", 1))
	k := kernel.NewLinux()
	defer k.Close()
	if _, err := reconcile.Up(ctx, k, l, reconcile.Options{}); err != nil {
		t.Fatal(err)
	}
	defer reconcile.Down(ctx, k, name, reconcile.DownOptions{})
	nsA, nsB := state.NetNSName(name, "a"), state.NetNSName(name, "b")
	if show := tc(t, "-n", nsA, "qdisc", "show", "dev", "eth0"); !strings.Contains(show, "qdisc netem 4e: root") || !strings.Contains(show, "delay 50") {
		t.Fatalf("tc qdisc show: %q, want netlab's netem with delay 50ms", show)
	}
	ln, err := k.ListenIn(nsB, "tcp", "10.0.0.2:7")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
		}
	}()
	start := time.Now()
	c, err := k.DialIn(ctx, nsA, "tcp", "10.0.0.2:7")
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if rtt := time.Since(start); rtt < 50*time.Millisecond {
		t.Errorf("connect took %v, want at least the 50ms delay", rtt)
	}
	planned, err := reconcile.Plan(ctx, k, l, reconcile.Options{})
	if err != nil || !planned.Plan.Empty() {
		var b strings.Builder
		if planned != nil {
			planned.Plan.WriteText(&b)
		}
		t.Errorf("second plan (%v):\n%s", err, b.String())
	}
}
