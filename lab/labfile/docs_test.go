package labfile

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestFormatReferenceComplete keeps docs/lab-format.md, the reference of
// the lab file, in step with what the loader accepts: every field of every
// part must be named there, in backticks.
func TestFormatReferenceComplete(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "lab-format.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	parts := make([]string, 0, len(Fields))
	for part := range Fields {
		parts = append(parts, part)
	}
	sort.Strings(parts)
	for _, part := range parts {
		for _, field := range Fields[part] {
			if !strings.Contains(doc, "`"+field+"`") && !strings.Contains(doc, "`"+field+":") && !strings.Contains(doc, "{"+field+":") && !strings.Contains(doc, " "+field+":") {
				t.Errorf("docs/lab-format.md does not name field %q of %s", field, part)
			}
		}
	}
}
