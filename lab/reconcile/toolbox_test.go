package reconcile_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"netlab/lab/device"
	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/plan"
	"netlab/lab/reconcile"
	"netlab/lab/state"
	"netlab/topologies"
)

// changesOf is the plan's changes of one link, as "ACTION attr,attr".
func changesOf(p *plan.Plan, node, link string) []string {
	var out []string
	for _, c := range p.Changes {
		if c.Node != node || c.Name != link || c.Object != plan.Link {
			continue
		}
		s := c.Action.String()
		for _, a := range c.Attrs {
			s += " " + a.Link.String()
		}
		out = append(out, s)
	}
	return out
}

// TestOneArmedRouterOnFake brings the course's 802.1Q lab up on the fake
// kernel: its vlans are made on their parents with their ids, a second
// plan is empty, a changed id replaces the vlan, and a kernel without
// 802.1Q refuses it at every kind: vlan, naming CONFIG_VLAN_8021Q, with
// nothing written.
func TestOneArmedRouterOnFake(t *testing.T) {
	data, err := topologies.Read("one-armed-router.yaml")
	if err != nil {
		t.Fatal(err)
	}
	l := parse(t, string(data))
	k := kerneltest.NewFake()
	if _, err := reconcile.Up(ctx, k, l, reconcile.Options{}); err != nil {
		t.Fatal(err)
	}
	s, err := k.Observe(ctx, l.Name, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct {
		node, link, parent string
		id                 uint16
	}{{"r", "eth0.10", "eth0", 10}, {"r", "eth0.20", "eth0", 20}, {"sw", "trunk.10", "trunk", 10}, {"sw", "trunk.20", "trunk", 20}} {
		got := s.Nodes[want.node].Links[want.link]
		if got == nil || got.Kind != device.VLAN || got.VLANParent != want.parent || got.VLANID != want.id {
			t.Errorf("%s:%s = %+v, want vlan %d on %s", want.node, want.link, got, want.id, want.parent)
		}
	}
	if got := s.Nodes["sw"].Links["trunk.10"].Master; got != "br10" {
		t.Errorf("trunk.10's master = %q, want br10", got)
	}
	planned, err := reconcile.Plan(ctx, k, l, reconcile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !planned.Plan.Empty() {
		t.Errorf("second plan: %v", planned.Plan.Changes)
	}
	l.Node("r").Interface("eth0.20").VLAN.ID = 30
	planned, err = reconcile.Plan(ctx, k, l, reconcile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := changesOf(planned.Plan, "r", "eth0.20"); len(got) == 0 || got[0] != plan.Replace.String() {
		t.Errorf("id 20 to 30: changes %v, want a replace", got)
	}

	lacking := kerneltest.NewFake()
	lacking.Lack(kernel.NeedVLAN)
	_, err = reconcile.Up(ctx, lacking, parse(t, string(data)), reconcile.Options{})
	var refused *reconcile.RefusedError
	if !errors.As(err, &refused) {
		t.Fatalf("up on a kernel without 802.1Q: %v, want a refusal", err)
	}
	if len(refused.Diags) != 4 {
		t.Errorf("%d diagnostics, want one a vlan:\n%v", len(refused.Diags), err)
	}
	for _, d := range refused.Diags {
		if !strings.Contains(d.Msg, "CONFIG_VLAN_8021Q") || d.Pos.Line == 0 || d.Pos.Col == 0 {
			t.Errorf("diagnostic %v: want a position and CONFIG_VLAN_8021Q", d)
		}
	}
	if !strings.Contains(err.Error(), "test.yaml:26:23: interface \"eth0.10\" of node \"r\" needs 802.1Q") {
		t.Errorf("refusal %q has no file position", err)
	}
	if lacking.Writes() != 0 {
		t.Errorf("the refused up wrote %d time(s):\n%s", lacking.Writes(), lacking.String())
	}
}

const impairLab = `name: impair
nodes:
  a:
    interfaces:
      eth0: {addresses: [10.0.0.1/24], delay: 20ms, loss: 0.5%}
      vx0: {kind: vxlan, vxlan: {vni: 7, local: 10.0.0.1, proxy: true, fdb: [{mac: "00:00:00:00:00:00", dst: 10.0.0.2}]}}
  b:
    interfaces:
      eth0: {addresses: [10.0.0.2/24], rate: 512kbit}
links:
  - [a:eth0, b:eth0]
`

// TestImpairmentOnFake: delay and loss (netem) and a rate (tbf) on the
// fake kernel are made with the links, read back, repaired when a qdisc
// is deleted by hand, left alone when someone else's root qdisc is on an
// interface without impairment, and refused before any change on a
// kernel without netem. A vxlan's proxy changed replaces it.
func TestImpairmentOnFake(t *testing.T) {
	l := parse(t, impairLab)
	k := kerneltest.NewFake()
	if _, err := reconcile.Up(ctx, k, l, reconcile.Options{}); err != nil {
		t.Fatal(err)
	}
	s, err := k.Observe(ctx, l.Name, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Nodes["a"].Links["eth0"].Egress, (state.Impairment{Delay: 20 * time.Millisecond, Loss: 0.5}); got != want {
		t.Errorf("a:eth0 egress %v, want %v", got, want)
	}
	if got := s.Nodes["b"].Links["eth0"].Egress; got.Rate != 512e3 || got.Qdisc() != "tbf" {
		t.Errorf("b:eth0 egress %v, want tbf rate 512kbit", got)
	}
	if !s.Nodes["a"].Links["vx0"].Proxy {
		t.Errorf("vx0 has no proxy")
	}
	for _, want := range []string{
		"tc -n impair.a qdisc replace dev eth0 root handle 4e: netem delay 20ms loss 0.5%",
		"tc -n impair.b qdisc replace dev eth0 root handle 4e: tbf rate 512kbit",
	} {
		if !strings.Contains(k.String(), want) {
			t.Errorf("transcript has no %q:\n%s", want, k.String())
		}
	}

	// Deleted by hand: an update of egress, then repaired.
	k.MustSeed(t, "tc -n impair.a qdisc del dev eth0 root handle 4e:")
	planned, err := reconcile.Plan(ctx, k, l, reconcile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := changesOf(planned.Plan, "a", "eth0"); len(got) != 1 || got[0] != plan.Update.String()+" egress" {
		t.Errorf("after tc qdisc del: %v, want an update of egress", got)
	}
	if _, err := reconcile.Up(ctx, k, l, reconcile.Options{}); err != nil {
		t.Fatal(err)
	}
	if planned, err = reconcile.Plan(ctx, k, l, reconcile.Options{}); err != nil || !planned.Plan.Empty() {
		t.Errorf("after the repair: %v, %v", planned.Plan.Changes, err)
	}

	// Someone else's root qdisc on a:vx0, which has no impairment: left alone.
	k.MustSeed(t, "tc -n impair.a qdisc add dev vx0 root handle 8001: tbf rate 1mbit burst 32kb latency 50ms")
	if planned, err = reconcile.Plan(ctx, k, l, reconcile.Options{}); err != nil || !planned.Plan.Empty() {
		t.Errorf("with a user's qdisc on vx0: %v, %v", planned.Plan.Changes, err)
	}
	s, _ = k.Observe(ctx, l.Name, nil)
	if got := s.Nodes["a"].Links["vx0"].OtherQdisc; got != "tbf 8001:" {
		t.Errorf("vx0's other qdisc = %q", got)
	}

	// A vxlan's proxy is fixed at creation: a change replaces it.
	l.Node("a").Interface("vx0").VXLAN.Proxy = false
	if planned, err = reconcile.Plan(ctx, k, l, reconcile.Options{}); err != nil {
		t.Fatal(err)
	}
	if got := changesOf(planned.Plan, "a", "vx0"); len(got) == 0 || got[0] != plan.Replace.String() {
		t.Errorf("proxy true to false: %v, want a replace", got)
	}

	// A kernel without netem: refused at delay, nothing written.
	lacking := kerneltest.NewFake()
	lacking.Lack(kernel.NeedNetem)
	_, err = reconcile.Up(ctx, lacking, parse(t, impairLab), reconcile.Options{})
	if err == nil || !strings.Contains(err.Error(), "test.yaml:5:47: interface \"eth0\" of node \"a\" needs the netem qdisc (CONFIG_NET_SCH_NETEM)") {
		t.Errorf("up without netem: %v", err)
	}
	if lacking.Writes() != 0 {
		t.Errorf("the refused up wrote %d time(s)", lacking.Writes())
	}
}
