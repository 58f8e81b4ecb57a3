package state_test

import (
	"testing"

	"netlab/lab/state"
)

// TestNFRuleLabel: a rule shows its nft text when its definition is
// known, else its tag, and says so when netlab did not write it. status
// and the TUI both show rules by it.
func TestNFRuleLabel(t *testing.T) {
	known := &state.NFRule{Tag: "t1", Action: "drop", Proto: "tcp", DPort: 23}
	if got, want := known.Label(), known.Text(); got != want || got == "" {
		t.Errorf("label of a known rule %q, want its text %q", got, want)
	}
	if got := (&state.NFRule{Tag: "t1"}).Label(); got != "t1" {
		t.Errorf("label of a rule known by tag only %q, want t1", got)
	}
	if got := (&state.NFRule{}).Label(); got != "(a rule netlab did not write)" {
		t.Errorf("label of an untagged rule %q", got)
	}
}
