package labfile_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"netlab/lab/diag"
	"netlab/lab/labfile"
	"netlab/lab/validate"
)

// FuzzParse feeds arbitrary bytes through loading and validation. Whatever
// the input, netlab must not panic, and every problem it reports must be
// one line that points into the file and says something. Inputs that once
// failed live in testdata/fuzz/FuzzParse and run with every go test.
//
//	go test ./lab/labfile -run '^$' -fuzz FuzzParse -fuzztime 10m -parallel 1
func FuzzParse(f *testing.F) {
	var seeds []string
	for _, pattern := range []string{
		"../validate/testdata/*/*.yaml",
		"../../topologies/*.yaml",
		"testdata/*.yaml",
	} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, m...)
	}
	if len(seeds) < 10 {
		f.Fatalf("found only %d seed files; run from lab/labfile", len(seeds))
	}
	for _, path := range seeds {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const file = "fuzz.yaml"
		l, diags := labfile.Parse(file, data)
		if l == nil && !diags.HasErrors() {
			t.Fatalf("Parse returned neither a lab nor an error")
		}
		more := validate.Lab(l)
		for _, list := range []diag.List{diags, more} {
			if !slices.IsSortedFunc(list, comparePos) {
				t.Errorf("diagnostics are not sorted:\n%s", text(list))
			}
		}
		diags.Append(more...)
		checkDiags(t, file, diags)

		// The same input gives the same answer.
		l2, again := labfile.Parse(file, data)
		again.Append(validate.Lab(l2)...)
		if got, want := text(again), text(diags); got != want {
			t.Errorf("Parse is not deterministic:\nfirst:\n%s\nsecond:\n%s", want, got)
		}
	})
}

func checkDiags(t *testing.T, file string, diags diag.List) {
	t.Helper()
	for _, d := range diags {
		switch {
		case d.Pos.File != file:
			t.Errorf("diagnostic names file %q, want %q: %s", d.Pos.File, file, d)
		case d.Pos.Line < 1:
			t.Errorf("diagnostic has no line: %s", d)
		case d.Pos.Col < 0:
			t.Errorf("diagnostic has a negative column: %s", d)
		case strings.TrimSpace(d.Msg) == "":
			t.Errorf("diagnostic has no message: %s", d)
		case strings.ContainsAny(d.String(), "\n\r"):
			t.Errorf("diagnostic is more than one line: %q", d.String())
		}
	}
}

func comparePos(a, b diag.Diagnostic) int {
	switch {
	case a.Pos.Before(b.Pos):
		return -1
	case b.Pos.Before(a.Pos):
		return 1
	}
	return 0
}

func text(diags diag.List) string {
	var b strings.Builder
	for _, d := range diags {
		b.WriteString(d.String())
		b.WriteByte('\n')
	}
	return b.String()
}
