package lab_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The pure core of netlab: the packages that must build and test on any
// machine, without root, and that the kernel, the terminal UI and the
// command line sit on top of (STYLE.md L1).
var pureCore = []string{
	"netlab/lab",
	"netlab/lab/diag",
	"netlab/lab/device",
	"netlab/lab/name",
	"netlab/lab/labfile",
	"netlab/lab/validate",
	"netlab/lab/state",
	"netlab/lab/mtu",
	"netlab/lab/plan",
	"netlab/render",
}

// badDeps are the packages no package of the pure core may import, even
// indirectly, with the reason. A key ending in "/" bans every package below
// it.
var badDeps = map[string]string{
	"github.com/vishvananda/netlink": "only lab/kernel touches the kernel",
	"github.com/vishvananda/netns":   "only lab/kernel touches the kernel",
	"github.com/google/nftables":     "only lab/kernel touches the kernel",
	"github.com/ti-mo/conntrack":     "only lab/kernel touches the kernel",
	"golang.org/x/sys/unix":          "only lab/kernel makes system calls",
	"github.com/charmbracelet/":      "the terminal UI lives in tui",
	"github.com/spf13/cobra":         "the command line lives in cmd/netlab",
}

// noYAML are the packages that must not import go.yaml.in/yaml/v3: the model,
// its rules and the plan know nothing of the file format; only labfile does.
var noYAML = []string{
	"netlab/lab",
	"netlab/lab/diag",
	"netlab/lab/device",
	"netlab/lab/validate",
	"netlab/lab/state",
	"netlab/lab/mtu",
	"netlab/lab/plan",
}

// mayImport lists, for each core package, the project packages it may
// import directly; a package may also import whatever those may, since the
// layers only point down.
var mayImport = map[string][]string{
	"netlab/lab/diag":     nil,
	"netlab/lab/device":   nil,
	"netlab/lab/name":     nil,
	"netlab/lab/state":    {"netlab/lab/name", "netlab/lab/device"},
	"netlab/lab":          {"netlab/lab/diag", "netlab/lab/device"},
	"netlab/lab/labfile":  {"netlab/lab"},
	"netlab/lab/mtu":      {"netlab/lab", "netlab/lab/state"},
	"netlab/lab/validate": {"netlab/lab", "netlab/lab/name", "netlab/lab/state", "netlab/lab/mtu"},
	"netlab/lab/plan":     {"netlab/lab", "netlab/lab/state", "netlab/lab/mtu"},
	"netlab/render":       {"netlab/lab", "netlab/lab/state", "netlab/lab/plan"},
}

// pipeline lists, for the packages above the pure core that others build
// on, the project packages each may import directly. The pipeline
// (lab/reconcile) sits on the kernel and below every caller: it never
// imports the command line, the terminal UI or a renderer.
var pipeline = map[string][]string{
	"netlab/lab/reconcile": {
		"netlab/lab", "netlab/lab/diag", "netlab/lab/validate", "netlab/lab/state", "netlab/lab/plan",
		"netlab/lab/kernel", "netlab/lab/apply", "netlab/lab/rundir", "netlab/lab/name",
	},
}

type goPackage struct {
	ImportPath string
	Dir        string
	Imports    []string
	Deps       []string
	Standard   bool
	Error      *struct{ Err string }
}

// goList runs go list -json on the packages and decodes its answer.
func goList(t *testing.T, args ...string) []goPackage {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go command not found: %v", err)
	}
	cmd := exec.Command(gobin, append([]string{"list", "-e", "-json"}, args...)...)
	cmd.Dir = ".."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	var pkgs []goPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p goPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// existing returns the core packages that exist yet: a directory with Go
// files that are not tests.
func existing(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, pkg := range pureCore {
		dir := filepath.Join("..", strings.TrimPrefix(pkg, "netlab/"))
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		if slices.ContainsFunc(files, func(f string) bool { return !strings.HasSuffix(f, "_test.go") }) {
			out = append(out, pkg)
		}
	}
	if !slices.Contains(out, "netlab/lab") {
		t.Fatalf("package netlab/lab not found; run the test from lab/")
	}
	return out
}

func TestDeps(t *testing.T) {
	pkgs := goList(t, existing(t)...)
	if len(pkgs) == 0 {
		t.Fatal("go list returned no packages")
	}
	for _, p := range pkgs {
		if p.Error != nil {
			t.Errorf("%s: %s", p.ImportPath, p.Error.Err)
			continue
		}
		for _, dep := range p.Deps {
			if why, bad := forbidden(dep); bad {
				t.Errorf("%s imports %s (directly or not): %s", p.ImportPath, dep, why)
			}
			if dep == "go.yaml.in/yaml/v3" && slices.Contains(noYAML, p.ImportPath) {
				t.Errorf("%s imports go.yaml.in/yaml/v3 (directly or not): only lab/labfile reads YAML", p.ImportPath)
			}
		}
		allowed := allowedImports(p.ImportPath)
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, "netlab/") && !allowed[imp] {
				t.Errorf("%s imports %s: it may import only %q (STYLE.md L1)", p.ImportPath, imp, keys(allowed))
			}
		}
	}
}

// TestPipelineDeps checks the imports of the packages of pipeline, and
// that none of them depends on cmd/, tui/ or render/, even indirectly.
func TestPipelineDeps(t *testing.T) {
	var names []string
	for name := range pipeline {
		names = append(names, name)
	}
	slices.Sort(names)
	pkgs := goList(t, names...)
	if len(pkgs) != len(names) {
		t.Fatalf("go list returned %d packages for %d", len(pkgs), len(names))
	}
	for _, p := range pkgs {
		if p.Error != nil {
			t.Errorf("%s: %s", p.ImportPath, p.Error.Err)
			continue
		}
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, "netlab/") && !slices.Contains(pipeline[p.ImportPath], imp) {
				t.Errorf("%s imports %s: it may import only %q", p.ImportPath, imp, pipeline[p.ImportPath])
			}
		}
		for _, dep := range p.Deps {
			for _, above := range []string{"netlab/cmd/", "netlab/tui", "netlab/render"} {
				if strings.HasPrefix(dep, above) {
					t.Errorf("%s depends on %s: the pipeline sits below its callers", p.ImportPath, dep)
				}
			}
		}
	}
}

// TestDepsCatchesBadImport makes sure the check above can fail: cmd/netlab
// imports cobra, so go list must show it among its deps.
func TestDepsCatchesBadImport(t *testing.T) {
	pkgs := goList(t, "netlab/cmd/netlab")
	if len(pkgs) != 1 || !slices.ContainsFunc(pkgs[0].Deps, func(d string) bool { _, bad := forbidden(d); return bad }) {
		t.Errorf("go list shows no forbidden dependency of cmd/netlab; the dependency test would miss one")
	}
}

func forbidden(dep string) (string, bool) {
	if why, ok := badDeps[dep]; ok {
		return why, true
	}
	for prefix, why := range badDeps {
		if strings.HasSuffix(prefix, "/") && strings.HasPrefix(dep, prefix) {
			return why, true
		}
	}
	return "", false
}

// allowedImports returns the project packages pkg may import: those listed
// for it and, recursively, those they may import.
func allowedImports(pkg string) map[string]bool {
	allowed := make(map[string]bool)
	var add func(string)
	add = func(p string) {
		for _, q := range mayImport[p] {
			if !allowed[q] {
				allowed[q] = true
				add(q)
			}
		}
	}
	add(pkg)
	return allowed
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// neverImports lists, for packages outside the pure core, the project
// packages they must not import, even indirectly, with the reason.
var neverImports = map[string]map[string]string{
	"netlab/lab/kernel/kerneltest": {
		"netlab/lab/plan": "the fake kernel is what plan is tested against: built from plan, it would agree with plan's mistakes",
	},
	"netlab/lab/kernel": {
		"netlab/lab/plan": "the kernel carries out operations; it does not plan them",
	},
}

// TestNeverImports checks the bans of neverImports, such as the fake
// kernel's independence from the plan it tests.
func TestNeverImports(t *testing.T) {
	pkgs := goList(t, slices.Sorted(maps.Keys(neverImports))...)
	if len(pkgs) != len(neverImports) {
		t.Fatalf("go list returned %d packages, want %d", len(pkgs), len(neverImports))
	}
	for _, p := range pkgs {
		if p.Error != nil {
			t.Errorf("%s: %s", p.ImportPath, p.Error.Err)
			continue
		}
		for _, dep := range p.Deps {
			if why, bad := neverImports[p.ImportPath][dep]; bad {
				t.Errorf("%s imports %s (directly or not): %s", p.ImportPath, dep, why)
			}
		}
	}
}
