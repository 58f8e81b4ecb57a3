package apply_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"netlab/lab"
	"netlab/lab/apply"
	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/labfile"
	"netlab/lab/name"
	"netlab/lab/plan"
	"netlab/lab/reconcile"
	"netlab/lab/rundir"
	"netlab/lab/state"
	"netlab/lab/validate"
)

// mustName parses a lab name a test made.
func mustName(t *testing.T, s string) name.Name {
	t.Helper()
	n, err := name.Parse("lab", s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestMain(m *testing.M) { os.Exit(kerneltest.LeakCheck(m).Run()) }

// realBase is a switch node with two bridges and two hosts on br0; tests
// edit it line by line. LAB stands for the lab's name.
const realBase = `name: LAB
nodes:
  sw:
    sysctls: {net.ipv4.ip_forward: 1}
    interfaces:
      br0: {kind: bridge, addresses: [10.10.0.1/24]}
      br1: {kind: bridge, addresses: [10.10.1.1/24]}
      p1: {master: br0}
      p2: {master: br0}
  a:
    interfaces:
      eth0: {addresses: [10.10.0.2/24]}
    routes: [{to: default, via: 10.10.0.1}]
  b:
    interfaces:
      eth0: {addresses: [10.10.0.3/24]}
    routes: [{to: 10.20.0.0/16, via: 10.10.0.1}]
links:
  - [a:eth0, sw:p1]
  - [b:eth0, sw:p2]
`

// realNodeC adds node c on port p3 of br0.
var realNodeC = realEdit{
	{"      p2: {master: br0}\n", "      p2: {master: br0}\n      p3: {master: br0}\n"},
	{"links:\n", "  c:\n    interfaces:\n      eth0: {addresses: [10.10.0.4/24]}\nlinks:\n  - [c:eth0, sw:p3]\n"},
}

// realEdit is a list of replacements of whole lines of a lab file.
type realEdit [][2]string

// apply returns text with each replacement made; each must match once.
func (e realEdit) apply(t *testing.T, text string) string {
	t.Helper()
	for _, r := range e {
		if strings.Count(text, r[0]) != 1 {
			t.Fatalf("edit: %q occurs %d times in:\n%s", r[0], strings.Count(text, r[0]), text)
		}
		text = strings.Replace(text, r[0], r[1], 1)
	}
	return text
}

// undo is the reverse edit.
func (e realEdit) undo() realEdit {
	out := make(realEdit, len(e))
	for i, r := range e {
		out[len(e)-1-i] = [2]string{r[1], r[0]}
	}
	return out
}

// realParse loads and validates a lab file given as text, with LAB
// replaced by name.
func realParse(t *testing.T, name, text string) *lab.Lab {
	t.Helper()
	text = strings.Replace(text, "name: LAB\n", "name: "+name+"\n", 1)
	l, diags := labfile.Parse("test.yaml", []byte(text))
	diags.Append(validate.Lab(l)...)
	if diags.HasErrors() {
		t.Fatalf("lab file is invalid: %v\n%s", diags.Err(), text)
	}
	return l
}

func realKernel(t *testing.T) *kernel.Linux {
	k := kernel.NewLinux()
	t.Cleanup(func() { k.Close() })
	return k
}

// realPlan runs netlab plan's pipeline (reconcile.Plan) on l, taking
// last as the last-applied record.
func realPlan(t *testing.T, k kernel.Kernel, l *lab.Lab, last *state.State, prune bool) (*state.State, *plan.Plan) {
	t.Helper()
	planned, err := reconcile.Plan(context.Background(), k, l, reconcile.Options{LastApplied: last, Prune: prune})
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	return planned.Desired, planned.Plan
}

// realApply runs netlab up's pipeline (reconcile.Up) on l, which must
// carry out exactly the changes of p, the plan the test looked at.
func realApply(t *testing.T, k kernel.Kernel, l *lab.Lab, p *plan.Plan, prune bool) {
	t.Helper()
	res, err := reconcile.Up(context.Background(), k, l, reconcile.Options{Prune: prune})
	if err != nil {
		t.Fatalf("up: %v", err)
	}
	// Up keeps no record here, so it labels no drift: compare the changes.
	unlabelled := func(p *plan.Plan) []string {
		out := realChanges(p)
		for i, c := range out {
			out[i] = strings.TrimSuffix(c, " (drift)")
		}
		return out
	}
	if got, want := unlabelled(res.Plan), unlabelled(p); !slices.Equal(got, want) {
		t.Errorf("up planned\n%s\nwant the plan looked at\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if res.Applied != len(p.Changes) {
		t.Errorf("applied %d of %d changes", res.Applied, len(p.Changes))
	}
}

// realUp runs netlab up's pipeline on l from whatever the kernel has.
func realUp(t *testing.T, k kernel.Kernel, l *lab.Lab) *state.State {
	t.Helper()
	res, err := reconcile.Up(context.Background(), k, l, reconcile.Options{})
	if err != nil {
		t.Fatalf("up: %v", err)
	}
	return res.Desired
}

// realChanges renders a plan's changes as "node SYM object", one each,
// with " (drift)" when the plan calls it drift.
func realChanges(p *plan.Plan) []string {
	var out []string
	for _, c := range p.Changes {
		if c.Action == plan.Create && c.Replacing() {
			continue
		}
		s := fmt.Sprintf("%s %s %s", c.Node, c.Action.Symbol(), c.Describe())
		if c.Drift {
			s += " (drift)"
		}
		out = append(out, s)
	}
	return out
}

// realIndexes maps NODE/LINK to ifindex for every link of the lab.
func realIndexes(t *testing.T, k kernel.Kernel, name string) map[string]int {
	t.Helper()
	s, err := k.Observe(context.Background(), name, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]int)
	for _, n := range s.Nodes {
		for _, l := range n.Links {
			out[n.Name+"/"+l.Name] = l.Index
		}
	}
	return out
}

// realNetNS lists the namespaces named LAB.*.
func realNetNS(t *testing.T, name string) []string {
	t.Helper()
	entries, err := os.ReadDir(kernel.NetNSDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), name+".") {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

// realIP runs ip(8) as a person would to change a lab by hand.
func realIP(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestEditsInPlace edits a running lab's file one step at a time: after
// each up the kernel matches the file, and every link the edit did not
// touch keeps its ifindex (it was changed in place, not re-created).
func TestEditsInPlace(t *testing.T) {
	t.Parallel()
	onBoth(t, testEditsInPlace)
}

func testEditsInPlace(t *testing.T, e *env) {
	name := kerneltest.LabName(t)
	k := e.k
	text := realBase
	desired := realUp(t, k, realParse(t, name, text))

	addLink := realEdit{
		{"    routes: [{to: default, via: 10.10.0.1}]\n", "      eth1: {addresses: [10.30.0.1/30]}\n    routes: [{to: default, via: 10.10.0.1}]\n"},
		{"    routes: [{to: 10.20.0.0/16, via: 10.10.0.1}]\n", "      eth1: {addresses: [10.30.0.2/30]}\n    routes: [{to: 10.20.0.0/16, via: 10.10.0.1}]\n"},
		{"  - [b:eth0, sw:p2]\n", "  - [b:eth0, sw:p2]\n  - [a:eth1, b:eth1]\n"},
	}
	addAddr := realEdit{{"      eth0: {addresses: [10.10.0.2/24]}\n", "      eth0: {addresses: [10.10.0.2/24, 10.10.0.22/24, 2001:db8:10::2/64]}\n"}}
	addRoute := realEdit{{"    routes: [{to: 10.20.0.0/16, via: 10.10.0.1}]\n", "    routes: [{to: 10.20.0.0/16, via: 10.10.0.1}, {to: 198.18.0.0/15, via: 10.10.0.1, metric: 7}]\n"}}
	mtu := realEdit{{"  - [a:eth0, sw:p1]\n", "  - {endpoints: [a:eth0, sw:p1], mtu: 1400}\n"}}
	move := realEdit{{"      p2: {master: br0}\n", "      p2: {master: br1}\n"}}

	steps := []struct {
		name string
		edit realEdit
		want []string // the plan, as realChanges renders it
	}{
		{"add_node", realNodeC, []string{
			"c + netns " + name + ".c",
			"c + link eth0 (veth, peer sw:p3)",
			"c + addr 10.10.0.4/24 dev eth0",
		}},
		{"remove_node", realNodeC.undo(), []string{
			"sw - link p3 (veth, peer c:eth0, master br0)",
			"c - netns " + name + ".c",
		}},
		{"add_link", addLink, []string{
			"a + link eth1 (veth, peer b:eth1)",
			"a + addr 10.30.0.1/30 dev eth1",
			"b + addr 10.30.0.2/30 dev eth1",
		}},
		{"remove_link", addLink.undo(), []string{
			"a - link eth1 (veth, peer b:eth1)",
			"b - link eth1 (veth, peer a:eth1)",
		}},
		{"add_address", addAddr, []string{
			"a + addr 10.10.0.22/24 dev eth0",
			"a + addr 2001:db8:10::2/64 dev eth0",
		}},
		{"remove_address", addAddr.undo(), []string{
			"a - addr 10.10.0.22/24 dev eth0",
			"a - addr 2001:db8:10::2/64 dev eth0",
		}},
		{"add_route", addRoute, []string{
			"b + route 198.18.0.0/15 via 10.10.0.1 metric 7",
		}},
		{"remove_route", addRoute.undo(), []string{
			"b - route 198.18.0.0/15 via 10.10.0.1 dev eth0 metric 7",
		}},
		{"change_mtu", mtu, []string{
			"a ~ link eth0: mtu 1500 -> 1400",
			"sw ~ link br0: mtu 1500 -> 1400", // a bridge has its smallest port's
			"sw ~ link p1: mtu 1500 -> 1400",
		}},
		{"move_to_other_bridge", move, []string{
			"sw ~ link p2: master br0 -> br1",
		}},
	}
	for _, st := range steps {
		before := realIndexes(t, k, name)
		text = st.edit.apply(t, text)
		l := realParse(t, name, text)
		newDesired, p := realPlan(t, k, l, desired, false)
		// Every node's hosts file names every address of the lab: an
		// edit of addresses or nodes rewrites them all. They are left
		// out here (the verify after apply covers them).
		got := slices.DeleteFunc(realChanges(p), func(s string) bool { return strings.Contains(s, " hosts ") })
		sort.Strings(got)
		want := slices.Clone(st.want)
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: plan\n%s\nwant\n%s", st.name, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		realApply(t, k, l, p, false)
		desired = newDesired
		after := realIndexes(t, k, name)
		for link, idx := range before {
			if a, ok := after[link]; ok && a != idx {
				t.Errorf("%s: link %s was re-created (ifindex %d -> %d)", st.name, link, idx, a)
			}
		}
	}
	s, err := k.Observe(context.Background(), name, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m := s.Nodes["sw"].Links["p2"].Master; m != "br1" {
		t.Errorf("sw:p2 master = %q, want br1", m)
	}
	if mtu := s.Nodes["a"].Links["eth0"].MTU; mtu != 1400 {
		t.Errorf("a:eth0 mtu = %d, want 1400", mtu)
	}
}

// TestDriftRepaired changes a running lab by hand, one object kind at a
// time: the plan shows the drift, up repairs it, and Verify passes.
func TestDriftRepaired(t *testing.T) {
	t.Parallel()
	onBoth(t, testDriftRepaired)
}

func testDriftRepaired(t *testing.T, e *env) {
	name := kerneltest.LabName(t)
	k := e.k
	l := realParse(t, name, realNodeC.apply(t, realBase))
	desired := realUp(t, k, l)
	ns := func(node string) string { return state.NetNSName(name, node) }

	cases := []struct {
		name  string
		drift func(t *testing.T)
		want  []string // realChanges of the plan, in plan order
	}{
		{"address_deleted", func(t *testing.T) {
			e.ip(t, "-n", ns("a"), "addr", "del", "10.10.0.2/24", "dev", "eth0")
		}, []string{
			// The kernel drops the default route with the last address
			// of its gateway's subnet.
			"a + addr 10.10.0.2/24 dev eth0 (drift)",
			"a + route default via 10.10.0.1 (drift)",
		}},
		{"link_down", func(t *testing.T) {
			e.ip(t, "-n", ns("b"), "link", "set", "eth0", "down")
		}, []string{
			"b ~ link eth0: up false -> true (drift)",
			"b + route 10.20.0.0/16 via 10.10.0.1 (drift)",
		}},
		{"veth_deleted", func(t *testing.T) {
			e.ip(t, "-n", ns("sw"), "link", "del", "p2")
		}, []string{
			"b + link eth0 (veth, peer sw:p2) (drift)",
			"b + addr 10.10.0.3/24 dev eth0 (drift)",
			"b + route 10.20.0.0/16 via 10.10.0.1 (drift)",
		}},
		{"sysctl_changed", func(t *testing.T) {
			e.sysctl(t, ns("sw"), "net.ipv4.ip_forward", "0")
		}, []string{
			"sw ~ sysctl net.ipv4.ip_forward: value 0 -> 1 (drift)",
		}},
		{"netns_deleted", func(t *testing.T) {
			// As between two netlab commands: nothing holds the
			// namespace open, so the kernel can free it.
			k.Close()
			e.ip(t, "netns", "del", ns("c"))
			// The kernel frees the namespace, and the veth end in it,
			// in the background; the peer end goes with it.
			e.linkGone(t, ns("sw"), "p3")
		}, []string{
			"c + netns " + ns("c") + " (drift)",
			"c + link eth0 (veth, peer sw:p3) (drift)",
			"c + addr 10.10.0.4/24 dev eth0 (drift)",
			// The hosts file outlives the namespace (ip netns del
			// leaves /etc/netns alone), is seen (State.OrphanHosts),
			// and is still right: nothing to write.
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.drift(t)
			_, p := realPlan(t, k, l, desired, false)
			got := realChanges(p)
			if !slices.Equal(got, tc.want) {
				t.Errorf("plan\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			realApply(t, k, l, p, false)
		})
	}

	t.Run("unmanaged_route_and_link", func(t *testing.T) {
		e.ip(t, "-n", ns("a"), "route", "add", "203.0.113.0/24", "via", "10.10.0.1")
		e.ip(t, "-n", ns("a"), "link", "add", "handmade0", "type", "bridge")
		_, p := realPlan(t, k, l, desired, false)
		if !p.Empty() {
			t.Errorf("without prune, the plan changes objects made by hand:\n%s", strings.Join(realChanges(p), "\n"))
		}
		var unmanaged []string
		for _, c := range p.Unmanaged {
			unmanaged = append(unmanaged, fmt.Sprintf("%s %s %s [%s]", c.Node, c.Action.Symbol(), c.Describe(), c.Reason))
		}
		wantUnmanaged := []string{"a - link handmade0 (bridge) [not declared in the lab file]", "a - route 203.0.113.0/24 via 10.10.0.1 dev eth0 [not declared in the lab file]"}
		sort.Strings(unmanaged)
		if !slices.Equal(unmanaged, wantUnmanaged) {
			t.Errorf("unmanaged\n%s\nwant\n%s", strings.Join(unmanaged, "\n"), strings.Join(wantUnmanaged, "\n"))
		}
		realApply(t, k, l, p, false)
		if out := e.routes(t, ns("a"), "203.0.113.0/24"); !strings.Contains(out, "203.0.113.0/24 via 10.10.0.1") {
			t.Errorf("up without prune removed the route made by hand: ip route shows %q", out)
		}
		if !e.hasLink(t, ns("a"), "handmade0") {
			t.Error("up without prune removed the link made by hand")
		}

		_, p = realPlan(t, k, l, desired, true)
		got := realChanges(p)
		want := []string{"a - route 203.0.113.0/24 via 10.10.0.1 dev eth0", "a - link handmade0 (bridge)"}
		if !slices.Equal(got, want) {
			t.Errorf("plan with prune\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		realApply(t, k, l, p, true)
		if out := e.routes(t, ns("a"), "203.0.113.0/24"); out != "" {
			t.Errorf("up --prune left the route made by hand: %q", out)
		}
	})
}

// realWaitLinkGone polls until a link is gone from a namespace.
func realWaitLinkGone(t *testing.T, netns, link string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := exec.Command("ip", "-n", netns, "link", "show", link).Run()
		if err != nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("link %s in %s still there after 10s", link, netns)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDownAfterHalfUp stops up after n changes, for several n, and checks
// that down then removes every namespace, and that a second down finds
// nothing and succeeds.
func TestDownAfterHalfUp(t *testing.T) {
	t.Parallel()
	onBoth(t, testDownAfterHalfUp)
}

func testDownAfterHalfUp(t *testing.T, e *env) {
	name := kerneltest.LabName(t)
	k := e.k
	l := realParse(t, name, realNodeC.apply(t, realBase))
	_, p := realPlan(t, k, l, nil, false)
	total := len(p.Changes)
	for _, n := range []int{1, 2, 5, total / 2, total - 1} {
		t.Run(fmt.Sprintf("after_%d_of_%d", n, total), func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			res, err := reconcile.Up(ctx, k, l, reconcile.Options{AfterChange: func(i int) {
				if i == n {
					cancel()
				}
			}})
			// Changes made together (namespaces, hosts files) that were
			// under way when ctx was cancelled finish: at least n are done.
			if !errors.Is(err, context.Canceled) || res == nil || res.Applied < n {
				t.Fatalf("apply cancelled after change %d: applied %d, err %v", n, res.Applied, err)
			}
			if len(e.netns(t, name)) == 0 {
				t.Fatal("the half-finished up left no namespace to remove")
			}
			deleted, err := apply.Down(context.Background(), k, name, nil)
			if err != nil {
				t.Fatalf("down: %v", err)
			}
			if left := e.netns(t, name); len(left) > 0 {
				t.Errorf("down left %v (deleted %v)", left, deleted)
			}
			deleted, err = apply.Down(context.Background(), k, name, nil)
			if err != nil || len(deleted) != 0 {
				t.Errorf("second down: deleted %v, err %v; want nothing, nil", deleted, err)
			}
		})
	}

	t.Run("after_the_file_changed", func(t *testing.T) {
		// Up one file, then part of an edited one that has node d in
		// place of c: down reads neither file and removes everything.
		realUp(t, k, l)
		text := realEdit{{"  c:\n", "  d:\n"}, {"[c:eth0", "[d:eth0"}}.apply(t, realNodeC.apply(t, realBase))
		edited := realParse(t, name, text)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if _, err := reconcile.Up(ctx, k, edited, reconcile.Options{AfterChange: func(i int) {
			if i == 3 {
				cancel()
			}
		}}); !errors.Is(err, context.Canceled) {
			t.Fatalf("apply: %v", err)
		}
		if got := e.netns(t, name); len(got) < 3 {
			t.Fatalf("namespaces after the half-finished edit: %v, want at least a, b and sw", got)
		}
		deleted, err := apply.Down(context.Background(), k, name, nil)
		if err != nil {
			t.Fatal(err)
		}
		if left := e.netns(t, name); len(left) > 0 {
			t.Errorf("down left %v (deleted %v)", left, deleted)
		}
	})
}

// realPair is a small lab of two nodes and one veth.
const realPair = `name: LAB
nodes:
  a:
    interfaces:
      eth0: {addresses: [192.0.2.1/24]}
  b:
    interfaces:
      eth0: {addresses: [192.0.2.2/24]}
links:
  - [a:eth0, b:eth0]
`

// TestDownLeavesOthersAlone runs labs whose names are prefixes of each
// other, beside a namespace made by hand with a look-alike name: down of
// one lab removes exactly that lab's namespaces.
func TestDownLeavesOthersAlone(t *testing.T) {
	t.Parallel()
	onBoth(t, testDownLeavesOthersAlone)
}

func testDownLeavesOthersAlone(t *testing.T, e *env) {
	ctx := context.Background()
	long := kerneltest.LabName(t)                   // nltestXXXXXX
	short := kerneltest.RegisterLab(t, long[:10])   // a prefix of long
	dashed := kerneltest.RegisterLab(t, short+"-x") // short, a dash, more
	k := e.k
	desired := make(map[string]*state.State)
	for _, name := range []string{short, long, dashed} {
		desired[name] = realUp(t, k, realParse(t, name, realPair))
	}

	// A namespace of short's name that netlab did not make, with a link
	// made by hand that even carries a netlab-like alias.
	ghost := state.NetNSName(short, "ghost")
	e.ip(t, "netns", "add", ghost)
	e.ip(t, "-n", ghost, "link", "add", "eth0", "type", "bridge")
	e.ip(t, "-n", ghost, "link", "set", "eth0", "alias", state.LinkMarker(short, ""))

	labs, err := k.Labs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, li := range labs {
		switch li.Name {
		case short, long, dashed:
			found++
			if !slices.Equal(li.Nodes, []string{"a", "b"}) {
				t.Errorf("Labs: %s has nodes %v, want [a b]", li.Name, li.Nodes)
			}
		}
	}
	if found != 3 {
		t.Errorf("Labs found %d of the 3 test labs: %+v", found, labs)
	}

	downOne := func(name string, others ...string) {
		t.Helper()
		deleted, err := apply.Down(ctx, k, name, nil)
		if err != nil {
			t.Fatalf("down %s: %v", name, err)
		}
		sort.Strings(deleted)
		if want := []string{name + ".a", name + ".b"}; !slices.Equal(deleted, want) {
			t.Errorf("down %s deleted %v, want %v", name, deleted, want)
		}
		for _, o := range others {
			if err := apply.Verify(ctx, k, desired[o], nil, plan.Options{}); err != nil {
				t.Errorf("down %s disturbed lab %s: %v", name, o, err)
			}
		}
	}
	downOne(short, long, dashed)
	if got := e.netns(t, short); !slices.Equal(got, []string{ghost}) {
		t.Errorf("after down %s: namespaces %v, want only the one made by hand", short, got)
	}
	if !e.hasLink(t, ghost, "eth0") {
		t.Errorf("the link made by hand in %s is gone", ghost)
	}
	downOne(dashed, long)
	downOne(long)
	if !e.netnsExists(t, ghost) {
		t.Errorf("down removed %s, which netlab did not make", ghost)
	}
}

// realFDs returns the open file descriptors of this process, each with
// what it points at.
func realFDs(t *testing.T) map[string]string {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]string, len(entries))
	for _, e := range entries {
		target, _ := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		out[e.Name()] = target
	}
	return out
}

// TestNoFDLeak counts this process's file descriptors around an up and a
// down, each with a kernel that is then closed: none may be left open. It
// is not parallel, so that no other test opens files meanwhile.
func TestNoFDLeak(t *testing.T) {
	kerneltest.RequireRoot(t)
	name := kerneltest.LabName(t)
	l := realParse(t, name, realNodeC.apply(t, realBase))
	ctx := context.Background()
	locked := func(fn func(k *kernel.Linux)) {
		lk, err := rundir.At(rundir.Default).Lock(ctx, mustName(t, name), -1, nil)
		if err != nil {
			t.Fatal(err)
		}
		k := kernel.NewLinux()
		fn(k)
		if err := k.Close(); err != nil {
			t.Fatal(err)
		}
		if err := lk.Release(); err != nil {
			t.Fatal(err)
		}
	}
	up := func(k *kernel.Linux) { realUp(t, k, l) }
	down := func(k *kernel.Linux) {
		if _, err := apply.Down(ctx, k, name, nil); err != nil {
			t.Fatal(err)
		}
	}
	// A descriptor is left open when its number is open after but was not
	// before, or points elsewhere. Files that earlier tests lost may be
	// closed by their finalizers meanwhile, so the count can only shrink.
	compare := func(what string, before, after map[string]string) {
		t.Helper()
		for fd, target := range after {
			if was, ok := before[fd]; !ok || was != target {
				t.Errorf("%s: fd %s left open: %s", what, fd, target)
			}
		}
		if len(after) > len(before) {
			t.Errorf("%s: %d descriptors before, %d after", what, len(before), len(after))
		}
		for fd, target := range before {
			if _, ok := after[fd]; !ok {
				t.Logf("%s: fd %s (%s) was closed meanwhile, by a finalizer or another test", what, fd, target)
			}
		}
	}
	// The runtime opens a few descriptors once (epoll and the like).
	locked(up)
	locked(down)

	runtime.GC() // run the finalizers of files lost by earlier tests now
	before := realFDs(t)
	locked(up)
	compare("up", before, settledFDs(t, before))
	locked(down)
	compare("up and down", before, settledFDs(t, before))
}

// settledFDs reads the open descriptors, polling for up to two seconds
// while some that were not open before are: a goroutine that another test
// left running may hold a file for a moment, while a leaked descriptor
// stays open for good.
func settledFDs(t *testing.T, before map[string]string) map[string]string {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		after := realFDs(t)
		extra := false
		for fd, target := range after {
			if was, ok := before[fd]; !ok || was != target {
				extra = true
			}
		}
		if !extra || time.Now().After(deadline) {
			return after
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestTwoAppliesAtOnce runs two up's of one lab at once, each with its own
// kernel, as two netlab processes would: the second waits for the lock,
// then finds nothing left to do, and both succeed.
func TestTwoAppliesAtOnce(t *testing.T) {
	t.Parallel()
	onBoth(t, testTwoAppliesAtOnce)
}

func testTwoAppliesAtOnce(t *testing.T, e *env) {
	name := kerneltest.LabName(t)
	labName := mustName(t, name)
	l := realParse(t, name, realNodeC.apply(t, realBase))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	var inside atomic.Int32 // how many hold the lock: never more than one
	held := make(chan struct{})
	waiting := make(chan struct{})
	var waitOnce sync.Once
	planned := make([]int, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	run := func(i int, onLocked func(), waitingFn func()) {
		defer wg.Done()
		errs[i] = func() error {
			lk, err := e.runDir.Lock(ctx, labName, -1, waitingFn)
			if err != nil {
				return err
			}
			defer lk.Release()
			if n := inside.Add(1); n != 1 {
				return fmt.Errorf("%d holders of the lock at once", n)
			}
			defer inside.Add(-1)
			if onLocked != nil {
				onLocked()
			}
			k := e.newKernel()
			defer k.Close()
			res, err := reconcile.Up(ctx, k, l, reconcile.Options{})
			if res != nil {
				planned[i] = len(res.Plan.Changes)
			}
			return err
		}()
	}
	wg.Add(2)
	go run(0, func() {
		close(held)
		// Keep the lock until the other one is waiting for it.
		select {
		case <-waiting:
		case <-ctx.Done():
		}
	}, nil)
	go func() {
		<-held
		run(1, nil, func() { waitOnce.Do(func() { close(waiting) }) })
	}()
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("up %d: %v", i+1, err)
		}
	}
	select {
	case <-waiting:
	default:
		t.Error("the second up never reported waiting for the lock")
	}
	if planned[0] == 0 || planned[1] != 0 {
		t.Errorf("planned %d then %d changes; want all in the first, none in the second", planned[0], planned[1])
	}
	if err := apply.Verify(context.Background(), e.k, plan.Desired(l), nil, plan.Options{}); err != nil {
		t.Error(err)
	}
}
