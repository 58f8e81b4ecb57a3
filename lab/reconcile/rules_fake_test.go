package reconcile_test

import (
	"strings"
	"testing"

	"netlab/lab"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/plan"
	"netlab/lab/reconcile"
	"netlab/topologies"
)

// policyCourseLab is the course's policy-routing lab, as shipped.
func policyCourseLab(t *testing.T) *lab.Lab {
	t.Helper()
	data, err := topologies.Read("policy-routing.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return parse(t, string(data))
}

// TestUpRulesOnFake runs the policy-routing lab through up, plan and up
// again on the fake kernel: its rules and tables are made with netlab's
// mark; netlab's rule and a table's route deleted by hand are drift,
// which up puts back; a person's rule is left by up, with prune too; a
// rule of netlab's whose table the file changes is replaced (deleted,
// added); the rules taken out of the file are deleted, the person's
// stays.
func TestUpRulesOnFake(t *testing.T) {
	l := policyCourseLab(t)
	k := kerneltest.NewFake()
	dir := tempRunDir(t)
	opts := reconcile.Options{RunDir: dir}
	if _, err := reconcile.Up(ctx, k, l, opts); err != nil {
		t.Fatalf("up: %v", err)
	}
	contents := k.String()
	for _, want := range []string{
		"ip -n policy-rt.gw -4 rule add priority 1000 from 10.0.1.0/24 table 101 proto 78",
		"ip -n policy-rt.gw -4 rule add priority 1001 from 10.0.2.0/24 table 102 proto 78",
		"ip -n policy-rt.gw route replace default via 10.255.1.2 table 101 proto 78",
	} {
		if !strings.Contains(contents, want) {
			t.Errorf("after up, the fake lacks %q:\n%s", want, contents)
		}
	}

	k.MustSeed(t,
		"ip -n policy-rt.gw rule del priority 1000 from 10.0.1.0/24 table 101 proto 78",
		"ip -n policy-rt.gw route del default table 102",
		"ip -n policy-rt.gw rule add priority 500 from 10.0.1.10 table 102",
	)
	planned, err := reconcile.Plan(ctx, k, l, reconcile.Options{RunDir: dir, Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range planned.Plan.Changes {
		got = append(got, c.Action.Symbol()+" "+c.Describe())
		if !c.Drift {
			t.Errorf("%s is not labelled drift", c.Describe())
		}
	}
	want := []string{"+ rule -4 priority 1000 from 10.0.1.0/24 lookup 101", "+ route default via 10.255.2.2 table 102"}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("plan after the hand changes: %q, want %q", got, want)
	}
	if _, err := reconcile.Up(ctx, k, l, reconcile.Options{RunDir: dir, Prune: true}); err != nil {
		t.Fatalf("up: %v", err)
	}
	contents = k.String()
	for _, want := range []string{
		"ip -n policy-rt.gw -4 rule add priority 1000 from 10.0.1.0/24 table 101 proto 78",
		"ip -n policy-rt.gw route replace default via 10.255.2.2 table 102 proto 78",
		"ip -n policy-rt.gw -4 rule add priority 500 from 10.0.1.10/32 table 102 proto boot",
	} {
		if !strings.Contains(contents, want) {
			t.Errorf("after up --prune, the fake lacks %q:\n%s", want, contents)
		}
	}

	edited := policyCourseLab(t)
	edited.Node("gw").Rules[0].Table = 102
	res, err := reconcile.Up(ctx, k, edited, opts)
	if err != nil {
		t.Fatalf("up of the edited lab: %v", err)
	}
	got = got[:0]
	for _, c := range res.Plan.Changes {
		got = append(got, c.Action.Symbol()+" "+c.Describe())
	}
	want = []string{"- rule -4 priority 1000 from 10.0.1.0/24 lookup 101", "+ rule -4 priority 1000 from 10.0.1.0/24 lookup 102"}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("up of a rule's new table: %q, want %q", got, want)
	}

	edited.Node("gw").Rules = nil
	if res, err = reconcile.Up(ctx, k, edited, opts); err != nil {
		t.Fatalf("up without rules: %v", err)
	}
	for _, c := range res.Plan.Changes {
		if c.Object != plan.Rule || c.Action != plan.Delete {
			t.Errorf("up without rules planned %s", c.Describe())
		}
	}
	contents = k.String()
	if strings.Count(contents, " rule add ") != 1 || !strings.Contains(contents, "rule add priority 500 from 10.0.1.10/32 table 102 proto boot") {
		t.Errorf("after up without rules, the rules left are not the person's alone:\n%s", contents)
	}
}
