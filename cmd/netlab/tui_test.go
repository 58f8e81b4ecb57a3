package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestTUITmux runs netlab tui for real in tmux against the default lab
// (under a name of its own), sends traffic and checks that the counters on
// screen move: scripts/tui-tmux.sh, which `just tui-demo` also runs. It
// needs root, tmux and bash, and is skipped with -short.
func TestTUITmux(t *testing.T) {
	if testing.Short() {
		t.Skip("brings a lab up and runs the UI in tmux: skipped with -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("brings a lab up: needs root")
	}
	for _, tool := range []string{"tmux", "bash", "go", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s", tool)
		}
	}
	script, err := filepath.Abs("../../scripts/tui-tmux.sh")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", script)
	cmd.Env = append(os.Environ(), "TUI_TMUX_OUT="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
	t.Logf("%s", out)
}
