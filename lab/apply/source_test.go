package apply_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"netlab/lab/apply"
	"netlab/lab/rundir"
)

// TestSource keeps the text of the lab file up applied, replaces it on the
// next up, reads it back, and removes it on down; a lab never brought up
// has none.
func TestSource(t *testing.T) {
	dir := t.TempDir()
	rd := rundir.At(dir)
	if _, err := apply.LoadSource(rd, "t"); !errors.Is(err, apply.ErrNoSource) {
		t.Fatalf("LoadSource before any up: %v, want ErrNoSource", err)
	}
	for _, text := range []string{"name: t\n", "name: t\nnodes: {a: {}}\n"} {
		if err := apply.SaveSource(rd, "t", []byte(text)); err != nil {
			t.Fatal(err)
		}
		got, err := apply.LoadSource(rd, "t")
		if err != nil || string(got) != text {
			t.Fatalf("LoadSource = %q, %v; want %q", got, err, text)
		}
	}
	if apply.SourcePath(rd, "t") != filepath.Join(dir, "t.yaml") {
		t.Errorf("SourcePath = %s, want it in the run directory", apply.SourcePath(rd, "t"))
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("the run directory holds %d files after two saves, want 1 (no temporary left)", len(ents))
	}
	if err := apply.DeleteSource(rd, "t"); err != nil {
		t.Fatal(err)
	}
	if err := apply.DeleteSource(rd, "t"); err != nil {
		t.Errorf("second DeleteSource: %v, want nil", err)
	}
	if _, err := apply.LoadSource(rd, "t"); !errors.Is(err, apply.ErrNoSource) {
		t.Errorf("LoadSource after down: %v, want ErrNoSource", err)
	}
}

// TestSourceSymlink: a symlink planted where the source goes is neither
// read through nor written through.
func TestSourceSymlink(t *testing.T) {
	dir := t.TempDir()
	rd := rundir.At(dir)
	target := filepath.Join(t.TempDir(), "target")
	if err := os.WriteFile(target, []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(dir, "t.yaml")); err != nil {
		t.Fatal(err)
	}
	if data, err := apply.LoadSource(rd, "t"); err == nil {
		t.Errorf("LoadSource followed a symlink and read %q", data)
	}
	if err := apply.SaveSource(rd, "t", []byte("name: t\n")); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(target); !bytes.Equal(got, []byte("secret\n")) {
		t.Errorf("SaveSource wrote through the symlink: target now %q", got)
	}
	if got, err := apply.LoadSource(rd, "t"); err != nil || string(got) != "name: t\n" {
		t.Errorf("after SaveSource: %q, %v", got, err)
	}
}
