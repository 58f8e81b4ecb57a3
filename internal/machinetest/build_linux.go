package machinetest

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
)

// build is the netlab binary, built once per test process.
var build struct {
	once sync.Once
	dir  string // the temporary directory it is in
	bin  string
	skip string // why no binary can be built here
	err  error
}

// netlabBinary builds netlab on first use; it skips the test if go is not
// on PATH, and fails it if the build fails.
func netlabBinary(t testing.TB) string {
	t.Helper()
	build.once.Do(func() {
		if build.dir, build.err = os.MkdirTemp("", "nltest-machinetest-"); build.err != nil {
			return
		}
		bin := filepath.Join(build.dir, "netlab")
		switch err := kerneltest.BuildNetlab(bin); {
		case errors.Is(err, kerneltest.ErrNoGo):
			build.skip = err.Error()
		case err != nil:
			build.err = err
		default:
			build.bin = bin
		}
	})
	switch {
	case build.skip != "":
		t.Skip(build.skip)
	case build.err != nil:
		t.Fatalf("machinetest: build netlab: %v", build.err)
	}
	return build.bin
}

// removeBuild removes the built binary, at the end of the tests.
func removeBuild() {
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
}

// holders are the holders this process started, by pid and start time,
// for the check at the end of Main.
var holders struct {
	mu    sync.Mutex
	start map[int]uint64
}

func registerHolder(pid int, start uint64) {
	holders.mu.Lock()
	defer holders.mu.Unlock()
	if holders.start == nil {
		holders.start = make(map[int]uint64)
	}
	holders.start[pid] = start
}

// holdersLeft returns the holders still running.
func holdersLeft() []int {
	holders.mu.Lock()
	defer holders.mu.Unlock()
	var left []int
	for pid, start := range holders.start {
		if s, st, err := kernel.ProcStart(pid); err == nil && s == start && st != 'Z' {
			left = append(left, pid)
		}
	}
	return left
}
