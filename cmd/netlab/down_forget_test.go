package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"netlab/lab/kernel/kerneltest"
	"netlab/lab/name"
)

// TestDownSaysWhichFilesStay: a down that removes the lab but cannot
// remove one of its files in the run directory (here a directory planted
// at a log's name) warns about that file, not about the last-applied
// record, which it did remove.
func TestDownSaysWhichFilesStay(t *testing.T) {
	useFakeKernel(t)
	sandbox(t)
	lab := kerneltest.LabName(t)
	text := strings.ReplaceAll("name: LAB\nnodes:\n  a:\n    interfaces:\n      br0: {kind: bridge, addresses: [192.0.2.1/24]}\n", "LAB", lab)
	if err := os.WriteFile("lab.yaml", []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"up", "lab.yaml"}, strings.NewReader(""), &stdout, &stderr); code != exitOK {
		t.Fatalf("up: exit %d: %s", code, stderr.String())
	}
	labName, err := name.Parse("lab", lab)
	if err != nil {
		t.Fatal(err)
	}
	nodeName, _ := name.Parse("node", "a")
	planted := runDir.LogFile(labName, nodeName, "web")
	if err := os.Mkdir(planted, 0o700); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"down", "lab.yaml"}, strings.NewReader(""), &stdout, &stderr); code != exitOK {
		t.Fatalf("down: exit %d: %s", code, stderr.String())
	}
	got := stderr.String()
	if strings.Contains(got, "last-applied record") || !strings.Contains(got, planted) || strings.Count(strings.TrimSpace(got), "\n") != 0 {
		t.Errorf("down's warning is not one line naming the file that stays:\n%s", got)
	}
	if _, err := os.Stat(planted); err != nil {
		t.Errorf("down removed what it did not make: %v", err)
	}
}
