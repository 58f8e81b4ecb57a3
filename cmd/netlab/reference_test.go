package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReference keeps docs/reference.md the same as the commands' help.
func TestReference(t *testing.T) {
	root := newRootCmd(&env{})
	root.InitDefaultHelpFlag()
	for _, c := range root.Commands() {
		c.InitDefaultHelpFlag()
	}
	var got bytes.Buffer
	writeReference(&got, root)
	path := filepath.Join("..", "..", "docs", "reference.md")
	if os.Getenv("NETLAB_UPDATE") != "" {
		if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (create it with NETLAB_UPDATE=1 go test ./cmd/netlab -run TestReference)", err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("docs/reference.md is out of date with the commands' --help: run NETLAB_UPDATE=1 go test ./cmd/netlab -run TestReference")
	}
	for _, c := range root.Commands() {
		if c.Name() != "help" && !c.Hidden && !strings.Contains(got.String(), "## netlab "+c.Name()+"\n") {
			t.Errorf("reference has no section for %s", c.Name())
		}
	}
}
