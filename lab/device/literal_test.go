package device_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// One rule: outside this package, no string literal in non-test code is a
// device.Kind. A named string type still takes an untyped constant, so
// `l.Kind == "vetth"` compiles; the type checker records that literal as
// a device.Kind, and that is what this test looks for, wherever it
// stands: compared with a kind, a case of a switch on one, a struct field,
// an argument, an explicit conversion. The empty string is let through:
// it is the zero Kind, "no kind given", and no typo.
func TestNoKindLiterals(t *testing.T) {
	pkgs := listModule(t)
	imp := exportImporter(pkgs)
	var found []string
	checked := 0
	for _, p := range pkgs {
		if p.Standard || p.Module == nil || !p.Module.Main || p.ImportPath == devicePath {
			continue
		}
		names := make(map[string]any)
		for _, f := range p.GoFiles {
			names[filepath.Join(p.Dir, f)] = nil
		}
		found = append(found, kindLiterals(t, p.ImportPath, names, imp)...)
		checked++
	}
	if checked < 10 {
		t.Fatalf("checked %d packages of the module; go list found too few", checked)
	}
	for _, f := range found {
		t.Errorf("%s: name a constant of netlab/lab/device", f)
	}
	t.Logf("checked the non-test files of %d packages", checked)
}

// TestNoKindLiteralsCatches makes sure the check above can fail: each
// place a literal can become a device.Kind is found, and a constant, a
// conversion of a variable and the empty string are not.
func TestNoKindLiteralsCatches(t *testing.T) {
	src := `package bad

import "netlab/lab/device"

type link struct{ kind device.Kind }

func use(device.Kind) {}

func f(k device.Kind, s string) {
	_ = k == "vetth"                // 1
	_ = "bridge" != k               // 2
	switch k {
	case "macvlan", device.VXLAN:   // 3
	}
	_ = link{kind: "tun"}           // 4
	use("tap")                      // 5
	k = "loopback"                  // 6
	_ = device.Kind("dummy")        // 7
	_ = (k) == ("device")           // 8
	_ = k == device.Veth
	_ = k == ""
	_ = device.Kind(s) == device.Bridge
	_ = s == "veth"
}
`
	pkgs := listModule(t)
	found := kindLiterals(t, "bad", map[string]any{"bad.go": src}, exportImporter(pkgs))
	want := []string{`"vetth"`, `"bridge"`, `"macvlan"`, `"tun"`, `"tap"`, `"loopback"`, `"dummy"`, `"device"`}
	if len(found) != len(want) {
		t.Fatalf("found %d literals, want %d:\n%s", len(found), len(want), strings.Join(found, "\n"))
	}
	for i, w := range want {
		if !strings.HasSuffix(found[i], " "+w) {
			t.Errorf("finding %d = %q, want the literal %s", i+1, found[i], w)
		}
	}
}

const devicePath = "netlab/lab/device"

type goPackage struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	Export     string
	Standard   bool
	Module     *struct{ Main bool }
	Error      *struct{ Err string }
}

// listModule lists the module's packages and everything they import, with
// the compiler's export data of each (go list -export builds it, or takes
// it from the build cache).
func listModule(t *testing.T) []goPackage {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go command not found: %v", err)
	}
	cmd := exec.Command(gobin, "list", "-e", "-export", "-deps", "-json=ImportPath,Dir,GoFiles,Export,Standard,Module,Error", "netlab/...")
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
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
		if p.Error != nil {
			t.Fatalf("go list: %s: %s", p.ImportPath, p.Error.Err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// exportImporter imports a package from the export data go list named.
func exportImporter(pkgs []goPackage) types.Importer {
	export := make(map[string]string, len(pkgs))
	for _, p := range pkgs {
		export[p.ImportPath] = p.Export
	}
	return importer.ForCompiler(token.NewFileSet(), "gc", func(path string) (io.ReadCloser, error) {
		file, ok := export[path]
		if !ok || file == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(file)
	})
}

// kindLiterals type-checks the files of one package, each read from its
// path or, when given, from its source text, and returns, as
// FILE:LINE:COL LITERAL in file order, each non-empty string literal
// whose type is device.Kind.
func kindLiterals(t *testing.T, path string, files map[string]any, imp types.Importer) []string {
	t.Helper()
	fset := token.NewFileSet()
	var parsed []*ast.File
	for _, name := range slices.Sorted(maps.Keys(files)) {
		f, err := parser.ParseFile(fset, name, files[name], parser.SkipObjectResolution)
		if err != nil {
			t.Fatalf("parse: %v", err)
		}
		parsed = append(parsed, f)
	}
	info := &types.Info{Types: make(map[ast.Expr]types.TypeAndValue)}
	conf := types.Config{Importer: imp}
	if _, err := conf.Check(path, fset, parsed, info); err != nil {
		t.Fatalf("type-check %s: %v", path, err)
	}
	var found []string
	for _, f := range parsed {
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING || lit.Value == `""` || lit.Value == "``" {
				return true
			}
			if isKind(info.Types[lit].Type) {
				pos := fset.Position(lit.Pos())
				found = append(found, fmt.Sprintf("%s:%d:%d: %s", rel(pos.Filename), pos.Line, pos.Column, lit.Value))
			}
			return true
		})
	}
	return found
}

// isKind reports whether typ is device.Kind.
func isKind(typ types.Type) bool {
	named, ok := typ.(*types.Named)
	if !ok {
		return false
	}
	obj := named.Obj()
	return obj.Pkg() != nil && obj.Pkg().Path() == devicePath && obj.Name() == "Kind"
}

// rel shortens a path to the module's root, for messages.
func rel(name string) string {
	if root, err := filepath.Abs("../.."); err == nil {
		if r, err := filepath.Rel(root, name); err == nil && !strings.HasPrefix(r, "..") {
			return r
		}
	}
	return name
}
