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
