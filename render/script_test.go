package render

import (
	"testing"

	"netlab/lab/plan"
)

// TestScriptSectionsArePlanPhases checks that the script heads its steps
// by the plan's phases rather than an order of its own: every phase a lab
// built on an empty machine can have has a heading, and the headings run
// in phase order, so a phase plan adds or moves shows here.
func TestScriptSectionsArePlanPhases(t *testing.T) {
	var order []string
	for p := plan.PhaseNetNS; p <= plan.PhaseProcesses; p++ {
		s, ok := sections[p]
		if !ok {
			t.Errorf("plan phase %s has no heading in the script", p)
			continue
		}
		if n := len(order); n == 0 || order[n-1] != s {
			order = append(order, s)
		}
	}
	// Link settings come twice in the apply order: before and after the
	// links on top of others, which take their MTU from them.
	want := []string{
		"namespaces: one per node", "bridges", "veth pairs and other links", "link settings",
		"links on top of other links", "link settings", "addresses", "routes", "sysctls",
		"nftables: NAT and filter rules", "hosts files: every node by name", "processes",
	}
	if len(order) != len(want) {
		t.Fatalf("headings in phase order: got %q, want %q", order, want)
	}
	for i := range want {
		if order[i] != want[i] {
			t.Errorf("heading %d: got %q, want %q", i, order[i], want[i])
		}
	}
	for p := plan.PhaseDeleteProcesses; p <= plan.PhaseDeleteOther; p++ {
		if s, ok := sections[p]; ok {
			t.Errorf("delete phase %s has heading %q: the script builds on an empty machine", p, s)
		}
	}
}
