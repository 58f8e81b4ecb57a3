package kernel_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/reconcile"
	"netlab/lab/state"
)

// TestDownReadsEachMarkerOnce: down proves each namespace is the lab's
// by its marker once, and every later step (the processes, the delete)
// goes by that proof, for as long as the same namespace is mounted at
// the name: three reads for three namespaces, not one per step.
func TestDownReadsEachMarkerOnce(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	ctx := context.Background()
	lab := kerneltest.LabName(t)
	up := newLinux(t)
	nodes := []string{"a", "b", "c"}
	for _, n := range nodes {
		if err := up.NetNSAdd(ctx, lab, n); err != nil {
			t.Fatal(err)
		}
	}
	k := newLinux(t)
	res, err := reconcile.Down(ctx, k, lab, reconcile.DownOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Deleted) != len(nodes) {
		t.Fatalf("deleted %v, want the %d namespaces of %s", res.Deleted, len(nodes), lab)
	}
	for _, n := range nodes {
		if err := k.NetNSExists(state.NetNSName(lab, n)); err == nil {
			t.Errorf("namespace %s is still there", state.NetNSName(lab, n))
		}
	}
	if got := kernel.LoReads(k); got != int64(len(nodes)) {
		t.Errorf("down read %d markers for %d namespaces, want one each", got, len(nodes))
	}
}

// TestNetNSDelRefusesSwapped: a namespace whose marker down has read,
// then deleted by hand and made again under the same name without one,
// is another namespace: the marker read before proves nothing of it,
// and the delete refuses it and leaves it.
func TestNetNSDelRefusesSwapped(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	ctx := context.Background()
	lab := kerneltest.LabName(t)
	name := state.NetNSName(lab, "a")
	k := &testKernel{Kernel: newLinux(t), linux: true}
	if err := k.NetNSAdd(ctx, lab, "a"); err != nil {
		t.Fatal(err)
	}
	list, err := k.NetNSList(ctx, lab)
	if err != nil || len(list) != 1 || !list[0].Marked {
		t.Fatalf("NetNSList = %+v, %v; want %s, marked", list, err, name)
	}
	if _, err := k.LabProcesses(ctx, lab); err != nil {
		t.Fatal(err)
	}
	k.hand(t, "ip netns del "+name, "ip netns add "+name)
	var fe *kernel.ForeignError
	if err := k.NetNSDel(ctx, name); !errors.As(err, &fe) {
		t.Errorf("NetNSDel of the namespace made by hand in its place: err = %v, want ForeignError", err)
	}
	if err := k.Kernel.(*kernel.Linux).NetNSExists(name); err != nil {
		t.Errorf("the namespace made by hand is gone: %v", err)
	}
}

// TestDownDoesNotWaitForTheKernel: down returns once the lab's names are
// gone, not once the kernel has freed the namespaces: one held open by
// someone else (here this test) outlives its name, and down does not
// wait for it.
func TestDownDoesNotWaitForTheKernel(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	ctx := context.Background()
	lab := kerneltest.LabName(t)
	name := state.NetNSName(lab, "a")
	k := newLinux(t)
	if err := k.NetNSAdd(ctx, lab, "a"); err != nil {
		t.Fatal(err)
	}
	held, err := os.Open(filepath.Join(kernel.NetNSDir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	done := make(chan error, 1)
	go func() {
		_, err := reconcile.Down(ctx, k, lab, reconcile.DownOptions{})
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("down still runs after 10s, with the namespace held open elsewhere")
	}
	if err := k.NetNSExists(name); err == nil {
		t.Errorf("namespace %s still has its name after down", name)
	}
	var fs unix.Statfs_t
	if err := unix.Fstatfs(int(held.Fd()), &fs); err != nil {
		t.Errorf("the namespace held open: %v", err)
	}
}
