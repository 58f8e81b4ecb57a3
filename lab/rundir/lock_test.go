package rundir_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"netlab/lab/name"
	"netlab/lab/rundir"
)

// mustName parses a valid name for a test.
func mustName(t *testing.T, s string) name.Name {
	t.Helper()
	n, err := name.Parse("lab", s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestLock(t *testing.T) {
	dir := t.TempDir()
	d := rundir.At(dir)
	ctx := context.Background()
	lab1 := mustName(t, "lab1")

	first, err := d.Lock(ctx, lab1, -1, func() { t.Error("waiting called for a free lock") })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "lab1.lock")); err != nil {
		t.Errorf("lock file: %v", err)
	}

	t.Run("other_lab_not_blocked", func(t *testing.T) {
		lk, err := d.Lock(ctx, mustName(t, "lab1-x"), 0, func() { t.Error("waiting called for another lab's lock") })
		if err != nil {
			t.Fatal(err)
		}
		lk.Release()
	})

	t.Run("gives_up_after_wait", func(t *testing.T) {
		waited := 0
		start := time.Now()
		lk, err := d.Lock(ctx, lab1, 100*time.Millisecond, func() { waited++ })
		if !errors.Is(err, rundir.ErrLocked) || lk != nil {
			t.Fatalf("Lock of a held lock: %v, %v; want ErrLocked", lk, err)
		}
		if waited != 1 {
			t.Errorf("waiting called %d times, want once", waited)
		}
		if d := time.Since(start); d < 100*time.Millisecond {
			t.Errorf("gave up after %s, before the 100ms wait", d)
		}
	})

	t.Run("stops_when_ctx_ends", func(t *testing.T) {
		ctx, cancel := context.WithCancel(ctx)
		lk, err := d.Lock(ctx, lab1, -1, cancel)
		if !errors.Is(err, context.Canceled) || lk != nil {
			t.Fatalf("Lock with ctx cancelled while waiting: %v, %v; want context.Canceled", lk, err)
		}
	})

	t.Run("free_after_release", func(t *testing.T) {
		got := make(chan error, 1)
		waiting := make(chan struct{})
		go func() {
			lk, err := d.Lock(ctx, lab1, 10*time.Second, func() { close(waiting) })
			if err == nil {
				err = lk.Release()
			}
			got <- err
		}()
		<-waiting
		if err := first.Release(); err != nil {
			t.Fatal(err)
		}
		if err := <-got; err != nil {
			t.Errorf("Lock after Release: %v", err)
		}
	})

	if err := first.Release(); err != nil {
		t.Errorf("second Release: %v", err)
	}
	var none *rundir.Lock
	if err := none.Release(); err != nil {
		t.Errorf("Release of a nil lock: %v", err)
	}
}

// TestProbeLock: the probe lock is a lab's own, apart from its lock (up
// does not wait for a trace), and a second taker waits, told once, until
// the first lets go; the file goes with the last release.
func TestProbeLock(t *testing.T) {
	dir := t.TempDir()
	d := rundir.At(dir)
	ctx := context.Background()
	lab := mustName(t, "lab1")
	first, err := d.ProbeLock(ctx, lab, func() { t.Error("waiting called for a free probe lock") })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "lab1.probes.lock")); err != nil {
		t.Errorf("probe lock file: %v", err)
	}
	lk, err := d.Lock(ctx, lab, 0, func() { t.Error("the lab's lock waited for its probe lock") })
	if err != nil {
		t.Fatalf("the lab's lock while its probes run: %v", err)
	}
	lk.Release()

	got := make(chan error, 1)
	waited := 0
	go func() {
		second, err := d.ProbeLock(ctx, lab, func() { waited++ })
		if err == nil {
			err = second.Release()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("a second probe lock was taken while the first is held (%v)", err)
	case <-time.After(150 * time.Millisecond):
	}
	first.Release()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if waited != 1 {
		t.Errorf("waiting called %d times, want once", waited)
	}
	if _, err := os.Stat(filepath.Join(dir, "lab1.probes.lock")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("probe lock file after the last release: %v", err)
	}

	cctx, cancel := context.WithCancel(ctx)
	held, err := d.ProbeLock(ctx, lab, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	cancel()
	if _, err := d.ProbeLock(cctx, lab, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("ProbeLock with its context ended: %v, want context.Canceled", err)
	}
}

// TestRemoveProbeLock: down removes the probe lock file a netlab killed
// while probing left, and leaves the one a live netlab holds.
func TestRemoveProbeLock(t *testing.T) {
	dir := t.TempDir()
	d := rundir.At(dir)
	lab := mustName(t, "lab1")
	file := filepath.Join(dir, "lab1.probes.lock")
	held, err := d.ProbeLock(context.Background(), lab, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.RemoveProbeLock(lab); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(file); err != nil {
		t.Fatalf("the probe lock a netlab holds was removed: %v", err)
	}
	held.Release()
	if err := os.WriteFile(file, nil, 0o600); err != nil { // as a kill -9 leaves it
		t.Fatal(err)
	}
	if err := d.RemoveProbeLock(lab); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(file); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a left probe lock file stays: %v", err)
	}
}
