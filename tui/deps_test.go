package tui_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps keeps the UI away from the kernel: it reads the lab only
// through its Source interface (STYLE.md L1), so it builds and tests
// anywhere.
func TestDeps(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go command not found: %v", err)
	}
	out, err := exec.Command(gobin, "list", "-deps", "netlab/tui/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	forbidden := []string{"netlab/lab/kernel", "netlab/lab/apply", "github.com/vishvananda/", "github.com/google/nftables", "github.com/spf13/cobra"}
	for _, dep := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if strings.HasPrefix(dep, f) {
				t.Errorf("tui imports %s (directly or not): the UI reads the kernel only through a Source", dep)
			}
		}
	}
}
