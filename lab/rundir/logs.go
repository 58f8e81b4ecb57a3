package rundir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"netlab/lab/name"
	"netlab/lab/state"
)

// Process logs: LAB.NODE.PROC.log in the run directory, and the previous
// run's as LAB.NODE.PROC.log.1. Lab and node names are Names and process
// names pass state.ProcessNameProblem: none of them can hold a dot, so a
// file's name splits back into its parts unambiguously, and a file of lab
// "a" is never taken for one of lab "ab" or "a-b" (see parseLogName).

const (
	logSuffix  = ".log"
	prevSuffix = ".log.1"
)

// logName is the one place a process's log becomes a file name: the
// current log, or with previous its .log.1.
func logName(lab, node name.Name, proc string, previous bool) (string, error) {
	if lab.IsZero() || node.IsZero() {
		return "", errors.New("run directory: log: no lab or node name")
	}
	if p := state.ProcessNameProblem(proc); p != "" {
		return "", fmt.Errorf("run directory: log: process name %q %s", proc, p)
	}
	suffix := logSuffix
	if previous {
		suffix = prevSuffix
	}
	return fileName(lab, "."+node.String()+"."+proc+suffix)
}

// parseLogName reads a file name as one of lab's logs: ok only for
// LAB.NODE.PROC.log or LAB.NODE.PROC.log.1 with LAB exactly lab and NODE
// and PROC valid names.
func parseLogName(lab name.Name, file string) (node, proc string, previous, ok bool) {
	parts := strings.Split(file, ".")
	switch {
	case len(parts) == 4 && parts[3] == "log":
	case len(parts) == 5 && parts[3] == "log" && parts[4] == "1":
		previous = true
	default:
		return "", "", false, false
	}
	if parts[0] != lab.String() || name.Problem(parts[1]) != "" || state.ProcessNameProblem(parts[2]) != "" {
		return "", "", false, false
	}
	return parts[1], parts[2], previous, true
}

// OpenLog starts a new log for a process: the current one, if any,
// becomes the previous one (.log.1, replacing the one before), and a new
// empty file is created (mode 0600, O_EXCL, never through a link) and
// returned open for appending. A current log that is not a regular file
// (a link, a FIFO, a directory someone put there) is refused and left
// alone. The caller holds the lab's lock.
func (d Dir) OpenLog(lab, node name.Name, proc string) (*os.File, error) {
	cur, err := logName(lab, node, proc, false)
	if err != nil {
		return nil, err
	}
	prev, _ := logName(lab, node, proc, true)
	dirfd, err := d.open()
	if err != nil {
		return nil, err
	}
	defer syscall.Close(dirfd)
	switch kind, err := lstatAt(dirfd, cur); {
	case errors.Is(err, syscall.ENOENT):
	case err != nil:
		return nil, fmt.Errorf("%s: %w", filepath.Join(d.path, cur), err)
	case kind != unix.S_IFREG:
		return nil, notRegular(d, cur)
	default:
		// rename replaces whatever is at .log.1, a link included, and
		// never follows it.
		if err := syscall.Renameat(dirfd, cur, dirfd, prev); err != nil {
			return nil, fmt.Errorf("keep %s as %s: %w", filepath.Join(d.path, cur), prev, err)
		}
	}
	return d.openFile(dirfd, cur, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL|syscall.O_APPEND)
}

// CheckLog reports whether OpenLog would refuse the process's current
// log (a link, a FIFO, a directory where it goes), without changing
// anything: up asks it for every process it starts before it stops or
// starts any, so that a planted file fails up with nothing changed.
func (d Dir) CheckLog(lab, node name.Name, proc string) error {
	cur, err := logName(lab, node, proc, false)
	if err != nil {
		return err
	}
	dirfd, err := d.open()
	if err != nil {
		return err
	}
	defer syscall.Close(dirfd)
	switch kind, err := lstatAt(dirfd, cur); {
	case errors.Is(err, syscall.ENOENT):
		return nil
	case err != nil:
		return fmt.Errorf("%s: %w", filepath.Join(d.path, cur), err)
	case kind != unix.S_IFREG:
		return notRegular(d, cur)
	}
	return nil
}

// lstatAt is the kind of file (S_IFREG, S_IFLNK...) at file in the
// directory, the link itself for a link.
func lstatAt(dirfd int, file string) (uint32, error) {
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, file, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return 0, err
	}
	return st.Mode & unix.S_IFMT, nil
}

// ReadLog opens a process's current log (previous: its .log.1) for
// reading, never through a link, and only a regular file. When there is
// none the error satisfies errors.Is(err, os.ErrNotExist).
func (d Dir) ReadLog(lab, node name.Name, proc string, previous bool) (*os.File, error) {
	file, err := logName(lab, node, proc, previous)
	if err != nil {
		return nil, err
	}
	dirfd, err := d.open()
	if err != nil {
		return nil, err
	}
	defer syscall.Close(dirfd)
	return d.openFile(dirfd, file, syscall.O_RDONLY)
}

// LogProcesses names the processes of the node that have a log (current
// or previous), sorted: what netlab logs NODE prints, and what its error
// for an unknown process lists.
func (d Dir) LogProcesses(lab, node name.Name) ([]string, error) {
	if lab.IsZero() || node.IsZero() {
		return nil, errors.New("run directory: logs: no lab or node name")
	}
	dirfd, err := d.open()
	if err != nil {
		return nil, err
	}
	defer syscall.Close(dirfd)
	names, err := list(dirfd)
	if err != nil {
		return nil, fmt.Errorf("run directory %s: %w", d.path, err)
	}
	var out []string
	for _, n := range names {
		if nd, proc, _, ok := parseLogName(lab, n); ok && nd == node.String() && !slices.Contains(out, proc) {
			out = append(out, proc)
		}
	}
	slices.Sort(out)
	return out, nil
}

// RemoveLogs removes every log of the lab: the regular files whose names
// parse as the lab's logs, nothing else (not another lab's, whatever its
// name starts with). One of those names that is not a regular file is
// left alone, and said in the error. The caller holds the lab's lock.
func (d Dir) RemoveLogs(lab name.Name) error {
	if lab.IsZero() {
		return errors.New("run directory: no lab name")
	}
	dirfd, err := d.open()
	if err != nil {
		return err
	}
	defer syscall.Close(dirfd)
	names, err := list(dirfd)
	if err != nil {
		return fmt.Errorf("run directory %s: %w", d.path, err)
	}
	var errs []error
	for _, n := range names {
		if _, _, _, ok := parseLogName(lab, n); !ok {
			continue
		}
		kind, err := lstatAt(dirfd, n)
		if err != nil {
			if !errors.Is(err, syscall.ENOENT) {
				errs = append(errs, fmt.Errorf("%s: %w", filepath.Join(d.path, n), err))
			}
			continue
		}
		if kind != unix.S_IFREG {
			errs = append(errs, notRegular(d, n))
			continue
		}
		if err := syscall.Unlinkat(dirfd, n); err != nil && !errors.Is(err, syscall.ENOENT) {
			errs = append(errs, fmt.Errorf("remove %s: %w", filepath.Join(d.path, n), err))
		}
	}
	return errors.Join(errs...)
}

// LogFile is the path of a process's current log, for messages; "" when
// a name is not valid.
func (d Dir) LogFile(lab, node name.Name, proc string) string {
	file, err := logName(lab, node, proc, false)
	if err != nil {
		return ""
	}
	return filepath.Join(d.path, file)
}
