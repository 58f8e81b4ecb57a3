package kerneltest_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/state"
)

// TestFakeConntrack: the entries a test puts in a namespace are listed
// back in order, a flush empties that namespace's table only, the table
// goes with its namespace, and injected faults fail the calls.
func TestFakeConntrack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := kerneltest.NewFake()
	for _, node := range []string{"a", "b"} {
		if err := f.NetNSAdd(ctx, "lab1", node); err != nil {
			t.Fatal(err)
		}
	}
	a, b := state.NetNSName("lab1", "a"), state.NetNSName("lab1", "b")
	e1 := kernel.ConntrackEntry{Proto: "udp", Orig: kernel.ConntrackTuple{Src: netip.MustParseAddr("192.0.2.1"), SPort: 1}}
	e2 := kernel.ConntrackEntry{Proto: "tcp", State: "ESTABLISHED"}
	f.PutConntrack(a, e1, e2)
	f.PutConntrack(b, e2)
	got, err := f.Conntrack(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]kernel.ConntrackEntry{e1, e2}, got, cmp.Comparer(func(x, y netip.Addr) bool { return x == y })); diff != "" {
		t.Errorf("Conntrack (-want +got):\n%s", diff)
	}
	got[0].Proto = "changed" // the caller's copy
	if again, _ := f.Conntrack(ctx, a); again[0].Proto != "udp" {
		t.Errorf("a caller changed the fake's table: %+v", again[0])
	}

	if err := f.ConntrackFlush(ctx, a); err != nil {
		t.Fatal(err)
	}
	if got, err := f.Conntrack(ctx, a); err != nil || len(got) != 0 {
		t.Errorf("Conntrack after a flush = %v, %v; want none", got, err)
	}
	if got, _ := f.Conntrack(ctx, b); len(got) != 1 {
		t.Errorf("a flush of %s emptied %s too: %v", a, b, got)
	}

	f.FailOn("Conntrack", unix.EIO, 1)
	if _, err := f.Conntrack(ctx, b); !errors.Is(err, unix.EIO) {
		t.Errorf("Conntrack with a fault injected: %v, want EIO", err)
	}
	f.FailOn("ConntrackFlush", unix.EIO, 1)
	if err := f.ConntrackFlush(ctx, b); !errors.Is(err, unix.EIO) {
		t.Errorf("ConntrackFlush with a fault injected: %v, want EIO", err)
	}
	if got, _ := f.Conntrack(ctx, b); len(got) != 1 {
		t.Errorf("a failed flush changed the table: %v", got)
	}

	if err := f.NetNSDel(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := f.NetNSAdd(ctx, "lab1", "b"); err != nil {
		t.Fatal(err)
	}
	if got, err := f.Conntrack(ctx, b); err != nil || len(got) != 0 {
		t.Errorf("a namespace made again has the old one's table: %v, %v", got, err)
	}
}
