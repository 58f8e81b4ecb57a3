package render

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"netlab/topologies"
)

// TestDocsDiagrams fails when docs/diagrams does not hold, byte for byte,
// the SVG of every shipped lab and nothing else: run `just docs`.
func TestDocsDiagrams(t *testing.T) {
	dir := filepath.Join("..", "docs", "diagrams")
	want := make(map[string]bool)
	for _, name := range topologies.Names() {
		data, err := topologies.Read(name)
		if err != nil {
			t.Fatal(err)
		}
		file := strings.TrimSuffix(filepath.Base(name), ".yaml") + ".svg"
		want[file] = true
		got, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Errorf("docs/diagrams/%s: %v: run just docs", file, err)
			continue
		}
		if !bytes.Equal(got, SVG(parse(t, name, data))) {
			t.Errorf("docs/diagrams/%s is stale: run just docs", file)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.svg"))
	for _, f := range files {
		if !want[filepath.Base(f)] {
			t.Errorf("docs/diagrams/%s has no lab in topologies/: run just docs", filepath.Base(f))
		}
	}
}
