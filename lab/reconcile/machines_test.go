package reconcile_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"netlab/lab/device"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/reconcile"
	"netlab/lab/state"
)

// twoMachines is a lab over two machines: a on m1, b and c on m2, a
// linked to b across the machines and b to c on m2.
const twoMachines = `name: spread
machines:
  m1: {address: 203.0.113.1}
  m2: {address: 203.0.113.2}
nodes:
  a: {machine: m1, interfaces: {eth0: {addresses: [10.9.0.1/24]}}}
  b: {machine: m2, interfaces: {eth0: {addresses: [10.9.0.2/24]}, eth1: {addresses: [10.9.1.1/24]}}}
  c: {machine: m2, interfaces: {eth0: {addresses: [10.9.1.2/24]}}}
links:
  - [a:eth0, b:eth0]
  - [b:eth1, c:eth0]
`

// machineFake is a fake kernel whose root namespace is a machine with
// the underlay address addr on its eth0, of that MTU.
func machineFake(t *testing.T, addr string, mtu string) *kerneltest.Fake {
	t.Helper()
	k := kerneltest.NewFake()
	k.MustSeed(t, "ip link set eth0 mtu "+mtu+" up", "ip addr add "+addr+"/24 dev eth0")
	return k
}

// TestUpOnMachine: up --machine m1 builds m1's node only, its link to m2
// a vxlan made in the machine's namespace; nothing is added to the
// machine's namespace; a second plan is empty.
func TestUpOnMachine(t *testing.T) {
	ctx := context.Background()
	k := machineFake(t, "203.0.113.1", "1500")
	before, err := k.HostLinks(ctx, "spread")
	if err != nil {
		t.Fatal(err)
	}
	l := parse(t, twoMachines)
	if _, err := reconcile.Up(ctx, k, l, reconcile.Options{Machine: "m1"}); err != nil {
		t.Fatalf("up --machine m1: %v", err)
	}
	o, err := k.Observe(ctx, "spread", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := o.NodeNames(); len(got) != 1 || got[0] != "a" {
		t.Fatalf("nodes on m1 %v, want [a]", got)
	}
	x := o.Nodes["a"].Links["eth0"]
	if x.Kind != device.VXLAN || x.UnderlayNetNS != state.HostNetNS || x.Remote.String() != "203.0.113.2" || x.MTU != 1450 {
		t.Errorf("a:eth0 is %s remote %s mtu %d underlay %q, want a vxlan to 203.0.113.2 of mtu 1450 made in the machine's namespace", x.Kind, x.Remote, x.MTU, x.UnderlayNetNS)
	}
	after, err := k.HostLinks(ctx, "spread")
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Errorf("the machine's namespace has the lab's links %v, had %v", after, before)
	}
	p, err := reconcile.Plan(ctx, k, l, reconcile.Options{Machine: "m1"})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Plan.Empty() {
		var b strings.Builder
		p.Plan.WriteText(&b)
		t.Errorf("second plan of m1 is not empty:\n%s", b.String())
	}
}

// TestMachineRefusals: a lab with machines and no machine, a machine the
// lab lacks, a machine whose address is not here (naming the one that
// is), and an underlay whose MTU cannot carry the link are refused,
// each before any change.
func TestMachineRefusals(t *testing.T) {
	for _, c := range []struct {
		name, machine, addr, mtu string
		want                     []string
	}{
		{"no machine", "", "203.0.113.1", "1500", []string{"runs on machines m1, m2", "--machine"}},
		{"unknown machine", "m9", "203.0.113.1", "1500", []string{`no machine "m9"`, "m1, m2"}},
		{"not this machine", "m2", "203.0.113.1", "1500", []string{"test.yaml:4:17", "no interface of this machine has address 203.0.113.2", "machine m1's address: run netlab with --machine m1"}},
		{"underlay too small", "m1", "203.0.113.1", "1400", []string{"test.yaml:10:5", "need an underlay mtu of 1500", "eth0", "has 1400", "give the link mtu: 1350"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			k := machineFake(t, c.addr, c.mtu)
			writes := k.Writes()
			_, err := reconcile.Up(context.Background(), k, parse(t, twoMachines), reconcile.Options{Machine: c.machine})
			var r *reconcile.RefusedError
			if !errors.As(err, &r) {
				t.Fatalf("up: %v, want it refused", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("refusal does not say %q:\n%v", w, err)
				}
			}
			if k.Writes() != writes {
				t.Errorf("the refused up made %d change(s)", k.Writes()-writes)
			}
		})
	}
}

// TestUpAsAnotherMachine: a box with both machines' addresses, up as m1,
// then as m2, is refused: the second would prune m1's node as no longer
// declared. After down, it may be m2.
func TestUpAsAnotherMachine(t *testing.T) {
	ctx := context.Background()
	k := machineFake(t, "203.0.113.1", "1500")
	k.MustSeed(t, "ip addr add 203.0.113.2/24 dev eth0")
	dir := tempRunDir(t)
	l := parse(t, twoMachines)
	if _, err := reconcile.Up(ctx, k, l, reconcile.Options{Machine: "m1", RunDir: dir}); err != nil {
		t.Fatalf("up --machine m1: %v", err)
	}
	writes := k.Writes()
	_, err := reconcile.Up(ctx, k, l, reconcile.Options{Machine: "m2", RunDir: dir})
	var r *reconcile.RefusedError
	if !errors.As(err, &r) || !strings.Contains(err.Error(), "lab spread runs here as machine m1 (its last up), not m2") {
		t.Fatalf("up --machine m2 over m1: %v, want it refused", err)
	}
	if k.Writes() != writes {
		t.Errorf("the refused up made %d change(s)", k.Writes()-writes)
	}
	if _, err := reconcile.Down(ctx, k, "spread", reconcile.DownOptions{RunDir: dir}); err != nil {
		t.Fatal(err)
	}
	if _, err := reconcile.Up(ctx, k, l, reconcile.Options{Machine: "m2", RunDir: dir}); err != nil {
		t.Fatalf("up --machine m2 after down: %v", err)
	}
}

// TestUpOnMachineKilledAtEveryWrite stops up --machine m2 at each of its
// writes, as kill -9 would: the next up finishes, its plan is then
// empty, and down removes all.
func TestUpOnMachineKilledAtEveryWrite(t *testing.T) {
	ctx := context.Background()
	l := parse(t, twoMachines)
	opts := reconcile.Options{Machine: "m2"}
	for n := 1; ; n++ {
		k := machineFake(t, "203.0.113.2", "1500")
		k.StopAt(kerneltest.AnyWrite, n, 1)
		_, err := reconcile.Up(ctx, k, l, opts)
		if !k.Stopped() {
			if err != nil {
				t.Fatalf("up with no stop: %v", err)
			}
			if n < 8 {
				t.Fatalf("the up made only %d writes", n-1)
			}
			break
		}
		if !errors.Is(err, kerneltest.ErrStopped) {
			t.Fatalf("write %d: up returned %v, want ErrStopped", n, err)
		}
		k.Restart()
		if _, err := reconcile.Up(ctx, k, l, opts); err != nil {
			t.Fatalf("write %d: up after the kill: %v\n%s", n, err, k)
		}
		p, err := reconcile.Plan(ctx, k, l, opts)
		if err != nil || !p.Plan.Empty() {
			t.Fatalf("write %d: plan after the second up: %v, empty %v", n, err, err == nil && p.Plan.Empty())
		}
		if _, err := reconcile.Down(ctx, k, "spread", reconcile.DownOptions{}); err != nil {
			t.Fatalf("write %d: down: %v", n, err)
		}
		if o, err := k.Observe(ctx, "spread", nil); err != nil || len(o.Nodes) != 0 {
			t.Fatalf("write %d: after down: %v, %d node(s) left", n, err, len(o.Nodes))
		}
	}
}
