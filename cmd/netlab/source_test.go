package main

import (
	"strings"
	"testing"

	"netlab/lab/apply"
	"netlab/lab/rundir"
)

// TestAppliedLab reads back the file up kept, as check --lab and tui --lab
// do: with its checks, positions naming the copy; a copy of another lab,
// or one no longer valid, is refused.
func TestAppliedLab(t *testing.T) {
	old := runDir
	runDir = rundir.At(t.TempDir())
	t.Cleanup(func() { runDir = old })

	if _, _, err := appliedLab("t"); err == nil || !strings.Contains(err.Error(), "lab t has no copy of the lab file") {
		t.Errorf("appliedLab with no copy: %v", err)
	}
	text := "name: t\nnodes:\n  a: {}\n  b: {}\nchecks:\n  - {from: a, ping: 192.0.2.1, expect: fail}\n"
	if err := apply.SaveSource(runDir, "t", []byte(text)); err != nil {
		t.Fatal(err)
	}
	l, diags, err := appliedLab("t")
	if err != nil || diags.HasErrors() {
		t.Fatalf("appliedLab: %v %v", err, diags.Err())
	}
	if len(l.Checks) != 1 || l.Checks[0].Pos.File != apply.SourcePath(runDir, "t") || l.Checks[0].Pos.Line != 6 {
		t.Errorf("checks %+v, want one, at %s:6", l.Checks, apply.SourcePath(runDir, "t"))
	}

	if err := apply.SaveSource(runDir, "u", []byte(text)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := appliedLab("u"); err == nil || !strings.Contains(err.Error(), `names lab "t", not "u"`) {
		t.Errorf("appliedLab of a copy naming another lab: %v", err)
	}

	if err := apply.SaveSource(runDir, "t", []byte("name: t\nnodes:\n  A: {}\n")); err != nil {
		t.Fatal(err)
	}
	if _, diags, err := appliedLab("t"); err == nil || !diags.HasErrors() {
		t.Errorf("appliedLab of an invalid copy: %v, diagnostics %v", err, diags)
	}
}
