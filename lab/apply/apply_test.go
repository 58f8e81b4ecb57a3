package apply_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"netlab/lab"
	"netlab/lab/apply"
	"netlab/lab/device"
	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/labfile"
	"netlab/lab/plan"
	"netlab/lab/reconcile"
	"netlab/lab/state"
	"netlab/lab/validate"
	"netlab/topologies"
)

// mustLab loads a lab that must be valid and buildable by this version of
// netlab.
func mustLab(t testing.TB, name string, text []byte) *lab.Lab {
	t.Helper()
	l, diags := labfile.Parse(name+".yaml", text)
	diags.Append(validate.Lab(l)...)
	if diags.HasErrors() {
		t.Fatalf("lab %s is not valid:\n%v", name, diags.Err())
	}
	return l
}

// starLab is a lab of n containers on one bridge of a host that routes.
// With mtu, each veth pair declares it.
func starLab(name string, n, mtu int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\nnodes:\n  host:\n%s    interfaces:\n", name, sysctls(1))
	fmt.Fprintf(&b, "      br0: {kind: bridge, addresses: [10.0.0.1/16, \"fd00::1/64\"]}\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "      veth%d: {master: br0}\n", i)
	}
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "  c%02d:\n%s    interfaces:\n      eth0: {addresses: [10.0.%d.%d/16, \"fd00::%x/64\"]}\n", i, sysctls(0), i/200, 10+i%200, 0x10+i)
		fmt.Fprintf(&b, "    routes:\n      - {to: default, via: 10.0.0.1}\n      - {to: default, via: \"fd00::1\"}\n")
	}
	b.WriteString("links:\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "  - %s\n", link(fmt.Sprintf("c%02d:eth0", i), fmt.Sprintf("host:veth%d", i), mtu))
	}
	return []byte(b.String())
}

// sysctls declares the forwarding sysctls of a node, both on or off.
func sysctls(on int) string {
	return fmt.Sprintf("    sysctls: {net.ipv4.ip_forward: %d, net.ipv6.conf.all.forwarding: %d}\n", on, on)
}

// link writes a veth pair, with its MTU if not 0.
func link(a, b string, mtu int) string {
	if mtu == 0 {
		return fmt.Sprintf("[%s, %s]", a, b)
	}
	return fmt.Sprintf("{endpoints: [%s, %s], mtu: %d}", a, b, mtu)
}

// chainLab is a lab of n routers in a row, each with a route to every subnet
// it is not on, through the neighbour on that side.
func chainLab(name string, n, mtu int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\nnodes:\n", name)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "  r%d:\n%s    interfaces:\n", i, sysctls(1))
		if i > 1 {
			fmt.Fprintf(&b, "      left: {addresses: [10.%d.0.2/24]}\n", i-1)
		}
		if i < n {
			fmt.Fprintf(&b, "      right: {addresses: [10.%d.0.1/24]}\n", i)
		}
		fmt.Fprintf(&b, "      lo: {addresses: [192.0.2.%d/32]}\n", i)
		b.WriteString("    routes:\n")
		for j := 1; j <= n; j++ {
			switch {
			case j < i:
				fmt.Fprintf(&b, "      - {to: 192.0.2.%d/32, via: 10.%d.0.1}\n", j, i-1)
			case j > i:
				fmt.Fprintf(&b, "      - {to: 192.0.2.%d/32, via: 10.%d.0.2, dev: right, metric: 10}\n", j, i)
			}
		}
		for j := 1; j < n; j++ {
			switch {
			case j < i-1:
				fmt.Fprintf(&b, "      - {to: 10.%d.0.0/24, via: 10.%d.0.1}\n", j, i-1)
			case j > i:
				fmt.Fprintf(&b, "      - {to: 10.%d.0.0/24, via: 10.%d.0.2}\n", j, i)
			}
		}
	}
	b.WriteString("links:\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "  - %s\n", link(fmt.Sprintf("r%d:right", i), fmt.Sprintf("r%d:left", i+1), mtu))
	}
	return []byte(b.String())
}

// fakeLab is a lab file a test applies.
type fakeLab struct {
	name string
	text []byte
}

// fakeLabs are the lab files the reconciler tests apply.
func fakeLabs() []fakeLab {
	return []fakeLab{
		{"single-ip", topologies.Default()},
		{"star-20", starLab("star", 20, 0)},
		{"chain-5", chainLab("chain", 5, 1400)},
		{"vxlan-overlay", mustRead("vxlan-overlay.yaml")},
		{"macvlan", mustRead("macvlan.yaml")},
		{"hosted", []byte(hostedLab)},
	}
}

// hostedLab has a host node (a bridge, a tap and a veth end in the root
// namespace), and a node with a tun and a source-mode macvlan on the host's
// bridge.
const hostedLab = `name: hosted
nodes:
  h:
    host: true
    interfaces:
      hbr0: {kind: bridge}
      hv0: {master: hbr0}
      htap0: {kind: tap, master: hbr0, tap: {owner: 1000}}
  c:
    interfaces:
      eth0: {addresses: [10.9.0.2/24]}
      tun0: {kind: tun, tun: {owner: 1000, group: 1000}, addresses: [10.9.1.1/32]}
      mv0: {kind: macvlan, macvlan: {parent: h:hbr0, mode: source, source-macs: ["02:00:00:00:00:0b", "02:00:00:00:00:0a"]}}
links:
  - [h:hv0, c:eth0]
`

func mustRead(name string) []byte {
	data, err := topologies.Read(name)
	if err != nil {
		panic(err)
	}
	return data
}

// upFake runs netlab up's pipeline (reconcile.Up) on k, taking the prune
// and last-applied options from opts. It returns the plan it applied.
func upFake(t testing.TB, k kernel.Kernel, l *lab.Lab, opts plan.Options) *plan.Plan {
	t.Helper()
	res, err := reconcile.Up(context.Background(), k, l, reconcile.Options{Prune: opts.Prune, LastApplied: opts.LastApplied})
	if err != nil {
		t.Fatalf("up lab %s: %v", l.Name, err)
	}
	return res.Plan
}

// planFake runs netlab plan's pipeline (reconcile.Plan) on k.
func planFake(t testing.TB, k kernel.Kernel, l *lab.Lab, opts reconcile.Options) *plan.Plan {
	t.Helper()
	planned, err := reconcile.Plan(context.Background(), k, l, opts)
	if err != nil {
		t.Fatalf("plan lab %s: %v", l.Name, err)
	}
	return planned.Plan
}

// planCmds returns the commands of a plan as the fake's transcript writes
// them: sorted, one a line.
func planCmds(p *plan.Plan) string {
	var out []string
	for _, c := range p.Changes {
		out = append(out, c.Cmds()...)
	}
	if len(out) == 0 {
		return ""
	}
	slices.Sort(out)
	return strings.Join(out, "\n") + "\n"
}

// transcriptFromEmpty returns the transcript of a lab applied to an empty kernel.
func transcriptFromEmpty(t testing.TB, l *lab.Lab) string {
	t.Helper()
	k := kerneltest.NewFake()
	upFake(t, k, l, plan.Options{})
	return k.String()
}

// TestUpFromEmpty applies each lab to an empty kernel: the kernel then
// holds exactly what the plan's commands build, a second plan is empty,
// and a second up writes nothing at all.
func TestUpFromEmpty(t *testing.T) {
	for _, tl := range fakeLabs() {
		t.Run(tl.name, func(t *testing.T) {
			l := mustLab(t, tl.name, tl.text)
			k := kerneltest.NewFake()
			p := upFake(t, k, l, plan.Options{})
			if p.Empty() {
				t.Fatal("the plan from an empty kernel is empty")
			}
			if diff := cmp.Diff(planCmds(p), k.String()); diff != "" {
				t.Errorf("transcript after up differs from the plan's commands (-plan +kernel):\n%s", diff)
			}

			before, transcript := k.Writes(), k.String()
			again := upFake(t, k, l, plan.Options{LastApplied: plan.Desired(l)})
			if !again.Empty() || len(again.Unmanaged) > 0 || len(again.Conflicts) > 0 {
				var b strings.Builder
				again.WriteText(&b)
				t.Errorf("second plan is not empty:\n%s", b.String())
			}
			if n := k.Writes() - before; n != 0 {
				t.Errorf("second up made %d writes, want 0", n)
			}
			if got := k.String(); got != transcript {
				t.Errorf("second up changed the kernel (-before +after):\n%s", cmp.Diff(transcript, got))
			}
		})
	}
}

// TestScriptEqualsTranscript checks that the script of a lab (the
// commands of its plan against nothing, as render --format script prints
// them) builds what up builds from an empty kernel.
func TestScriptEqualsTranscript(t *testing.T) {
	for _, tl := range fakeLabs() {
		t.Run(tl.name, func(t *testing.T) {
			l := mustLab(t, tl.name, tl.text)
			script := planCmds(plan.Diff(plan.Desired(l), nil, plan.Options{}))
			if diff := cmp.Diff(script, transcriptFromEmpty(t, l)); diff != "" {
				t.Errorf("script and transcript differ (-script +transcript):\n%s", diff)
			}
		})
	}
}

// TestSeedScript runs a lab's script by hand on an empty kernel: what it
// builds is what up builds, so up after it has nothing to do.
func TestSeedScript(t *testing.T) {
	for _, tl := range fakeLabs() {
		t.Run(tl.name, func(t *testing.T) {
			l := mustLab(t, tl.name, tl.text)
			k := kerneltest.NewFake()
			for _, c := range plan.Diff(plan.Desired(l), nil, plan.Options{}).Changes {
				if c.Object == plan.NFTables {
					// Seed runs no nft scripts.
					if err := k.NFTableSet(context.Background(), c.NetNS, c.NFT); err != nil {
						t.Fatal(err)
					}
					continue
				}
				k.MustSeed(t, c.Cmds()...)
			}
			if got, want := k.String(), transcriptFromEmpty(t, l); got != want {
				t.Errorf("script run by hand builds another kernel (-up +script):\n%s", cmp.Diff(want, got))
			}
			if p := upFake(t, k, l, plan.Options{}); !p.Empty() {
				t.Errorf("up after the script has %d changes, want none", len(p.Changes))
			}
		})
	}
}

// replayLabs are the versions of the lab of TestReplay: each up edits
// what the one before built. Attributes a file may leave to the kernel
// (MTU, MAC, sysctls) stay as an earlier version set them (see
// TestUndeclaredKept), so every version declares the same ones: an MTU on
// every veth pair, none on bridges, no MAC, and both forwarding sysctls on
// every node.
func replayLabs() []fakeLab {
	v6 := `name: replay
nodes:
  h1:
` + sysctls(0) + `    interfaces:
      eth0: {addresses: ["2001:db8:1::10/64"]}
    routes:
      - {to: default, via: "2001:db8:1::1"}
  r1:
` + sysctls(1) + `    interfaces:
      eth0: {addresses: ["2001:db8:1::1/64", 10.1.0.1/24]}
      right: {addresses: ["2001:db8:2::1/64", 10.2.0.1/24, "fd00::1/128"]}
    routes:
      - {to: "2001:db8:99::/48", via: "2001:db8:2::10", metric: 100}
      - {to: "2001:db8:98::/48", via: "fe80::2", dev: right}
      - {to: "2001:db8:97::/48", dev: right}
  r2:
` + sysctls(0) + `    interfaces:
      left: {addresses: ["2001:db8:2::10/64", 10.2.0.10/24]}
    routes:
      - {to: default, via: "2001:db8:2::1"}
      - {to: default, via: 10.2.0.1}
      - {to: "::/0", via: "2001:db8:2::1", metric: 10}
links:
  - {endpoints: [h1:eth0, r1:eth0], mtu: 1500}
  - {endpoints: [r1:right, r2:left], mtu: 1280}
`
	bridges := `name: replay
nodes:
  r1:
` + sysctls(1) + `    interfaces:
      br0: {kind: bridge, addresses: [10.2.0.1/24]}
      br1: {kind: bridge}
      right: {master: br0}
      eth0: {master: br1, up: false}
  r2:
` + sysctls(0) + `    interfaces:
      left: {addresses: [10.2.0.10/24]}
    routes:
      - {to: default, via: 10.2.0.1}
  h1:
` + sysctls(0) + `links:
  - {endpoints: [h1:eth0, r1:eth0], mtu: 9000}
  - {endpoints: [r1:right, r2:left], mtu: 1500}
`
	return []fakeLab{
		{"star-3", starLab("replay", 3, 1500)},
		{"star-12", starLab("replay", 12, 9000)},
		{"chain-3", chainLab("replay", 3, 1400)},
		{"chain-6", chainLab("replay", 6, 1500)},
		{"v6", []byte(v6)},
		{"bridges", []byte(bridges)},
	}
}

// TestReplay applies the versions of one lab in pseudorandom orders to one
// kernel: after each up, the kernel holds what the same file builds from
// nothing, whatever was there before.
func TestReplay(t *testing.T) {
	versions := replayLabs()
	want := make(map[string]string)
	parsed := make(map[string]*lab.Lab)
	for _, v := range versions {
		parsed[v.name] = mustLab(t, v.name, v.text)
		want[v.name] = transcriptFromEmpty(t, parsed[v.name])
	}
	for seed := uint64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprintf("seed_%d", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 0))
			k := kerneltest.NewFake()
			var last *state.State
			var order []string
			for step := 0; step < 3*len(versions); step++ {
				v := versions[rng.IntN(len(versions))]
				order = append(order, v.name)
				l := parsed[v.name]
				upFake(t, k, l, plan.Options{LastApplied: last})
				last = plan.Desired(l)
				if got := k.String(); got != want[v.name] {
					t.Fatalf("after %s, the kernel is not what %s builds from nothing (-want +got):\n%s",
						strings.Join(order, " -> "), v.name, cmp.Diff(want[v.name], got))
				}
				before := k.Writes()
				if p := upFake(t, k, l, plan.Options{LastApplied: last}); !p.Empty() {
					t.Fatalf("after %s, a second up has %d changes", strings.Join(order, " -> "), len(p.Changes))
				}
				if k.Writes() != before {
					t.Fatalf("after %s, a second up wrote to the kernel", strings.Join(order, " -> "))
				}
			}
		})
	}
}

var errInjected = errors.New("injected failure")

// write is one kernel write of an Apply: the index of the change it
// carries out, and how many changes are done before it.
type write struct{ change, applied int }

// writesOf lists the kernel writes Apply makes for p, in order: one per
// change (apply.One makes one kernel call per change), and, before the
// first change of PhaseUpperLinks or later (or at the end), one more per
// bridge the plan made down, bringing it up (apply's lateBridges).
func writesOf(p *plan.Plan) []write {
	var out, ups []write
	for i, c := range p.Changes {
		if c.Phase() >= plan.PhaseUpperLinks {
			out, ups = append(out, ups...), nil
		}
		out = append(out, write{i, i})
		if c.Object == plan.Link && c.Action == plan.Create && c.Link.Kind == device.Bridge && c.Link.Up {
			ups = append(ups, write{i, -1})
		}
	}
	out = append(out, ups...)
	// A bring-up comes after every change before it is done.
	done := 0
	for j := range out {
		if out[j].applied == -1 {
			out[j].applied = done
		} else {
			done = out[j].change + 1
		}
	}
	return out
}

// TestFailOnEveryWrite makes each write of an up fail in turn. The up
// stops there with an error that names the change; then a new up finishes
// the lab, and down removes everything, as does down straight after the
// failure.
func TestFailOnEveryWrite(t *testing.T) {
	l := mustLab(t, "star", starLab("star", 20, 0))
	desired := plan.Desired(l)
	want := transcriptFromEmpty(t, l)
	writes := writesOf(plan.Diff(desired, nil, plan.Options{}))
	ctx := context.Background()
	for n := 1; n <= len(writes); n++ {
		for _, then := range []string{"up", "down"} {
			k := kerneltest.NewFake()
			k.FailOn(kerneltest.AnyWrite, errInjected, n)
			res, err := reconcile.Up(ctx, k, l, reconcile.Options{})
			if res == nil {
				t.Fatalf("write %d: up made no plan: %v", n, err)
			}
			p := res.Plan
			if !errors.Is(err, errInjected) {
				t.Fatalf("write %d: apply returned %v, want the injected error", n, err)
			}
			w := writes[n-1]
			var ce *apply.ChangeError
			if !errors.As(err, &ce) || ce.Change != p.Changes[w.change] {
				t.Fatalf("write %d: error %v does not carry change %d", n, err, w.change+1)
			}
			if c := p.Changes[w.change]; !strings.Contains(err.Error(), c.Describe()) || !strings.Contains(err.Error(), "node "+c.Node) {
				t.Errorf("write %d: error %q does not name the change %q of node %s", n, err, c.Describe(), c.Node)
			}
			if res.Applied != w.applied {
				t.Errorf("write %d: %d changes applied, want %d", n, res.Applied, w.applied)
			}
			if then == "up" {
				upFake(t, k, l, plan.Options{})
				if got := k.String(); got != want {
					t.Fatalf("write %d: up after the failure built another kernel (-want +got):\n%s", n, cmp.Diff(want, got))
				}
			}
			if _, err := apply.Down(ctx, k, l.Name, nil); err != nil {
				t.Fatalf("write %d: down after %s: %v", n, then, err)
			}
			if got := k.String(); got != "" {
				t.Fatalf("write %d: down after %s left:\n%s", n, then, got)
			}
		}
	}
}

// TestFailOnEachMethod fails the first call of each kind of write during
// an edit that makes every kind, and checks that the next up converges.
func TestFailOnEachMethod(t *testing.T) {
	from := mustLab(t, "from", []byte(`name: edit
nodes:
  a:
    sysctls: {net.ipv4.ip_forward: 0}
    interfaces:
      eth0: {addresses: [10.0.0.1/24, 10.0.0.5/24]}
    routes: [{to: 10.9.0.0/16, via: 10.0.0.2}, {to: 10.8.0.0/16, via: 10.0.0.2}]
  b:
    interfaces:
      eth0: {addresses: [10.0.0.2/24]}
  c: {}
links:
  - [a:eth0, b:eth0]
  - [a:eth1, c:eth0]
`))
	to := mustLab(t, "to", []byte(`name: edit
nodes:
  a:
    sysctls: {net.ipv4.ip_forward: 1}
    interfaces:
      eth0: {addresses: [10.0.0.1/24]}
    routes: [{to: 10.9.0.0/16, via: 10.0.0.2}, {to: 10.7.0.0/16, via: 10.0.0.2}]
  b:
    interfaces:
      eth0: {addresses: [10.0.0.2/24, 10.0.0.3/24]}
  d: {}
links:
  - {endpoints: [a:eth0, b:eth0], mtu: 1400}
  - [a:eth2, d:eth0]
`))
	want := transcriptFromEmpty(t, to)
	for _, method := range []string{"NetNSAdd", "NetNSDel", "LinkAdd", "LinkDel", "LinkSet", "AddrAdd", "AddrDel", "RouteReplace", "RouteDel", "SysctlSet"} {
		t.Run(method, func(t *testing.T) {
			k := kerneltest.NewFake()
			upFake(t, k, from, plan.Options{})
			calls := k.Calls(method)
			k.FailOn(method, unix.EBUSY, 1)
			_, err := reconcile.Up(context.Background(), k, to, reconcile.Options{})
			if k.Calls(method) == calls {
				t.Fatalf("the edit makes no %s call", method)
			}
			if !errors.Is(err, unix.EBUSY) {
				t.Fatalf("apply returned %v, want EBUSY", err)
			}
			upFake(t, k, to, plan.Options{})
			if got := k.String(); got != want {
				t.Errorf("up after the failure built another kernel (-want +got):\n%s", cmp.Diff(want, got))
			}
		})
	}
}

// TestForeignNamespace checks that namespaces netlab did not make are left
// alone, by up and down, even when they have the lab's name.
func TestForeignNamespace(t *testing.T) {
	l := mustLab(t, "star", starLab("star", 3, 0))
	ctx := context.Background()
	const foreign = `
ip netns add star.x
ip -n star.x link add dummy0 type dummy
ip -n star.x link set dummy0 up
ip -n star.x addr add 10.0.0.1/16 dev dummy0
ip netns add star
ip netns add other.c01
`
	t.Run("not in the lab", func(t *testing.T) {
		k := kerneltest.NewFake()
		k.MustSeed(t, foreign)
		alone := k.String()
		p := upFake(t, k, l, plan.Options{Prune: true})
		for _, c := range p.Changes {
			if c.Node == "x" || !strings.HasPrefix(c.NetNS, "star.") {
				t.Errorf("plan touches a foreign namespace: %s %s", c.Action, c.Describe())
			}
		}
		if _, err := apply.Down(ctx, k, l.Name, nil); err != nil {
			t.Fatal(err)
		}
		if got := k.String(); got != alone {
			t.Errorf("up and down changed foreign namespaces (-before +after):\n%s", cmp.Diff(alone, got))
		}
	})
	t.Run("with a node's name", func(t *testing.T) {
		k := kerneltest.NewFake()
		k.MustSeed(t, foreign, "ip netns add star.c02")
		alone := k.String()
		p := planFake(t, k, l, reconcile.Options{Prune: true})
		if len(p.Conflicts) != 1 || p.Conflicts[0].Node != "c02" {
			t.Fatalf("conflicts = %v, want one for node c02", p.Conflicts)
		}
		before := k.Writes()
		_, err := reconcile.Up(ctx, k, l, reconcile.Options{Prune: true})
		if !errors.As(err, new(*apply.ConflictError)) || !strings.Contains(err.Error(), "star.c02") {
			t.Errorf("up returned %v, want the conflict on star.c02", err)
		}
		if k.Writes() != before {
			t.Errorf("apply with a conflict made %d writes, want 0", k.Writes()-before)
		}
		if err := k.NetNSAdd(ctx, "star", "c02"); !errors.As(err, new(*kernel.ForeignError)) {
			t.Errorf("NetNSAdd of the foreign namespace returned %v, want a ForeignError", err)
		}
		if _, err := apply.Down(ctx, k, l.Name, nil); err != nil {
			t.Fatal(err)
		}
		if got := k.String(); got != alone {
			t.Errorf("down changed foreign namespaces (-before +after):\n%s", cmp.Diff(alone, got))
		}
	})
}

// TestPrefixLabs runs two labs whose names share a prefix: down of one
// leaves the other whole.
func TestPrefixLabs(t *testing.T) {
	ab := mustLab(t, "ab", starLab("ab", 3, 0))
	abc := mustLab(t, "ab-c", chainLab("ab-c", 3, 0))
	for _, order := range [][2]*lab.Lab{{ab, abc}, {abc, ab}} {
		down, keep := order[0], order[1]
		t.Run("down "+down.Name, func(t *testing.T) {
			k := kerneltest.NewFake()
			upFake(t, k, ab, plan.Options{Prune: true})
			upFake(t, k, abc, plan.Options{Prune: true})
			// Each lab is still whole, and sees nothing of the other.
			for _, l := range []*lab.Lab{ab, abc} {
				if p := upFake(t, k, l, plan.Options{Prune: true}); !p.Empty() || len(p.Unmanaged) > 0 {
					t.Errorf("lab %s: second up has %d changes and %d unmanaged objects", l.Name, len(p.Changes), len(p.Unmanaged))
				}
			}
			deleted, err := apply.Down(context.Background(), k, down.Name, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, netns := range deleted {
				if !strings.HasPrefix(netns, down.Name+".") {
					t.Errorf("down %s deleted %s", down.Name, netns)
				}
			}
			if got, want := k.String(), transcriptFromEmpty(t, keep); got != want {
				t.Errorf("after down %s, lab %s is not whole (-want +got):\n%s", down.Name, keep.Name, cmp.Diff(want, got))
			}
			labs, err := k.Labs(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(labs) != 1 || labs[0].Name != keep.Name {
				t.Errorf("Labs() = %v, want only %s", labs, keep.Name)
			}
		})
	}
}

// TestRepairDrift changes the kernel by hand behind netlab's back, one
// object kind at a time; up repairs it (with prune for what it did not
// make), and its plan labels the repair as drift.
func TestRepairDrift(t *testing.T) {
	// The default lab, with an MTU and a MAC on the server's link.
	text := strings.Replace(string(topologies.Default()), "eth0: {addresses: [198.51.100.183/24]}",
		`eth0: {addresses: [198.51.100.183/24], mtu: 1400, mac: "02:00:00:00:00:b7"}`, 1)
	l := mustLab(t, "single-ip", []byte(text))
	want := transcriptFromEmpty(t, l)
	tests := []struct {
		name string
		seed string
	}{
		{"address deleted", "ip -n single-ip.c1 addr del 192.168.31.10/24 dev veth0"},
		{"address added", "ip -n single-ip.c1 addr add 192.168.31.99/24 dev veth0"},
		{"link down", "ip -n single-ip.host link set veth2 down"},
		{"bridge down", "ip -n single-ip.host link set br0 down"},
		{"lo down", "ip -n single-ip.c3 link set lo down"},
		{"port released", "ip -n single-ip.host link set veth1 nomaster"},
		{"mtu changed", "ip -n single-ip.server link set eth0 mtu 1500"},
		{"peer mtu changed", "ip -n single-ip.host link set eth0 mtu 9000"},
		{"mac changed", "ip -n single-ip.server link set eth0 address 02:00:00:00:00:01"},
		{"alias changed", "ip -n single-ip.host link set eth0 alias netlab:single-ip:server:eth9"},
		{"veth deleted", "ip -n single-ip.c2 link del veth0"},
		{"bridge deleted", "ip -n single-ip.host link del br0"},
		{"route deleted", "ip -n single-ip.c1 route del default"},
		{"route added by hand", "ip -n single-ip.c1 route add 10.9.0.0/16 via 192.168.31.1"},
		{"route taken over", "ip -n single-ip.c1 route replace default via 192.168.31.11 proto boot"},
		{"sysctl changed", "ip netns exec single-ip.host sysctl -qw net.ipv4.ip_forward=0"},
		{"namespace deleted", "ip netns del single-ip.c3"},
		{"marker removed", "ip -n single-ip.server link set lo alias ''"},
		{"link added by hand", "ip -n single-ip.host link add dummy0 type dummy"},
		{"link renamed", "ip -n single-ip.server link set eth0 name eth1"},
		{"veth rewired", `
ip -n single-ip.c1 link del veth0
ip -n single-ip.c2 link del veth0
ip -n single-ip.c1 link add veth0 type veth peer name veth0 netns single-ip.c2
ip -n single-ip.c1 link set veth0 alias netlab:single-ip:host:veth1 up
ip -n single-ip.c2 link set veth0 alias netlab:single-ip:host:veth2 up`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := kerneltest.NewFake()
			upFake(t, k, l, plan.Options{})
			k.MustSeed(t, tc.seed)
			if tc.name == "marker removed" {
				// The namespace is foreign now: up refuses it, and it must
				// go by hand before up can make it again.
				if p := planFake(t, k, l, reconcile.Options{Prune: true}); len(p.Conflicts) != 1 {
					t.Fatalf("conflicts = %v, want one", p.Conflicts)
				}
				k.MustSeed(t, "ip netns del single-ip.server")
			}
			p := upFake(t, k, l, plan.Options{Prune: true, LastApplied: plan.Desired(l)})
			if p.Empty() {
				t.Fatal("the plan after drift is empty")
			}
			for _, c := range p.Changes {
				// The file did not change: every repair is drift, except
				// deleting what netlab did not make and replacements,
				// whose create half is the one labelled.
				if !c.Drift && !c.Unmanaged && c.Action != plan.Replace && !(c.Action == plan.Delete && c.Object == plan.Link) {
					t.Errorf("%s %s of node %s is not labelled drift", c.Action, c.Describe(), c.Node)
				}
			}
			if got := k.String(); got != want {
				t.Errorf("up did not repair the drift (-want +got):\n%s", cmp.Diff(want, got))
			}
		})
	}
}

// TestEditsConverge applies one version of a lab, then another: the
// kernel ends as the second builds it from nothing. The edits include
// those whose changes make the kernel drop other objects along (routes go
// with their device's last address, or with the device).
func TestEditsConverge(t *testing.T) {
	const base = `name: edit
nodes:
  a:
    interfaces:
      br0: {kind: bridge, addresses: [10.0.0.1/24, "fd00::1/64"]}
      br1: {kind: bridge}
      eth0: {master: br0}
      eth1: {addresses: [10.1.0.1/24, "fd01::1/64"]}
    routes:
      - {to: 10.9.0.0/16, via: 10.1.0.2}
      - {to: "fd09::/48", via: "fd01::2"}
      - {to: 10.8.0.0/16, dev: eth1}
  b:
    sysctls: {net.ipv4.ip_forward: 1}
    interfaces:
      eth0: {addresses: [10.0.0.2/24]}
      eth1: {addresses: [10.1.0.2/24, "fd01::2/64"]}
    routes:
      - {to: default, via: 10.0.0.1}
  c: {}
links:
  - [a:eth0, b:eth0]
  - [a:eth1, b:eth1]
`
	tests := []struct {
		name string
		edit [][2]string // replacements in base
		// oneWay is set when undoing the edit drops an attribute from the
		// file, which then keeps its value (TestUndeclaredKept).
		oneWay bool
	}{
		{"add node", [][2]string{{"  c: {}\n", "  c: {}\n  d:\n    interfaces:\n      eth0: {addresses: [10.5.0.1/24]}\n"}, {"links:\n", "links:\n  - [c:eth0, d:eth0]\n"}}, false},
		{"remove node", [][2]string{{"  c: {}\n", ""}}, false},
		{"add link", [][2]string{{"links:\n", "links:\n  - [a:eth2, c:eth0]\n"}}, false},
		{"remove link", [][2]string{{"  - [a:eth1, b:eth1]\n", ""}, {"      eth1: {addresses: [10.1.0.1/24, \"fd01::1/64\"]}\n", ""}, {"      eth1: {addresses: [10.1.0.2/24, \"fd01::2/64\"]}\n", ""}, {"      - {to: 10.9.0.0/16, via: 10.1.0.2}\n      - {to: \"fd09::/48\", via: \"fd01::2\"}\n      - {to: 10.8.0.0/16, dev: eth1}\n", ""}}, false},
		{"add address", [][2]string{{"10.0.0.2/24]", "10.0.0.2/24, 10.0.0.3/24]"}}, false},
		{"remove address", [][2]string{{"[10.0.0.1/24, \"fd00::1/64\"]", "[10.0.0.1/24]"}}, false},
		{"change address under a route", [][2]string{{"10.1.0.1/24, \"fd01::1/64\"", "10.1.0.3/24, \"fd01::3/64\""}}, false},
		{"add route", [][2]string{{"      - {to: default, via: 10.0.0.1}\n", "      - {to: default, via: 10.0.0.1}\n      - {to: 10.7.0.0/16, via: 10.1.0.1, metric: 5}\n"}}, false},
		{"remove route", [][2]string{{"      - {to: 10.8.0.0/16, dev: eth1}\n", ""}}, false},
		{"change gateway", [][2]string{{"{to: default, via: 10.0.0.1}", "{to: default, via: 10.0.0.3}"}}, false},
		{"mtu", [][2]string{{"  - [a:eth0, b:eth0]", "  - {endpoints: [a:eth0, b:eth0], mtu: 9000}"}}, true},
		{"move to another bridge", [][2]string{{"eth0: {master: br0}", "eth0: {master: br1}"}}, false},
		{"peer change", [][2]string{{"  - [a:eth1, b:eth1]\n", "  - [a:eth1, c:eth1]\n  - [b:eth1, c:eth2]\n"}}, false},
		{"interface down", [][2]string{{"eth1: {addresses: [10.1.0.2/24, \"fd01::2/64\"]}", "eth1: {addresses: [10.1.0.2/24, \"fd01::2/64\"], up: false}"}}, false},
		{"sysctl", [][2]string{{"ip_forward: 1", "ip_forward: 0"}}, false},
		{"mac", [][2]string{{"eth0: {addresses: [10.0.0.2/24]}", "eth0: {addresses: [10.0.0.2/24], mac: \"02:00:00:00:aa:01\"}"}}, true},
	}
	from := mustLab(t, "base", []byte(base))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			text := base
			for _, r := range tc.edit {
				if !strings.Contains(text, r[0]) {
					t.Fatalf("edit %q does not apply", r[0])
				}
				text = strings.Replace(text, r[0], r[1], 1)
			}
			to := mustLab(t, "edited", []byte(text))
			pairs := [][2]*lab.Lab{{from, to}, {to, from}}
			if tc.oneWay {
				pairs = pairs[:1]
			}
			for _, pair := range pairs {
				k := kerneltest.NewFake()
				upFake(t, k, pair[0], plan.Options{})
				upFake(t, k, pair[1], plan.Options{LastApplied: plan.Desired(pair[0])})
				if got, want := k.String(), transcriptFromEmpty(t, pair[1]); got != want {
					t.Errorf("the edit did not converge (-want +got):\n%s", cmp.Diff(want, got))
				}
			}
		})
	}
}

// TestUndeclaredMTUReset: an MTU the file stops declaring goes back to the
// kind's default, as netlab made the link; a MAC or a sysctl the file
// stops declaring keeps the value an earlier up gave it.
func TestUndeclaredMTUReset(t *testing.T) {
	const declared = `name: keep
nodes:
  a:
    sysctls: {net.ipv4.ip_forward: 1}
    interfaces:
      eth0: {mtu: 9000, mac: "02:00:00:00:00:0a"}
  b: {}
links:
  - [a:eth0, b:eth0]
`
	const undeclared = `name: keep
nodes:
  a: {}
  b: {}
links:
  - [a:eth0, b:eth0]
`
	k := kerneltest.NewFake()
	upFake(t, k, mustLab(t, "declared", []byte(declared)), plan.Options{})
	kept := k.String()
	for _, want := range []string{"mtu 9000", "address 02:00:00:00:00:0a", "ip_forward=1"} {
		if !strings.Contains(kept, want) {
			t.Errorf("transcript lacks %q:\n%s", want, kept)
		}
	}
	// The MTU goes back to the veth's default; the MAC and the sysctl,
	// whose values before netlab cannot know, stay.
	p := upFake(t, k, mustLab(t, "undeclared", []byte(undeclared)), plan.Options{Prune: true})
	var got []string
	for _, c := range p.Changes {
		got = append(got, c.Node+" "+c.Describe())
	}
	if diff := cmp.Diff([]string{"a link eth0: mtu 9000 -> 1500", "b link eth0: mtu 9000 -> 1500"}, got); diff != "" {
		t.Errorf("dropping mtu, mac and sysctl from the file (-want +got):\n%s", diff)
	}
	want := strings.ReplaceAll(kept, " mtu 9000", "")
	if got := k.String(); got != want {
		t.Errorf("the kernel (-want +got):\n%s", cmp.Diff(want, got))
	}
}
