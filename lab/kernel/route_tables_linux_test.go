package kernel_test

import (
	"context"
	"slices"
	"testing"

	"netlab/lab/kernel/kerneltest"
	"netlab/lab/state"
)

// TestObserveReadsTheMainTablesOnly: routes are read from the main
// tables, IPv4 and IPv6, and of other tables only netlab's (protocol
// 78, rules_conformance_linux_test.go): the kernel's local tables (a
// route for each address, multicast) and a person's routes in a table
// of their own are left out, with the strict dump (which asks the kernel for
// the main tables alone) as without it. A hand route in the main table
// is read, not owned.
func TestObserveReadsTheMainTablesOnly(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	name := kerneltest.LabName(t)
	k := &testKernel{Kernel: newLinux(t), linux: true}
	l := singleIP(t, name)
	upLab(t, k, l)
	ns := state.NetNSName(name, "c2")
	k.hand(t,
		"ip -n "+ns+" route add 198.51.100.0/24 dev veth0 table 100",
		"ip -n "+ns+" -6 route add 2001:db8:1::/64 dev veth0 table 100",
		"ip -n "+ns+" route add 203.0.113.0/24 dev veth0",
	)
	s, err := k.Observe(context.Background(), name, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range s.Nodes["c2"].Routes {
		owner := "netlab"
		if !r.Owned {
			owner = "hand"
		}
		got = append(got, r.To.String()+" "+owner)
	}
	var want []string
	for _, r := range l.Node("c2").Routes {
		want = append(want, r.To.String()+" netlab")
	}
	want = append(want, "203.0.113.0/24 hand")
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("c2's routes: got %q, want %q (the main table's only)", got, want)
	}
}
