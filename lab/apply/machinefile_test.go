package apply_test

import (
	"os"
	"path/filepath"
	"testing"

	"netlab/lab/apply"
	"netlab/lab/rundir"
)

// TestMachineFile: the machine up keeps is read back and removed; a file
// that does not hold one valid name, planted or cut short, is none.
func TestMachineFile(t *testing.T) {
	path := t.TempDir()
	dir := rundir.At(path)
	if _, ok := apply.LoadMachine(dir, "spread"); ok {
		t.Fatal("a machine before any was kept")
	}
	if err := apply.SaveMachine(dir, "spread", "m1"); err != nil {
		t.Fatal(err)
	}
	if m, ok := apply.LoadMachine(dir, "spread"); !ok || m != "m1" {
		t.Fatalf("LoadMachine = %q, %v; want m1", m, ok)
	}
	if err := apply.SaveMachine(dir, "spread", "../m1"); err == nil {
		t.Error("SaveMachine took an invalid name")
	}
	for _, planted := range []string{"../etc\n", "m1", "m1\nm2\n", "", "M1\n"} {
		if err := os.WriteFile(filepath.Join(path, "spread.machine"), []byte(planted), 0o600); err != nil {
			t.Fatal(err)
		}
		if m, ok := apply.LoadMachine(dir, "spread"); ok {
			t.Errorf("file %q read as machine %q", planted, m)
		}
	}
	// A link planted in netlab's place is not followed: not read, and
	// replaced, not written through, by the next save.
	outside := filepath.Join(t.TempDir(), "target")
	if err := os.WriteFile(outside, []byte("m9\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(path, "spread.machine")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(path, "spread.machine")); err != nil {
		t.Fatal(err)
	}
	if m, ok := apply.LoadMachine(dir, "spread"); ok {
		t.Errorf("a planted symlink read as machine %q", m)
	}
	if err := apply.SaveMachine(dir, "spread", "m2"); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(outside); string(data) != "m9\n" {
		t.Errorf("SaveMachine wrote through the planted link: target now %q", data)
	}
	if m, ok := apply.LoadMachine(dir, "spread"); !ok || m != "m2" {
		t.Errorf("after a save over the link: %q, %v; want m2", m, ok)
	}
	if err := apply.DeleteMachine(dir, "spread"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(path, "spread.machine")); !os.IsNotExist(err) {
		t.Errorf("after DeleteMachine: %v", err)
	}
	if err := apply.DeleteMachine(dir, "spread"); err != nil {
		t.Errorf("a second DeleteMachine: %v", err)
	}
}
