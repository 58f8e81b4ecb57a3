package rundir

import (
	"errors"
	"os"

	"netlab/lab/name"
)

// Process logs: LAB.NODE.PROC.log in the run directory, and the previous
// run's as LAB.NODE.PROC.log.1.
// TODO(issue 14): the CLI helper fills these in.

// OpenLog starts a new log for a process: the current one, if any,
// becomes the previous one (.log.1), and a new empty file is created
// (O_EXCL, never through a link) and returned open for appending. The
// caller holds the lab's lock.
func (d Dir) OpenLog(lab, node name.Name, proc string) (*os.File, error) {
	return nil, errors.ErrUnsupported
}

// ReadLog opens a process's current log (previous: its .log.1) for
// reading, never through a link. When there is none the error satisfies
// errors.Is(err, os.ErrNotExist).
func (d Dir) ReadLog(lab, node name.Name, proc string, previous bool) (*os.File, error) {
	return nil, errors.ErrUnsupported
}

// RemoveLogs removes every log of the lab. The caller holds the lab's
// lock.
func (d Dir) RemoveLogs(lab name.Name) error { return errors.ErrUnsupported }
