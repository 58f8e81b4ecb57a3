package plan_test

import (
	"slices"
	"testing"

	"netlab/lab/plan"
)

// TestRemovedRuleShownAsText: the kernel keeps only a rule's tag, so a
// rule dropped from the file is shown by its text taken from the last
// up's record, and by its tag when there is no record.
func TestRemovedRuleShownAsText(t *testing.T) {
	const before = `name: t
nodes:
  a:
    interfaces:
      eth0: {kind: bridge}
    firewall:
      input:
        rules:
          - {action: drop, proto: tcp, dport: 23}
          - {action: accept, proto: tcp, dport: 22}
`
	const after = `name: t
nodes:
  a:
    interfaces:
      eth0: {kind: bridge}
    firewall:
      input:
        rules:
          - {action: accept, proto: tcp, dport: 22}
`
	last := desired(t, before)
	observed := built(last)
	want := desired(t, after)
	details := func(p *plan.Plan) []string {
		var out []string
		for _, c := range p.Changes {
			out = append(out, c.Details()...)
		}
		return out
	}
	withRecord := details(plan.Diff(want, observed, plan.Options{LastApplied: last}))
	if !slices.Contains(withRecord, "- filter_input: tcp dport 23 counter drop") {
		t.Errorf("with the record, details = %q; want the removed rule's text", withRecord)
	}
	tag := last.Nodes["a"].NFT.Chain("filter_input").Rules[0].Tag
	withoutRecord := details(plan.Diff(want, observed, plan.Options{}))
	if !slices.Contains(withoutRecord, "- filter_input: "+tag) {
		t.Errorf("without a record, details = %q; want the removed rule's tag %s", withoutRecord, tag)
	}
}
