package rundir

import (
	"errors"
	"syscall"

	"netlab/lab/name"
)

// Restarting are the declared processes an up is restarting now, by node
// and name (JSON): status shows them as restarting while that up holds
// the lab's lock. The file is LAB.restarting.json.
var Restarting = Kind{suffix: ".restarting.json", max: 1 << 20}

// Held reports whether a netlab command holds the lab's lock now. It
// takes nothing: a shared flock is tried and let go at once, and a lock
// file left by a netlab that was killed is no lock.
func (d Dir) Held(lab name.Name) bool {
	file, err := fileName(lab, lockSuffix)
	if err != nil {
		return false
	}
	dirfd, err := d.open()
	if err != nil {
		return false
	}
	defer syscall.Close(dirfd)
	f, err := d.openFile(dirfd, file, syscall.O_RDONLY)
	if err != nil {
		return false
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	if err == nil {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return false
	}
	return errors.Is(err, syscall.EWOULDBLOCK)
}
