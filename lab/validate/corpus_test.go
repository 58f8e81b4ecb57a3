package validate_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"netlab/lab/diag"
	"netlab/lab/labfile"
	"netlab/lab/validate"
)

var update = flag.Bool("update", false, "rewrite the .want files of testdata/invalid from the current output")

// check parses and validates one lab file the way netlab validate does,
// naming it by its base name, and returns the sorted diagnostics.
func check(t *testing.T, path string) diag.List {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	l, diags := labfile.Parse(filepath.Base(path), data)
	diags.Append(validate.Lab(l)...)
	diags.Sort()
	return diags
}

func text(diags diag.List) string {
	var b bytes.Buffer
	if err := diags.WriteText(&b); err != nil {
		panic(err) // a bytes.Buffer does not fail
	}
	return b.String()
}

func yamlFiles(t testing.TB, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no lab files in testdata/%s", dir)
	}
	return files
}

// TestInvalid pins the exact diagnostics, FILE:LINE:COL: message, of every
// file in testdata/invalid against its sibling .want file. Run with -update
// to rewrite the .want files, then read every change.
func TestInvalid(t *testing.T) {
	for _, path := range yamlFiles(t, "invalid") {
		name := strings.TrimSuffix(filepath.Base(path), ".yaml")
		t.Run(name, func(t *testing.T) {
			diags := check(t, path)
			got := text(diags)
			wantPath := strings.TrimSuffix(path, ".yaml") + ".want"
			if *update {
				if err := os.WriteFile(wantPath, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(wantPath)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("diagnostics of %s (-want +got):\n%s", filepath.Base(path), diff)
			}
			if !diags.HasErrors() {
				t.Errorf("%s: no errors, but it is in testdata/invalid", filepath.Base(path))
			}
			for _, d := range diags {
				if d.Pos.File != filepath.Base(path) {
					t.Errorf("diagnostic %q names file %q, want %q", d, d.Pos.File, filepath.Base(path))
				}
			}
		})
	}
}

// TestWantFilesHaveLabs catches a .want file left behind by a renamed or
// deleted lab file.
func TestWantFilesHaveLabs(t *testing.T) {
	wants, err := filepath.Glob(filepath.Join("testdata", "invalid", "*.want"))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range wants {
		if _, err := os.Stat(strings.TrimSuffix(w, ".want") + ".yaml"); err != nil {
			t.Errorf("%s has no lab file: %v", w, err)
		}
	}
}

// TestValid requires every file in testdata/valid to load and validate
// with no diagnostic at all, not even a warning.
func TestValid(t *testing.T) {
	for _, path := range yamlFiles(t, "valid") {
		name := strings.TrimSuffix(filepath.Base(path), ".yaml")
		t.Run(name, func(t *testing.T) {
			if diags := check(t, path); len(diags) != 0 {
				t.Errorf("%s: want no diagnostics, got:\n%s", filepath.Base(path), text(diags))
			}
		})
	}
}
