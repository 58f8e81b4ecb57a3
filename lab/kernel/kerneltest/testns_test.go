package kerneltest_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
)

func testnsExists(t *testing.T, netns string) bool {
	t.Helper()
	_, err := os.Lstat(filepath.Join(kernel.NetNSDir, netns))
	return err == nil
}

func testnsAdd(t *testing.T, name string) {
	t.Helper()
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", name, err, out)
	}
}

func TestLabNameCleansUp(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	var name, bare string
	t.Run("test", func(t *testing.T) {
		name = kerneltest.LabName(t)
		if !regexp.MustCompile(`^nltest[a-z0-9]{6}$`).MatchString(name) {
			t.Errorf("LabName = %q, want nltest and 6 characters of [a-z0-9]", name)
		}
		testnsAdd(t, name+".a")
		testnsAdd(t, name+".b")
		if err := os.WriteFile(filepath.Join(kerneltest.RunDir, name+".lock"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		bare = kerneltest.NewTestNS(t)
		if !testnsExists(t, bare) {
			t.Errorf("NewTestNS made no namespace %s", bare)
		}
		if got := kerneltest.Leaks(); !slices.Contains(got, name+".a") || !slices.Contains(got, bare) {
			t.Errorf("Leaks() = %v while the test runs, want %s.a and %s among them", got, name, bare)
		}
	})
	for _, ns := range []string{name + ".a", name + ".b", bare} {
		if testnsExists(t, ns) {
			t.Errorf("namespace %s still there after its test ended", ns)
		}
	}
	if _, err := os.Stat(filepath.Join(kerneltest.RunDir, name+".lock")); !os.IsNotExist(err) {
		t.Errorf("%s.lock still there after its test ended: %v", name, err)
	}
	if got := kerneltest.Leaks(); slices.Contains(got, name+".a") || slices.Contains(got, bare) {
		t.Errorf("Leaks() = %v after cleanup", got)
	}
}

// TestRemoveLabOnlyItsOwn checks that removing a lab leaves labs whose
// names it is a prefix of alone.
func TestRemoveLabOnlyItsOwn(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	long := kerneltest.LabName(t)
	short := kerneltest.RegisterLab(t, long[:10])
	testnsAdd(t, short+".a")
	testnsAdd(t, long+".a")
	if err := kerneltest.RemoveLab(short); err != nil {
		t.Fatal(err)
	}
	if testnsExists(t, short+".a") || !testnsExists(t, long+".a") {
		t.Errorf("after RemoveLab(%s): %s.a exists %v, %s.a exists %v", short, short, testnsExists(t, short+".a"), long, testnsExists(t, long+".a"))
	}
}
