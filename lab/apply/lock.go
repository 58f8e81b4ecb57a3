package apply

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// RunDir holds netlab's lock files and last-applied records. It is under
// /run, so it goes away on reboot, as the namespaces do.
var RunDir = "/run/netlab"

// Lock is a held lock on one lab.
type Lock struct{ f *os.File }

// ErrLocked is returned when another netlab holds the lab's lock past the
// wait.
var ErrLocked = errors.New("another netlab command is working on this lab")

// Acquire takes the lab's lock, so that two netlab commands on one lab
// never interleave. If another process holds it, waiting is called once
// and Acquire polls until the lock is free, ctx ends, or wait passes (wait
// < 0 means no limit).
func Acquire(ctx context.Context, lab string, wait time.Duration, waiting func()) (*Lock, error) {
	if err := os.MkdirAll(RunDir, 0o755); err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	path := filepath.Join(RunDir, lab+".lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	deadline := time.Now().Add(wait)
	told := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return &Lock{f: f}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if !told && waiting != nil {
			waiting()
			told = true
		}
		if wait >= 0 && time.Now().After(deadline) {
			f.Close()
			return nil, ErrLocked
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Release frees the lock.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the file drops the flock
	l.f = nil
	return err
}
