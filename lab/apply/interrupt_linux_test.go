package apply_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"netlab/lab/apply"
	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/reconcile"
	"netlab/lab/state"
)

// What a netlab killed inside one change can leave behind, and that the
// next up or down must finish from: the empty mount point of a namespace
// whose bind mount never happened, and a link still under its temporary
// name.

const interruptLab = `name: LAB
nodes:
  a:
    interfaces:
      eth0: {addresses: [10.7.0.1/24]}
  b:
    interfaces:
      eth0: {addresses: [10.7.0.2/24]}
links:
  - [a:eth0, b:eth0]
`

// stub makes the empty file that createNetNS bind-mounts over.
func stub(t *testing.T, name string) string {
	t.Helper()
	path := filepath.Join(kernel.NetNSDir, name)
	if err := os.WriteFile(path, nil, 0o444); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestUpReusesStub(t *testing.T) {
	t.Parallel()
	onBoth(t, testUpReusesStub)
}

func testUpReusesStub(t *testing.T, e *env) {
	name := kerneltest.LabName(t)
	e.stub(t, state.NetNSName(name, "a"))
	k := e.k
	l := realParse(t, name, interruptLab)
	_, p := realPlan(t, k, l, nil, false)
	if got := realChanges(p); !slices.Contains(got, "a + netns "+state.NetNSName(name, "a")) {
		t.Errorf("a stub is not taken for a namespace: plan %q", got)
	}
	realUp(t, k, l)
	if _, p := realPlan(t, k, l, nil, false); !p.Empty() {
		t.Errorf("plan after up is not empty: %q", realChanges(p))
	}
}

func TestDownRemovesStub(t *testing.T) {
	t.Parallel()
	onBoth(t, testDownRemovesStub)
}

func testDownRemovesStub(t *testing.T, e *env) {
	name := kerneltest.LabName(t)
	path := state.NetNSName(name, "a")
	e.stub(t, path)
	k := e.k
	deleted, err := apply.Down(context.Background(), k, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(deleted) != 0 {
		t.Errorf("down reports namespaces %q for a lab that had only a stub", deleted)
	}
	if e.netnsExists(t, path) {
		t.Errorf("stub %s is still there after down", path)
	}
}

// A file of the lab's name that is not empty is no stub: someone else's,
// and up refuses to touch it.
func TestUpRefusesForeignFile(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	name := kerneltest.LabName(t)
	path := filepath.Join(kernel.NetNSDir, state.NetNSName(name, "a"))
	if err := os.WriteFile(path, []byte("not mine"), 0o444); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(path) })
	k := realKernel(t)
	l := realParse(t, name, interruptLab)
	if _, err := reconcile.Up(context.Background(), k, l, reconcile.Options{}); err == nil {
		t.Fatal("up went ahead over a file that is not a namespace")
	}
	data, err := os.ReadFile(path)
	if err != nil || string(data) != "not mine" {
		t.Errorf("the foreign file changed: %q, %v", data, err)
	}
}

func TestUpRemovesTempLink(t *testing.T) {
	t.Parallel()
	onBoth(t, testUpRemovesTempLink)
}

func testUpRemovesTempLink(t *testing.T, e *env) {
	name := kerneltest.LabName(t)
	k := e.k
	l := realParse(t, name, interruptLab)
	realUp(t, k, l)
	tmp := state.TempLinkPrefix + "0123456789"
	e.ip(t, "-n", state.NetNSName(name, "a"), "link", "add", tmp, "type", "veth", "peer", "name", state.TempLinkPrefix+"9876543210")
	_, p := realPlan(t, k, l, nil, false)
	got := realChanges(p)
	if !slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, "a - link "+tmp) }) {
		t.Fatalf("a leftover %s link is not planned for deletion: %q", tmp, got)
	}
	realUp(t, k, l)
	if e.hasLink(t, state.NetNSName(name, "a"), tmp) {
		t.Errorf("%s is still there after up", tmp)
	}
}
