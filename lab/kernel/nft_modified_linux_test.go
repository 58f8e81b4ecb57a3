package kernel_test

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"netlab/lab/kernel/kerneltest"
	"netlab/lab/plan"
	"netlab/lab/state"
)

// TestNFTRuleEditedByHand edits netlab's masquerade rule with nft the way
// people do (list, edit, load back), keeping its comment: the plan must
// see the rule as changed and up must restore it.
func TestNFTRuleEditedByHand(t *testing.T) {
	kerneltest.RequireRoot(t)
	nft, err := exec.LookPath("nft")
	if err != nil {
		t.Skip("nft is not installed; this test edits a rule the way a person would, with nft")
	}
	t.Parallel()
	name := kerneltest.LabName(t)
	k := newLinux(t)
	l := singleIP(t, name)
	upLab(t, k, l)
	host := state.NetNSName(name, "host")
	out, err := exec.Command("ip", "netns", "exec", host, nft, "-a", "list", "chain", "inet", "netlab", "nat_postrouting").CombinedOutput()
	if err != nil {
		t.Fatalf("nft list: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`comment "(netlab-[0-9a-f]+)" # handle (\d+)`).FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("no netlab rule with a handle in:\n%s", out)
	}
	tag, handle := m[1], m[2]
	edited := `ip saddr 10.0.0.0/8 counter drop comment "` + tag + `"`
	if out, err := exec.Command("ip", "netns", "exec", host, nft, "replace", "rule", "inet", "netlab", "nat_postrouting", "handle", handle, edited).CombinedOutput(); err != nil {
		t.Fatalf("nft replace: %v\n%s", err, out)
	}

	_, p := planLab(t, k, l)
	var tables []*plan.Change
	for _, c := range p.Changes {
		if c.Object == plan.NFTables {
			tables = append(tables, c)
		}
	}
	if len(tables) != 1 || tables[0].Action != plan.Update || !tables[0].Drift {
		t.Fatalf("want one drifted update of the table, got plan:\n%s", planText(p))
	}
	if details := strings.Join(tables[0].Details(), "\n"); !strings.Contains(details, "changed by hand") || !strings.Contains(details, "masquerade") {
		t.Errorf("details do not say the rule was changed by hand:\n%s", details)
	}
	upLab(t, k, l)
	if _, p := planLab(t, k, l); !p.Empty() {
		t.Errorf("plan after the repair is not empty:\n%s", planText(p))
	}
}
