package kernel_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"golang.org/x/sys/unix"

	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/state"
)

// TestConntrackBothKernels: the fake and the real kernel agree on what
// netlab conntrack relies on: a new node's table is empty, a flush of an
// empty table succeeds, the machine's namespace is refused with EPERM and
// a namespace that is not there is one that does not exist.
func TestConntrackBothKernels(t *testing.T) {
	eachKernel(t, func(t *testing.T, tk *testKernel) {
		ctx := context.Background()
		ct := tk.Kernel.(kernel.Conntracker)
		lab := kerneltest.LabName(t)
		if err := tk.NetNSAdd(ctx, lab, "a"); err != nil {
			t.Fatal(err)
		}
		ns := state.NetNSName(lab, "a")
		if got, err := ct.Conntrack(ctx, ns); err != nil || len(got) != 0 {
			t.Errorf("Conntrack of a new node = %v, %v; want none", got, err)
		}
		if err := ct.ConntrackFlush(ctx, ns); err != nil {
			t.Errorf("ConntrackFlush of an empty table: %v", err)
		}
		if _, err := ct.Conntrack(ctx, state.HostNetNS); !errors.Is(err, unix.EPERM) {
			t.Errorf("Conntrack of the machine's namespace: %v, want EPERM", err)
		}
		if err := ct.ConntrackFlush(ctx, state.HostNetNS); !errors.Is(err, unix.EPERM) {
			t.Errorf("ConntrackFlush of the machine's namespace: %v, want EPERM", err)
		}
		if _, err := ct.Conntrack(ctx, state.NetNSName(lab, "gone")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Conntrack of a missing node: %v, want one that does not exist", err)
		}
	})
}
