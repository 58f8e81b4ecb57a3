package rundir

import (
	"context"
	"os"
	"testing"

	"netlab/lab/name"
)

// TestHeld: Held is true exactly while a Lock of the lab is held, false
// for a lock file a killed netlab left, and takes nothing itself.
func TestHeld(t *testing.T) {
	d := At(t.TempDir() + "/run")
	lab, _ := name.Parse("lab", "a")
	other, _ := name.Parse("lab", "b")
	if d.Held(lab) {
		t.Error("held before any lock")
	}
	l, err := d.Lock(context.Background(), lab, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Held(lab) || d.Held(other) {
		t.Errorf("while locked: a held %v, b held %v; want true, false", d.Held(lab), d.Held(other))
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if d.Held(lab) {
		t.Error("held after release")
	}
	// A lock file with no holder, as a netlab killed with it leaves.
	if err := os.WriteFile(d.Path()+"/a.lock", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if d.Held(lab) {
		t.Error("a lock file without a holder counts as held")
	}
	l2, err := d.Lock(context.Background(), lab, 0, nil)
	if err != nil {
		t.Fatalf("lock after Held: %v", err)
	}
	l2.Release()
}
