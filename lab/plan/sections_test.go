package plan_test

import (
	"context"
	"strings"
	"testing"

	"netlab/lab/kernel/kerneltest"
	"netlab/lab/labfile"
	"netlab/lab/plan"
	"netlab/lab/reconcile"
	"netlab/lab/validate"
)

// handLab has a macvlan with an address and a route through it, and a
// veth end with a route through it: what a hand change to either takes
// with it.
const handLab = `name: t
nodes:
  h:
    interfaces:
      eth0: {addresses: [10.0.0.1/24]}
      mv0: {kind: macvlan, macvlan: {parent: eth0, mode: bridge}, addresses: [10.1.0.1/24]}
    routes:
      - {to: 10.9.0.0/16, via: 10.1.0.9}
      - {to: 10.8.0.0/16, via: 10.0.0.2}
  r:
    interfaces:
      eth0: {addresses: [10.0.0.2/24]}
links:
  - [h:eth0, r:eth0]
`

// TestWriteTextHandChanges builds handLab on the fake kernel, changes it
// by hand, and pins the plan text: a change made outside netlab and what
// the kernel takes along with it (routes, addresses, the devices on it)
// show in one section, "Changed outside netlab", not split with part under
// "Changes".
func TestWriteTextHandChanges(t *testing.T) {
	tests := []struct{ name, hand string }{
		{"macvlan_mode", "ip -n t.h link set mv0 type macvlan mode private"},
		{"rename", "ip -n t.h link set eth0 name eth9"},
		{"rename_macvlan", "ip -n t.h link set mv0 name mv9"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, diags := labfile.Parse("hand.yaml", []byte(handLab))
			diags.Append(validate.Lab(l)...)
			if diags.HasErrors() {
				t.Fatal(diags.Err())
			}
			ctx := context.Background()
			k := kerneltest.NewFake()
			if _, err := reconcile.Up(ctx, k, l, reconcile.Options{}); err != nil {
				t.Fatal(err)
			}
			k.MustSeed(t, tc.hand)
			planned, err := reconcile.Plan(ctx, k, l, reconcile.Options{LastApplied: plan.Desired(l)})
			if err != nil {
				t.Fatal(err)
			}
			p := planned.Plan
			text := planText(p)
			golden(t, text)
			if strings.Contains(text, "\nChanges:\n") {
				t.Errorf("a hand change shows under Changes:\n%s", text)
			}
			for _, c := range p.Changes {
				if !c.Drift {
					t.Errorf("%s %s %s: not drift, though only the kernel changed", c.Action, c.Object, c.Name)
				}
			}
			// Up repairs the lab, with the same changes.
			res, err := reconcile.Up(ctx, k, l, reconcile.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Applied != len(p.Changes) {
				t.Errorf("up applied %d changes, the plan has %d", res.Applied, len(p.Changes))
			}
		})
	}
}
