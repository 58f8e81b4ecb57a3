package reconcile_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"netlab/lab"
	"netlab/lab/apply"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/labfile"
	"netlab/lab/name"
	"netlab/lab/plan"
	"netlab/lab/reconcile"
	"netlab/lab/rundir"
	"netlab/lab/validate"
)

var ctx = context.Background()

const pairLab = `name: pair
nodes:
  a:
    interfaces:
      eth0: {addresses: [10.0.0.1/24]}
  b:
    interfaces:
      eth0: {addresses: [10.0.0.2/24]}
links:
  - [a:eth0, b:eth0]
`

// parse parses a lab file's text without validating it: the pipeline
// must validate it itself.
func parse(t *testing.T, text string) *lab.Lab {
	t.Helper()
	l, diags := labfile.Parse("test.yaml", []byte(text))
	if l == nil || diags.HasErrors() {
		t.Fatalf("parse: %v", diags.Err())
	}
	return l
}

func tempRunDir(t *testing.T) *rundir.Dir {
	d := rundir.At(t.TempDir())
	return &d
}

// TestUpRefusesWhatValidateRefuses: a library caller that skips validate
// cannot apply a lab validate refuses; nothing is written, and the
// diagnostic has the file's position. The same lab, diffed and applied
// step by step as the CLI used to, is written to the kernel: the gate is
// the pipeline's own.
func TestUpRefusesWhatValidateRefuses(t *testing.T) {
	// The same address on two nodes: the kernel takes it (each node is
	// its own namespace), validate does not.
	text := strings.Replace(pairLab, "10.0.0.2/24", "10.0.0.1/24", 1)
	l := parse(t, text)
	if !validate.Lab(l).HasErrors() {
		t.Fatal("validate accepts an address used twice; the test needs a lab it refuses")
	}
	k := kerneltest.NewFake()
	for _, step := range []string{"plan", "up"} {
		var err error
		if step == "plan" {
			_, err = reconcile.Plan(ctx, k, l, reconcile.Options{})
		} else {
			_, err = reconcile.Up(ctx, k, l, reconcile.Options{})
		}
		var refused *reconcile.RefusedError
		if !errors.As(err, &refused) || !strings.Contains(err.Error(), "test.yaml:8:") {
			t.Errorf("%s returned %v, want validate's diagnostic at test.yaml:8", step, err)
		}
	}
	if k.Writes() != 0 || k.String() != "" {
		t.Errorf("up of a refused lab wrote %d time(s):\n%s", k.Writes(), k.String())
	}
	// Without the gate, the fake takes the lab.
	p := reconcile.Diff(plan.Desired(l), nil, nil, false)
	if _, err := apply.Apply(ctx, k, p, apply.Options{}); err != nil {
		t.Fatalf("the refused lab does not even apply without the gate: %v", err)
	}
}

// TestUpRefusesUnknownSysctl: a sysctl the kernel lacks is a diagnostic
// at its position before anything is written.
func TestUpRefusesUnknownSysctl(t *testing.T) {
	text := strings.Replace(pairLab, "  a:\n", "  a:\n    sysctls: {net.ipv4.no_such_key: 1}\n", 1)
	k := kerneltest.NewFake()
	_, err := reconcile.Up(ctx, k, parse(t, text), reconcile.Options{})
	var refused *reconcile.RefusedError
	if !errors.As(err, &refused) || !strings.Contains(err.Error(), `test.yaml:4:15: sysctl "net.ipv4.no_such_key" does not exist`) {
		t.Errorf("up returned %v, want the unknown sysctl at test.yaml:4:15", err)
	}
	if k.Writes() != 0 {
		t.Errorf("up wrote %d time(s) before refusing", k.Writes())
	}
}

// TestUpKeepsRecord: up keeps the record and source in the run directory
// it is given; a second up changes nothing; a change made by hand is then
// planned as drift, from the record; down forgets both.
func TestUpKeepsRecord(t *testing.T) {
	l := parse(t, pairLab)
	k := kerneltest.NewFake()
	dir := tempRunDir(t)
	opts := reconcile.Options{RunDir: dir, Source: []byte(pairLab)}
	res, err := reconcile.Up(ctx, k, l, opts)
	if err != nil || res.SaveErr != nil {
		t.Fatalf("up: %v, save: %v", err, res.SaveErr)
	}
	if res.Applied == 0 || res.Applied != len(res.Plan.Changes) {
		t.Errorf("up applied %d of %d changes", res.Applied, len(res.Plan.Changes))
	}
	if rec := apply.LoadRecord(*dir, l.Name); rec == nil || len(rec.Nodes) != 2 {
		t.Errorf("record after up: %+v, want the lab's two nodes", rec)
	}
	if src, err := apply.LoadSource(*dir, l.Name); err != nil || string(src) != pairLab {
		t.Errorf("source after up: %q, %v", src, err)
	}
	if again, err := reconcile.Up(ctx, k, l, opts); err != nil || again.Applied != 0 || !again.Plan.Empty() {
		t.Fatalf("second up: %v, applied %d", err, again.Applied)
	}

	k.MustSeed(t, "ip -n pair.a addr del 10.0.0.1/24 dev eth0")
	planned, err := reconcile.Plan(ctx, k, l, reconcile.Options{RunDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if cs := planned.Plan.Changes; len(cs) != 1 || !cs[0].Drift {
		t.Fatalf("plan after an address was deleted by hand: %v, want one change labelled drift", cs)
	}
	down, err := reconcile.Down(ctx, k, l.Name, reconcile.DownOptions{RunDir: dir})
	if err != nil || down.ForgetErr != nil || len(down.Deleted) != 2 {
		t.Fatalf("down: %v, forget %v, deleted %v", err, down.ForgetErr, down.Deleted)
	}
	if apply.LoadRecord(*dir, l.Name) != nil {
		t.Error("down left the record")
	}
	if _, err := apply.LoadSource(*dir, l.Name); !errors.Is(err, apply.ErrNoSource) {
		t.Errorf("down left the source: %v", err)
	}
}

// TestUpRefusesConflict: a namespace of a node's name that netlab did not
// make stops up before its first write, with up's message, whether up
// or apply is asked.
func TestUpRefusesConflict(t *testing.T) {
	l := parse(t, pairLab)
	k := kerneltest.NewFake()
	k.MustSeed(t, "ip netns add pair.b")
	before := k.String()
	_, err := reconcile.Up(ctx, k, l, reconcile.Options{})
	if err == nil {
		t.Fatalf("up over a foreign namespace succeeded:\n%s", k.String())
	}
	const want = "lab pair: nothing was changed, because objects netlab does not own are in the way: "
	if !errors.As(err, new(*apply.ConflictError)) || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "pair.b") {
		t.Errorf("up returned %v, want %q about pair.b", err, want)
	}
	if c := (plan.Conflict{}); !errors.As(err, &c) || c.Node != "b" {
		t.Errorf("the refusal does not carry the conflict of node b: %+v", c)
	}
	if k.Writes() != 0 || k.String() != before {
		t.Errorf("up with a conflict wrote %d time(s)", k.Writes())
	}
	planned, planErr := reconcile.Plan(ctx, k, l, reconcile.Options{})
	if planErr != nil {
		t.Fatal(planErr)
	}
	_, applyErr := apply.Apply(ctx, k, planned.Plan, apply.Options{})
	if applyErr == nil || applyErr.Error() != err.Error() {
		t.Errorf("apply refuses with %v, up with %v: want one message", applyErr, err)
	}
}

const hostLab = `name: hosted
nodes:
  h:
    host: true
    interfaces:
      hbr0: {kind: bridge}
      hv0: {master: hbr0}
  c:
    interfaces:
      eth0: {addresses: [10.9.0.2/24]}
links:
  - [h:hv0, c:eth0]
`

// TestDownHostPolicy: down refuses, before removing anything, a lab whose
// host node has links in the root namespace, or whose file declares one,
// unless host links are allowed; then it removes only the links it marked
// there.
func TestDownHostPolicy(t *testing.T) {
	l := parse(t, hostLab)
	k := kerneltest.NewFake()
	k.MustSeed(t, "ip link add docker0 type bridge")
	if _, err := reconcile.Up(ctx, k, l, reconcile.Options{}); err != nil {
		t.Fatal(err)
	}
	before := k.String()
	_, err := reconcile.Down(ctx, k, l.Name, reconcile.DownOptions{})
	var refused *reconcile.HostLinksError
	if !errors.As(err, &refused) || refused.Links != 2 || !strings.Contains(err.Error(), "--allow-host") {
		t.Errorf("down without AllowHost returned %v, want the refusal counting 2 links", err)
	}
	if k.String() != before {
		t.Error("the refused down changed the kernel")
	}
	res, err := reconcile.Down(ctx, k, l.Name, reconcile.DownOptions{AllowHost: true})
	if err != nil {
		t.Fatal(err)
	}
	// hv0 went with c's namespace, as a veth's ends go together.
	if got := strings.Join(res.HostDeleted, " "); got != "hbr0" {
		t.Errorf("host links removed: %q, want hbr0 (and never docker0)", got)
	}
	if left, err := k.HostLinks(ctx, l.Name); err != nil || len(left) != 0 {
		t.Errorf("after down the lab's host links are %v, %v; want none", left, err)
	}
	// Nothing left in the kernel, but the file declares a host node.
	_, err = reconcile.Down(ctx, k, l.Name, reconcile.DownOptions{DeclaresHost: true})
	if !errors.As(err, &refused) || refused.Links != 0 {
		t.Errorf("down of a file with a host node, without AllowHost: %v, want the refusal", err)
	}
}

// TestNameRules: observed rules get their text from the record, then
// from the lab's desired state.
func TestNameRules(t *testing.T) {
	text := strings.Replace(pairLab, "  b:\n", "  b:\n    firewall:\n      input:\n        rules:\n          - {action: drop, proto: tcp, dport: 23}\n", 1)
	l := parse(t, text)
	k := kerneltest.NewFake()
	dir := tempRunDir(t)
	if _, err := reconcile.Up(ctx, k, l, reconcile.Options{RunDir: dir}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		dir     *rundir.Dir
		desired bool
	}{{"record", dir, false}, {"file", nil, true}} {
		observed, err := k.Observe(ctx, l.Name, nil)
		if err != nil {
			t.Fatal(err)
		}
		var desired = plan.Desired(l)
		if !tc.desired {
			desired = nil
		}
		record := reconcile.NameRules(observed, l.Name, tc.dir, desired)
		if (record != nil) != (tc.dir != nil) {
			t.Errorf("%s: record %v", tc.name, record)
		}
		rules := observed.Nodes["b"].NFT.Chains[0].Rules
		if len(rules) != 1 || rules[0].Action != "drop" {
			t.Errorf("%s: rules %+v, want the drop rule with its text", tc.name, rules)
		}
	}
}

// startedKind is the run directory's started record.
var startedKind = rundir.Started

// labName is a lab's name as the run directory takes it.
func labName(t *testing.T, s string) name.Name {
	t.Helper()
	n, err := name.Parse("lab", s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
