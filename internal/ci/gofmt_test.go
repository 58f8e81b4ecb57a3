package ci

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGofmtCheckKeepsLog runs .ci/gofmt-check as .ci/run does, with
// standard error redirected to a log that already holds earlier output:
// an unformatted file must fail the check, be named, and leave the earlier
// lines in place (tee /dev/stderr reopened the log and truncated it).
func TestGofmtCheckKeepsLog(t *testing.T) {
	if _, err := exec.LookPath("gofmt"); err != nil {
		t.Skip("needs gofmt")
	}
	script, err := filepath.Abs("../../.ci/gofmt-check")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "ok.go"), []byte("package x\n\nfunc f() {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "ci.log")
	runCheck := func() error {
		// As CI does: earlier steps write to the log, then the check runs
		// with the log as its standard error.
		cmd := exec.Command("bash", "-c", `{ echo "earlier step output" >&2; "$0" "$1"; } 2>"$2"`, script, src, logPath)
		return cmd.Run()
	}

	if err := runCheck(); err != nil {
		t.Fatalf("gofmt-check on formatted code: %v\nlog:\n%s", err, readFile(t, logPath))
	}

	if err := os.WriteFile(filepath.Join(src, "bad.go"), []byte("package x\nfunc  g(){}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = runCheck()
	log := readFile(t, logPath)
	if err == nil {
		t.Errorf("gofmt-check passed with an unformatted file; log:\n%s", log)
	}
	if !strings.Contains(log, "bad.go") {
		t.Errorf("log does not name the unformatted file:\n%s", log)
	}
	if strings.Contains(log, "ok.go") {
		t.Errorf("log names a formatted file:\n%s", log)
	}
	if !strings.HasPrefix(log, "earlier step output\n") {
		t.Errorf("the check truncated the log; want the earlier output kept, got:\n%s", log)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
