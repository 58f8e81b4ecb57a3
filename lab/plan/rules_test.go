package plan_test

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"netlab/lab/plan"
	"netlab/lab/state"
)

// rulesLab is a router with two rules, one of them for both families,
// and routes in two tables.
const rulesLab = `name: t
nodes:
  r:
    interfaces:
      eth0: {addresses: [10.0.0.1/24, "2001:db8::1/64"]}
    rules:
      - {from: 10.1.0.0/24, table: 100}
      - {fwmark: 0x10/0xff, table: 200, priority: 500}
    routes:
      - {to: default, via: 10.0.0.254, table: 100}
      - {to: default, via: "2001:db8::fe", table: 200}
      - {to: 10.9.0.0/16, via: 10.0.0.253}
  h:
    interfaces:
      eth0: {addresses: [10.0.0.254/24, 10.0.0.253/24, "2001:db8::fe/64"]}
links:
  - [r:eth0, h:eth0]
`

// TestWriteTextRules pins the plan of rules and tables: made from
// nothing; drift (netlab's rule deleted by hand, a table's route
// changed, a person's rule beside, which is left alone even with
// prune); an edit (a rule's table, a delete and an add); and the rules
// taken out of the file.
func TestWriteTextRules(t *testing.T) {
	edited := func(pairs ...string) string {
		text := rulesLab
		for i := 0; i < len(pairs); i += 2 {
			if !strings.Contains(text, pairs[i]) {
				t.Fatalf("%q is not in the lab", pairs[i])
			}
			text = strings.Replace(text, pairs[i], pairs[i+1], 1)
		}
		return text
	}
	hand := state.Rule{Priority: 100, From: netip.MustParsePrefix("10.1.0.9/32"), Table: 300}
	tests := []struct {
		name   string
		want   string
		kernel func(o *state.State)
		opts   plan.Options
	}{
		{name: "create", want: rulesLab, kernel: nil},
		{name: "drift", want: rulesLab, opts: plan.Options{Prune: true}, kernel: func(o *state.State) {
			r := o.Nodes["r"]
			r.Rules = slices.DeleteFunc(r.Rules, func(x state.Rule) bool { return x.Priority == 1000 })
			r.Rules = append(r.Rules, hand) // a person's, not Owned
			for i := range r.Routes {
				if r.Routes[i].Table == 100 {
					r.Routes[i].Via = netip.MustParseAddr("10.0.0.253")
				}
			}
		}},
		{name: "edit", want: edited("{from: 10.1.0.0/24, table: 100}", "{from: 10.1.0.0/24, table: 101}",
			"{to: default, via: 10.0.0.254, table: 100}", "{to: default, via: 10.0.0.254, table: 101}")},
		{name: "removed", want: edited("    rules:\n      - {from: 10.1.0.0/24, table: 100}\n      - {fwmark: 0x10/0xff, table: 200, priority: 500}\n", "")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var observed *state.State
			if tc.name != "create" {
				applied := desired(t, rulesLab)
				observed = built(applied)
				tc.opts.LastApplied = applied
			}
			if tc.kernel != nil {
				tc.kernel(observed)
			}
			want := desired(t, tc.want)
			p := plan.Diff(want, observed, tc.opts)
			golden(t, planText(p))
			if tc.name == "drift" {
				for _, c := range p.Changes {
					if c.Object == plan.Rule && c.Action == plan.Delete {
						t.Errorf("a person's rule is deleted, even with prune: %s", c.Describe())
					}
				}
			}
		})
	}
}

// TestDesiredRules: a rule without priority gets 1000 plus its place; a
// rule with neither from nor to is made for both families; table main
// is 254 in a rule and 0 in a route.
func TestDesiredRules(t *testing.T) {
	s := desired(t, strings.Replace(rulesLab, "      - {to: 10.9.0.0/16, via: 10.0.0.253}\n", "      - {to: 10.9.0.0/16, via: 10.0.0.253, table: main}\n", 1))
	r := s.Nodes["r"]
	var got []string
	for _, x := range r.Rules {
		got = append(got, x.Text())
	}
	want := []string{
		"-4 priority 500 fwmark 0x10/0xff lookup 200",
		"-6 priority 500 fwmark 0x10/0xff lookup 200",
		"-4 priority 1000 from 10.1.0.0/24 lookup 100",
	}
	if !slices.Equal(got, want) {
		t.Errorf("rules = %q, want %q", got, want)
	}
	for _, rt := range r.Routes {
		if rt.To.String() == "10.9.0.0/16" && rt.Table != 0 {
			t.Errorf("route of table: main has table %d, want 0 (main)", rt.Table)
		}
	}
}
