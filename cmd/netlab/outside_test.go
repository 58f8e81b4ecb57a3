package main

import (
	"context"
	"os"
	"strings"
	"testing"

	"netlab/lab/kernel/kerneltest"
	"netlab/lab/state"
)

// twoNodeLab is lab NAME: c and d on one veth.
func twoNodeLab(name string) string {
	return "name: " + name + `
nodes:
  c:
    interfaces:
      eth0: {addresses: [192.0.2.1/24]}
  d:
    interfaces:
      eth0: {addresses: [192.0.2.2/24]}
links:
  - [c:eth0, d:eth0]
`
}

// TestNodeOfTheFileNotRunning: a node the lab file has, whose namespace
// is gone (deleted by hand, an up that did not finish), is not running:
// trace and conntrack say so and how to fix it (exit 1), rather than
// that the lab has no such node (conntrack said it as bad usage, 64).
func TestNodeOfTheFileNotRunning(t *testing.T) {
	f := useFakeKernel(t)
	sandbox(t)
	name := kerneltest.LabName(t)
	if err := os.WriteFile("lab.yaml", []byte(twoNodeLab(name)), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runNetlab("up", "lab.yaml"); code != exitOK {
		t.Fatalf("up: exit %d: %s", code, stderr)
	}
	if err := f.NetNSDel(context.Background(), state.NetNSName(name, "c")); err != nil {
		t.Fatal(err)
	}
	want := "node c of lab " + name + " is not running: its namespace " + name + ".c is gone; netlab up brings it back"
	for _, args := range [][]string{
		{"conntrack", "lab.yaml", "c"},
		{"conntrack", "--lab", name, "c", "--flush"},
		{"trace", "lab.yaml", "c", "d"},
		{"trace", "lab.yaml", "d", "c", "--proto", "udp"},
		{"trace", "--lab", name, "d", "c"},
	} {
		code, _, stderr := runNetlab(args...)
		if code != exitFailure || !strings.Contains(stderr, want) {
			t.Errorf("netlab %s: exit %d, %q; want exit 1 and %q", strings.Join(args, " "), code, stderr, want)
		}
	}
	if n := f.Calls("Conntrack") + f.Calls("ConntrackFlush"); n != 0 {
		t.Errorf("the kernel's conntrack was asked %d time(s)", n)
	}
}
