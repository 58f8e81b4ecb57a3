package apply_test

import (
	"context"
	"testing"

	"netlab/lab/apply"
	"netlab/lab/kernel/kerneltest"
)

// TestDownListsProcessesOnce: down finds the namespaces that run
// anything in one pass over the lab (LabProcesses), and lists again only
// those, so that a lab of many nodes is not one /proc scan a node; what
// runs is stopped all the same.
func TestDownListsProcessesOnce(t *testing.T) {
	ctx := context.Background()
	k := kerneltest.NewFake()
	const nodes = 20
	for i := range nodes {
		if err := k.NetNSAdd(ctx, "big", string(rune('a'+i))); err != nil {
			t.Fatal(err)
		}
	}
	pid := k.StartByHand("big.c", "sleep", "100")
	res, err := apply.DownAll(ctx, k, "big", apply.DownOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Deleted) != nodes {
		t.Errorf("deleted %d namespaces, want %d", len(res.Deleted), nodes)
	}
	if len(res.Stopped) != 1 || res.Stopped[0].Pid != pid || res.Stopped[0].NetNS != "big.c" {
		t.Errorf("stopped %+v, want the one process of big.c", res.Stopped)
	}
	if n := k.Calls("LabProcesses"); n != 1 {
		t.Errorf("LabProcesses called %d times, want 1", n)
	}
	// The namespace that runs something is listed to be stopped, and
	// again to see that nothing is left: 2, not one or two per node.
	if n := k.Calls("Processes"); n > 2 {
		t.Errorf("Processes called %d times for %d namespaces, one of them running something, want at most 2", n, nodes)
	}
	if lingering := k.Lingering(); len(lingering) > 0 {
		t.Errorf("processes left in deleted namespaces: %v", lingering)
	}
}
