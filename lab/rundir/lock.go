package rundir

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"netlab/lab/name"
)

// ErrLocked is returned when another netlab holds the lab's lock past the
// wait.
var ErrLocked = errors.New("another netlab command is working on this lab")

// Lock is a held lock on one lab: an flock on LAB.lock.
//
// The lock file exists only while the lock is held: Release unlinks it
// before it lets go, so that no lock file is left behind, for a lab that
// never existed or one that did. That is safe because Lock, once it has
// the flock, checks that the name still leads to the file it locked; one
// that lost the race to a Release holds an unlinked file, and tries again.
type Lock struct {
	dir   Dir
	dirfd int
	f     *os.File
	file  string
}

// Lock takes the lab's lock, so that two netlab commands on one lab never
// interleave. If another process holds it, waiting is called once and
// Lock polls until the lock is free, ctx ends, or wait passes (wait < 0
// means no limit).
func (d Dir) Lock(ctx context.Context, lab name.Name, wait time.Duration, waiting func()) (*Lock, error) {
	return d.lock(ctx, lab, lockSuffix, wait, waiting)
}

// ProbeLock takes the lab's probe lock, LAB.probes.lock, for as long as
// a command's probes run (check, trace, the TUI's checks and trace): their
// responders listen on the lab's nodes at fixed ports (a check's udp/7),
// and two netlab processes at once would find the port taken. It waits
// as long as the other's probes take, until ctx ends, calling waiting
// once. It is not the lab's lock: up and down do not wait for probes,
// nor probes for them.
func (d Dir) ProbeLock(ctx context.Context, lab name.Name, waiting func()) (*Lock, error) {
	return d.lock(ctx, lab, probeLockSuffix, -1, waiting)
}

// RemoveProbeLock removes the lab's probe lock file that a netlab killed
// while probing (kill -9) left, for down: it takes the lock without
// waiting and releases it, which unlinks the file. One that a live
// netlab holds is left to it (its release removes it): unlinking a held
// lock's file would let a third netlab lock a new one beside it.
func (d Dir) RemoveProbeLock(lab name.Name) error {
	lk, err := d.lock(context.Background(), lab, probeLockSuffix, 0, nil)
	if errors.Is(err, ErrLocked) {
		return nil
	}
	if err != nil {
		return err
	}
	return lk.Release()
}

// lock takes the flock on LAB+suffix (see Lock).
func (d Dir) lock(ctx context.Context, lab name.Name, suffix string, wait time.Duration, waiting func()) (*Lock, error) {
	file, err := fileName(lab, suffix)
	if err != nil {
		return nil, err
	}
	dirfd, err := d.open()
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	deadline := time.Now().Add(wait)
	told := false
	for {
		f, err := d.openFile(dirfd, file, syscall.O_RDWR|syscall.O_CREAT)
		if err != nil {
			syscall.Close(dirfd)
			return nil, fmt.Errorf("lock: %w", err)
		}
		if err := flockWait(ctx, f, deadline, wait, &told, waiting); err != nil {
			f.Close()
			syscall.Close(dirfd)
			return nil, err
		}
		if d.stillNamed(dirfd, file, f) {
			return &Lock{dir: d, dirfd: dirfd, f: f, file: file}, nil
		}
		f.Close() // released and unlinked meanwhile: lock the new one
	}
}

// flockWait takes an exclusive flock on f, polling until it is free, ctx
// ends, or the deadline passes (wait < 0: no deadline). told says whether
// waiting was called already.
func flockWait(ctx context.Context, f *os.File, deadline time.Time, wait time.Duration, told *bool, waiting func()) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return fmt.Errorf("lock %s: %w", f.Name(), err)
		}
		if !*told && waiting != nil {
			waiting()
			*told = true
		}
		if wait >= 0 && time.Now().After(deadline) {
			return ErrLocked
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// stillNamed reports whether file in the directory is still the file f
// holds open (same device and inode), and not gone or replaced.
func (d Dir) stillNamed(dirfd int, file string, f *os.File) bool {
	now, err := d.openFile(dirfd, file, syscall.O_RDONLY)
	if err != nil {
		return false
	}
	defer now.Close()
	var a, b syscall.Stat_t
	if syscall.Fstat(int(f.Fd()), &a) != nil || syscall.Fstat(int(now.Fd()), &b) != nil {
		return false
	}
	return a.Dev == b.Dev && a.Ino == b.Ino
}

// Release removes the lock file and frees the lock. It unlinks the file
// while still holding the flock, so that whoever takes the lock next
// makes a new one (see Lock).
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	var errs []error
	if err := syscall.Unlinkat(l.dirfd, l.file); err != nil && !errors.Is(err, syscall.ENOENT) {
		errs = append(errs, fmt.Errorf("remove %s: %w", filepath.Join(l.dir.path, l.file), err))
	}
	errs = append(errs, l.f.Close()) // closing the file drops the flock
	syscall.Close(l.dirfd)
	l.f = nil
	return errors.Join(errs...)
}
