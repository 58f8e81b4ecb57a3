package kernel_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"netlab/lab/kernel/kerneltest"
	"netlab/lab/state"
)

// TestObserveLeavesNoThreadInTheLab checks what lets Observe read each
// namespace through its sockets on an unlocked goroutine: every thread
// it moved into a node's namespace is back where it started before the
// goroutine lets go of it. A thread left behind would carry the next
// goroutine the runtime puts on it (any of netlab's, creating a socket or
// reading /proc/sys) into the lab. No thread of this process may be in
// one of the lab's namespaces once Observe has returned; nor, since the
// threads that make namespaces go back and are reused, once NetNSAdd
// has.
func TestObserveLeavesNoThreadInTheLab(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	ctx := context.Background()
	name := kerneltest.LabName(t)
	k := newLinux(t)
	const nodes = 24 // more than Observe's workers, so each moves several times
	inodes := make(map[uint64]string)
	for i := range nodes {
		node := fmt.Sprintf("n%d", i)
		if err := k.NetNSAdd(ctx, name, node); err != nil {
			t.Fatal(err)
		}
		var st syscall.Stat_t
		if err := syscall.Stat(filepath.Join("/run/netns", state.NetNSName(name, node)), &st); err != nil {
			t.Fatal(err)
		}
		inodes[st.Ino] = node
	}
	for round := range 5 {
		s, err := k.Observe(ctx, name, nil)
		if err != nil {
			t.Fatalf("round %d: Observe: %v", round, err)
		}
		if len(s.Nodes) != nodes {
			t.Fatalf("round %d: Observe read %d nodes, want %d", round, len(s.Nodes), nodes)
		}
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			t.Fatal(err)
		}
		for _, task := range tasks {
			var st syscall.Stat_t
			if err := syscall.Stat(filepath.Join("/proc/self/task", task.Name(), "ns/net"), &st); err != nil {
				continue // the thread ended since it was listed
			}
			if node, ok := inodes[st.Ino]; ok {
				t.Errorf("round %d: thread %s is still in node %s's namespace after Observe returned", round, task.Name(), node)
			}
		}
	}
}
