package plan

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strings"
	"testing"
)

// TestFieldsDocumented checks that every field of the package's exported
// types says what it holds: Change is a union over objects and actions,
// and a field without a comment leaves a reader to guess when it is set.
func TestFieldsDocumented(t *testing.T) {
	fset := token.NewFileSet()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, e.Name(), nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok || !ts.Name.IsExported() {
				return true
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				return true
			}
			for _, fld := range st.Fields.List {
				checked++
				if fld.Doc == nil && fld.Comment == nil {
					for _, name := range fld.Names {
						t.Errorf("%s: %s.%s has no comment", fset.Position(fld.Pos()), ts.Name.Name, name.Name)
					}
				}
			}
			return true
		})
	}
	if checked < 22 {
		t.Errorf("checked %d fields; Change alone has 22", checked)
	}
}

// TestPackageDocNamesEveryFile keeps the package doc's list of files, one
// job each, true: every file of the package is in it, and every file in it
// exists.
func TestPackageDocNamesEveryFile(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "plan.go", nil, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil {
		t.Fatal(err)
	}
	named := map[string]bool{}
	for _, line := range strings.Split(f.Doc.Text(), "\n") {
		if !strings.HasPrefix(line, "\t") {
			continue
		}
		for _, w := range strings.Fields(strings.ReplaceAll(line, ",", " ")) {
			if strings.HasSuffix(w, ".go") {
				named[w] = true
			}
		}
	}
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		if !named[name] {
			t.Errorf("%s is not in the package doc's list of files", name)
		}
		delete(named, name)
	}
	for name := range named {
		t.Errorf("the package doc names %s, which does not exist", name)
	}
}
