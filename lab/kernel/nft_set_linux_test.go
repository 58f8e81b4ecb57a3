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

// TestNFTSetRuleReadBack: a rule that matches both ICMPs looks its
// protocol up in an anonymous set, which the kernel names itself. netlab
// reads the set back as its own (a second plan is empty), and a rule
// edited by hand to match ICMPv4 only, comment kept, is drift that up
// repairs.
func TestNFTSetRuleReadBack(t *testing.T) {
	kerneltest.RequireRoot(t)
	nft, err := exec.LookPath("nft")
	if err != nil {
		t.Skip("nft is not installed; this test edits a rule the way a person would, with nft")
	}
	t.Parallel()
	name := kerneltest.LabName(t)
	k := newLinux(t)
	l := parseLab(t, `name: `+name+`
nodes:
  a:
    interfaces:
      eth0: {addresses: [10.76.0.1/24]}
    firewall:
      input:
        rules:
          - {action: drop, proto: icmp}
  b:
    interfaces:
      eth0: {addresses: [10.76.0.2/24]}
links:
  - [a:eth0, b:eth0]
`)
	upLab(t, k, l)
	if _, p := planLab(t, k, l); !p.Empty() {
		t.Fatalf("plan right after up is not empty:\n%s", planText(p))
	}
	ns := state.NetNSName(name, "a")
	out, err := exec.Command("ip", "netns", "exec", ns, nft, "-a", "list", "chain", "inet", "netlab", "filter_input").CombinedOutput()
	if err != nil {
		t.Fatalf("nft list: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "meta l4proto { icmp, ipv6-icmp } counter") {
		t.Errorf("nft lists the rule otherwise:\n%s", out)
	}
	m := regexp.MustCompile(`comment "(netlab-[0-9a-f]+)" # handle (\d+)`).FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("no netlab rule with a handle in:\n%s", out)
	}
	edited := `meta l4proto icmp counter drop comment "` + m[1] + `"`
	if out, err := exec.Command("ip", "netns", "exec", ns, nft, "replace", "rule", "inet", "netlab", "filter_input", "handle", m[2], edited).CombinedOutput(); err != nil {
		t.Fatalf("nft replace: %v\n%s", err, out)
	}
	_, p := planLab(t, k, l)
	if len(p.Changes) != 1 || p.Changes[0].Object != plan.NFTables || !p.Changes[0].Drift {
		t.Fatalf("want one drifted update of the table, got plan:\n%s", planText(p))
	}
	upLab(t, k, l)
	if _, p := planLab(t, k, l); !p.Empty() {
		t.Errorf("plan after the repair is not empty:\n%s", planText(p))
	}
}
