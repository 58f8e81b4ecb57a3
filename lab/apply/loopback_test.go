package apply_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"netlab/lab"
	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/plan"
	"netlab/lab/reconcile"
	"netlab/lab/state"
)

// loopbackLab has a node whose lo is left to the kernel, and one whose lo
// has an address of its own.
const loopbackLab = `name: %s
nodes:
  a:
    interfaces:
      eth0: {addresses: [10.0.0.1/24, "fd00::1/64"]}
  b:
    interfaces:
      eth0: {addresses: [10.0.0.2/24, "fd00::2/64"]}
      lo: {addresses: [127.0.0.2/8]}
links:
  - [a:eth0, b:eth0]
`

// loopbackDrift are hand changes to lo that take away the kernel's own
// addresses (an MTU below 1280 drops ::1, and setting the MTU back does
// not bring it back), with the plan that repairs each.
var loopbackDrift = []struct {
	name  string
	hand  []string // ip arguments, NETNS standing for the node's namespace
	node  string
	wantP []string // the plan's changes, as realChanges renders them
}{
	{"mtu_700", []string{"-n NETNS link set lo mtu 700"}, "a", []string{
		"a ~ link lo: mtu 700 -> 65536 (drift)",
		"a + addr ::1/128 dev lo (drift)",
	}},
	{"mtu_700_and_back", []string{"-n NETNS link set lo mtu 700", "-n NETNS link set lo mtu 65536"}, "b", []string{
		"b + addr ::1/128 dev lo (drift)",
	}},
	// Set up again, lo gets its addresses from the kernel: the plan
	// does not add them too.
	{"down", []string{"-n NETNS link set lo down"}, "a", []string{
		"a ~ link lo: up false -> true (drift)",
	}},
	// On a, whose lo has no secondary address: Linux deletes those of a
	// subnet with its primary one (promote_secondaries is 0).
	{"addrs_deleted", []string{"-n NETNS addr del 127.0.0.1/8 dev lo", "-n NETNS addr del ::1/128 dev lo"}, "a", []string{
		"a + addr 127.0.0.1/8 dev lo (drift)",
		"a + addr ::1/128 dev lo (drift)",
	}},
}

// TestLoopbackAddrsRepairedOnFake: the kernel's addresses of lo are
// netlab's to keep. Taken away by hand, plan shows their absence as
// drift, up puts them back (after the MTU), and a second up is a no-op.
func TestLoopbackAddrsRepairedOnFake(t *testing.T) {
	for _, tc := range loopbackDrift {
		t.Run(tc.name, func(t *testing.T) {
			l := mustLab(t, "loop", []byte(fmt.Sprintf(loopbackLab, "loop")))
			k := kerneltest.NewFake()
			upFake(t, k, l, plan.Options{})
			want := k.String()
			for _, h := range tc.hand {
				k.MustSeed(t, "ip "+strings.ReplaceAll(h, "NETNS", state.NetNSName(l.Name, tc.node)))
			}
			loopbackRepaired(t, k, l, tc.wantP)
			if got := k.String(); got != want {
				t.Errorf("up did not put lo back (-want +got):\n%s", cmp.Diff(want, got))
			}
		})
	}
}

// TestLoopbackAddrsRepaired is TestLoopbackAddrsRepairedOnFake on Linux,
// where the kernel itself drops ::1 with the MTU.
func TestLoopbackAddrsRepaired(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	name := kerneltest.LabName(t)
	k := realKernel(t)
	l := realParse(t, name, fmt.Sprintf(loopbackLab, "LAB"))
	realUp(t, k, l)
	for _, tc := range loopbackDrift {
		t.Run(tc.name, func(t *testing.T) {
			ns := state.NetNSName(name, tc.node)
			for _, h := range tc.hand {
				realIP(t, strings.Fields(strings.ReplaceAll(h, "NETNS", ns))...)
			}
			loopbackRepaired(t, k, l, tc.wantP)
			out := realIP(t, "-n", ns, "addr", "show", "dev", "lo")
			if !strings.Contains(out, " mtu 65536 ") {
				t.Errorf("after up, lo of %s has another MTU than 65536:\n%s", tc.node, out)
			}
			for _, want := range []string{"inet 127.0.0.1/8 ", "inet6 ::1/128 "} {
				line := slices.IndexFunc(strings.Split(out, "\n"), func(s string) bool {
					return strings.Contains(s, want) && strings.Contains(s, " scope host ")
				})
				if line < 0 {
					t.Errorf("after up, lo of %s lacks %q with scope host:\n%s", tc.node, want, out)
				}
			}
		})
	}
}

// loopbackRepaired plans l on k, with l itself as the last up's record,
// checks the plan, runs up, and checks that up again has nothing to do.
func loopbackRepaired(t *testing.T, k kernel.Kernel, l *lab.Lab, want []string) {
	t.Helper()
	p := planFake(t, k, l, reconcile.Options{LastApplied: plan.Desired(l)})
	if got := realChanges(p); !slices.Equal(got, want) {
		t.Errorf("plan\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if _, err := reconcile.Up(context.Background(), k, l, reconcile.Options{LastApplied: plan.Desired(l)}); err != nil {
		t.Fatalf("up: %v", err)
	}
	if again := planFake(t, k, l, reconcile.Options{}); !again.Empty() {
		t.Errorf("a second up would change:\n%s", strings.Join(realChanges(again), "\n"))
	}
}
