package labbench

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"netlab/lab/kernel"
)

// The rootless benchmark runs netlab as a uid of its own choosing; when
// it ends, no process of that uid may be left (the holder leaves after
// the last down). These find such processes and stop them, and only
// them: a process counts when its real uid is the benchmark's and it
// started after the benchmark did, so that a process of another run, or
// a pid the kernel handed out again, is never touched.

// A proc is one process: its pid and its start time in clock ticks
// after boot (field 22 of /proc/PID/stat), which tells it from a later
// process given the same pid.
type proc struct {
	pid   int
	start uint64
}

// procsOf lists the processes whose real uid is uid and that started at
// or after since (clock ticks after boot).
func procsOf(uid uint32, since uint64) ([]proc, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var out []proc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue // not a process
		}
		p, ok := procOf(pid, uid, since)
		if ok {
			out = append(out, p)
		}
	}
	return out, nil
}

// procOf returns the process pid when it is one of uid's that started at
// or after since; ok is false otherwise, or when it has gone meanwhile.
func procOf(pid int, uid uint32, since uint64) (proc, bool) {
	ruid, err := realUID(pid)
	if err != nil || ruid != uid {
		return proc{}, false
	}
	start, _, err := kernel.ProcStart(pid)
	if err != nil || start < since {
		return proc{}, false
	}
	return proc{pid: pid, start: start}, true
}

// realUID reads a process's real uid, the first of the "Uid:" line of
// /proc/PID/status (as this process's user namespace sees it).
func realUID(pid int) (uint32, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, "Uid:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			break
		}
		id, err := strconv.ParseUint(f[0], 10, 32)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/status: uid %q: %w", pid, f[0], err)
		}
		return uint32(id), nil
	}
	return 0, fmt.Errorf("/proc/%d/status: no Uid line", pid)
}

// kill stops p with SIGKILL through a pidfd, after checking, through
// that pidfd's process, that it is still the process found (same uid,
// same start): a pid reused between the scan and the kill is left alone.
func kill(p proc, uid uint32) error {
	fd, err := unix.PidfdOpen(p.pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return nil // gone already
	}
	if err != nil {
		return fmt.Errorf("pidfd of %d: %w", p.pid, err)
	}
	defer unix.Close(fd)
	if now, ok := procOf(p.pid, uid, p.start); !ok || now.start != p.start {
		return nil // another process has the pid now
	}
	if err := unix.PidfdSendSignal(fd, syscall.SIGKILL, nil, 0); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("kill %d: %w", p.pid, err)
	}
	return nil
}

// selfStart is this process's start time in clock ticks after boot:
// every process the benchmark starts starts at or after it.
func selfStart() (uint64, error) {
	start, _, err := kernel.ProcStart(os.Getpid())
	return start, err
}
