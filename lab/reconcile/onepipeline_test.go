package reconcile_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// observeCall is a call of an Observe method or function, with what it
// is called on.
var observeCall = regexp.MustCompile(`(\w+)\.Observe\(`)

// observeOwners are the packages that may call a kernel's Observe
// directly: the kernels themselves and the pipeline's observe step
// (apply.Observe, reconcile.Observe), which adopts the declared
// processes that lost their marker.
var observeOwners = map[string]bool{"lab/kernel": true, "lab/kernel/kerneltest": true, "lab/apply": true}

// pipelineSteps are calls that, outside this package, would mean a second
// copy of the pipeline (or of one of its steps) is being built: each step
// has one caller, reconcile, besides the package that owns it.
var pipelineSteps = []struct {
	call  string
	owner string // the package (directory) that defines it
	why   string
}{
	{"apply.Apply(", "lab/apply", "apply a plan: reconcile.Up"},
	{"apply.CheckSysctls(", "lab/apply", "the sysctl gate: reconcile.Plan"},
	{"apply.LoadRecord(", "lab/apply", "read the record: reconcile.Plan or NameRules"},
	{"apply.SaveRecord(", "lab/apply", "keep the record: reconcile.Up"},
	{"apply.DeleteRecord(", "lab/apply", "forget the record: reconcile.Down"},
	{"apply.DownHost(", "lab/apply", "down's host-link policy: reconcile.Down"},
	{"apply.DownAll(", "lab/apply", "down's order (processes, hosts files, namespaces): reconcile.Down"},
	{"apply.AwaitProcesses(", "lab/apply", "wait for processes to be ready: reconcile.Up"},
	{"apply.UpdateExits(", "lab/apply", "keep the ends of processes: reconcile.Up"},
	{"apply.LoadExits(", "lab/apply", "read the ends of processes: reconcile.Plan or Processes"},
	{"apply.DeleteExits(", "lab/apply", "forget the ends of processes: reconcile.Down"},
	{"apply.LoadStarted(", "lab/apply", "read the started record: reconcile.Observe, Up or Down"},
	{"apply.LoadStartedRecord(", "lab/apply", "keep the started record: reconcile.Up"},
	{"apply.DeleteStarted(", "lab/apply", "forget the started record: reconcile.Down"},
	{"apply.Adopt(", "lab/apply", "adopt retitled processes: reconcile.Observe"},
	{"apply.Observe(", "lab/apply", "observe and adopt: reconcile.Observe"},
	{"state.AnnotateRules(", "lab/state", "name the rules: reconcile.NameRules"},
}

// pipelineExempt are files allowed to build the pipeline by hand, with
// why.
var pipelineExempt = map[string]string{
	// It applies labs that validate refuses, on purpose, to prove that
	// validate refuses exactly what the kernel does.
	"lab/kernel/mac_linux_test.go": "applies what validate refuses",
	"lab/kernel/mtu_linux_test.go": "applies what validate refuses",
	// It fuzzes Diff itself, on generated states that have no lab file.
	"lab/plan/fuzz_test.go": "fuzzes Diff",
}

// TestOnePipeline reads every Go file of the module and fails on a call
// of a pipeline step outside reconcile and the step's own package, and on
// a file that observes the kernel and diffs against it (plan.Diff after
// Observe) by hand. This is how "no second copy of the pipeline" is
// checked.
func TestOnePipeline(t *testing.T) {
	root := filepath.Join("..", "..")
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found: %v", err)
	}
	files := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		dir := filepath.ToSlash(filepath.Dir(rel))
		if dir == "lab/reconcile" {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		text := string(data)
		for _, s := range pipelineSteps {
			if dir == s.owner || pipelineExempt[rel] != "" || !strings.Contains(text, s.call) {
				continue
			}
			t.Errorf("%s calls %s: a second copy of a pipeline step (%s)", rel, s.call, s.why)
		}
		if !strings.HasSuffix(rel, "_test.go") && !observeOwners[dir] {
			for _, m := range observeCall.FindAllStringSubmatch(text, -1) {
				if m[1] != "reconcile" {
					t.Errorf("%s calls %s.Observe: observe through reconcile.Observe, which adopts the processes that set their own title", rel, m[1])
				}
			}
		}
		if pipelineExempt[rel] == "" && dir != "lab/apply" && strings.Contains(text, ".Observe(") && strings.Contains(text, "plan.Diff(") {
			t.Errorf("%s observes the kernel and calls plan.Diff: a second copy of the plan pipeline (use reconcile.Plan or reconcile.Diff)", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 50 {
		t.Fatalf("read only %d Go files; the walk missed the module", files)
	}
}
