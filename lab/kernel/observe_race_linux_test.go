package kernel_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"netlab/lab/kernel/kerneltest"
	"netlab/lab/state"
)

// TestObserveWhileNamespacesGo reads a lab while another kernel deletes
// its namespaces, as netlab status (or plan, check, tui) does while a
// netlab down runs: it takes no lock, so each namespace may go between
// the moment it is listed and the moment it is opened. A namespace gone
// is absent from what Observe returns, never an error (the first release
// failed with "netlink socket in LAB.n4: failed to set into network
// namespace ... invalid argument") and never a node someone else made.
func TestObserveWhileNamespacesGo(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	ctx := context.Background()
	name := kerneltest.LabName(t)
	const nodes, rounds = 12, 15
	reader, writer := newLinux(t), newLinux(t)
	for round := range rounds {
		for i := range nodes {
			if err := writer.NetNSAdd(ctx, name, fmt.Sprintf("n%d", i)); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		wg.Go(func() {
			for i := range nodes {
				if err := writer.NetNSDel(ctx, state.NetNSName(name, fmt.Sprintf("n%d", i))); err != nil {
					t.Errorf("NetNSDel: %v", err)
				}
			}
		})
		for range 4 {
			s, err := reader.Observe(ctx, name, nil)
			if err != nil {
				t.Fatalf("round %d: Observe while the lab's namespaces are deleted: %v", round, err)
			}
			for _, n := range s.Nodes {
				if n.Foreign {
					t.Fatalf("round %d: node %s, whose namespace netlab made and is deleting, read as not netlab's", round, n.Name)
				}
			}
		}
		wg.Wait()
	}
}
