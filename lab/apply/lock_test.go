package apply_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"netlab/lab/apply"
)

// replaceRunDir points apply.RunDir at a fresh directory for one test.
// Tests that use it must not be parallel.
func replaceRunDir(t *testing.T) string {
	t.Helper()
	old := apply.RunDir
	apply.RunDir = t.TempDir()
	t.Cleanup(func() { apply.RunDir = old })
	return apply.RunDir
}

func TestAcquire(t *testing.T) {
	dir := replaceRunDir(t)
	ctx := context.Background()

	first, err := apply.Acquire(ctx, "lab1", -1, func() { t.Error("waiting called for a free lock") })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "lab1.lock")); err != nil {
		t.Errorf("lock file: %v", err)
	}

	t.Run("other_lab_not_blocked", func(t *testing.T) {
		lk, err := apply.Acquire(ctx, "lab1-x", 0, func() { t.Error("waiting called for another lab's lock") })
		if err != nil {
			t.Fatal(err)
		}
		lk.Release()
	})

	t.Run("gives_up_after_wait", func(t *testing.T) {
		waited := 0
		start := time.Now()
		lk, err := apply.Acquire(ctx, "lab1", 100*time.Millisecond, func() { waited++ })
		if !errors.Is(err, apply.ErrLocked) || lk != nil {
			t.Fatalf("Acquire of a held lock: %v, %v; want ErrLocked", lk, err)
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
		lk, err := apply.Acquire(ctx, "lab1", -1, cancel)
		if !errors.Is(err, context.Canceled) || lk != nil {
			t.Fatalf("Acquire with ctx cancelled while waiting: %v, %v; want context.Canceled", lk, err)
		}
	})

	t.Run("free_after_release", func(t *testing.T) {
		got := make(chan error, 1)
		waiting := make(chan struct{})
		go func() {
			lk, err := apply.Acquire(ctx, "lab1", 10*time.Second, func() { close(waiting) })
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
			t.Errorf("Acquire after Release: %v", err)
		}
	})

	if err := first.Release(); err != nil {
		t.Errorf("second Release: %v", err)
	}
	var none *apply.Lock
	if err := none.Release(); err != nil {
		t.Errorf("Release of a nil lock: %v", err)
	}
}
