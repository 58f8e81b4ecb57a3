package apply_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"netlab/lab/apply"
	"netlab/lab/rundir"
	"netlab/lab/state"
)

// TestRecordRefusesHostileNames feeds names that could lead out of the run
// directory to the record functions: each is refused, and nothing is made
// inside the directory or beside it.
func TestRecordRefusesHostileNames(t *testing.T) {
	base := t.TempDir()
	dir := rundir.At(filepath.Join(base, "run", "netlab"))
	for _, bad := range []string{"", "../../x", "../../tmp/x", "a/b", "a b", "HX", "a\nb", "a.b", strings.Repeat("a", 13)} {
		if err := apply.SaveRecord(dir, state.New(bad)); err == nil {
			t.Errorf("SaveRecord of lab %q succeeded", bad)
		}
		if s := apply.LoadRecord(dir, bad); s != nil {
			t.Errorf("LoadRecord of lab %q returned a record", bad)
		}
		if err := apply.DeleteRecord(dir, bad); err == nil {
			t.Errorf("DeleteRecord of lab %q succeeded", bad)
		}
	}
	if entries, _ := os.ReadDir(base); len(entries) != 0 {
		t.Errorf("made %v beside a refused name", entries)
	}
}

func TestRecordRoundTrip(t *testing.T) {
	dir := rundir.At(t.TempDir())
	s := state.New("lab1")
	s.Nodes["a"] = state.NewNode("a", state.NetNSName("lab1", "a"))
	if err := apply.SaveRecord(dir, s); err != nil {
		t.Fatal(err)
	}
	got := apply.LoadRecord(dir, "lab1")
	if got == nil || got.Nodes["a"] == nil {
		t.Fatalf("LoadRecord = %+v, want the saved state", got)
	}
	if apply.LoadRecord(dir, "lab2") != nil {
		t.Error("LoadRecord of another lab returned a record")
	}
	if err := apply.DeleteRecord(dir, "lab1"); err != nil {
		t.Fatal(err)
	}
	if apply.LoadRecord(dir, "lab1") != nil {
		t.Error("LoadRecord after DeleteRecord returned a record")
	}
}
