// Package rundir keeps the files netlab writes as root: one lock, one
// last-applied record and one copy of the applied lab file per lab (and
// its process logs, exits and started records), in a directory of netlab's own (root's is
// /run/netlab). Everything else on the machine may be hostile: the
// directory must be netlab's (not a symbolic link, owned by this user, not
// writable by anyone else), and inside it no file is ever opened through a
// symbolic link, so a link planted as LAB.lock or LAB.json can neither be
// created nor overwritten through. Files are named only from a name.Name.
//
// Every operation opens the directory once, checks it, and then works
// relative to that descriptor (openat, renameat, unlinkat): no path is
// looked up twice.
package rundir

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"netlab/lab/name"
)

// Default is root's run directory. It is under /run, so it goes away on
// reboot, as the namespaces do.
const Default = "/run/netlab"

// A Kind is one of the files a lab keeps in the run directory between
// commands, besides its lock.
type Kind struct {
	suffix string // the file is LAB+suffix
	max    int    // bigger than this, it is not a file netlab wrote
}

var (
	// Record is the desired state of the lab's last successful up (JSON).
	Record = Kind{suffix: ".json", max: 64 << 20}
	// Source is the text of the lab file that up applied, for the
	// commands given only --lab NAME that need more than the kernel
	// holds (check runs the file's checks).
	Source = Kind{suffix: ".yaml", max: 32 << 20}
	// Machine is, for a lab spread over several machines, the one this
	// box builds (up --machine): its name, on one line. It is written
	// before up changes anything, so that down, given no --machine, still
	// knows the lab's links to other machines after an up was killed.
	Machine = Kind{suffix: ".machine", max: 64}
)

// tmp is the prefix of a temporary written on the way to a file of kind k.
func (k Kind) tmp() string { return k.suffix + ".tmp-" }

// Dir is a run directory. Its methods create it (mode 0700) when it does
// not exist yet, and refuse it when it is not netlab's own.
type Dir struct{ path string }

// At returns the run directory at path.
func At(path string) Dir { return Dir{path: path} }

// Path returns the directory's path.
func (d Dir) Path() string { return d.path }

// lockSuffix names a lab's lock, LAB.lock. The other files are LAB.json
// and LAB.yaml (see Kind) and, while one is written, LAB.json.tmp-RANDOM
// or LAB.yaml.tmp-RANDOM.
const lockSuffix = ".lock"

// probeLockSuffix names a lab's probe lock, LAB.probes.lock (see
// ProbeLock). A lab name holds no dot, so no lab's files are named so.
const probeLockSuffix = ".probes.lock"

// fileName is the one place a lab's name becomes a file name. It takes
// only a Name, which cannot hold a slash, a dot or white space.
func fileName(lab name.Name, suffix string) (string, error) {
	if lab.IsZero() {
		return "", errors.New("run directory: no lab name")
	}
	return lab.String() + suffix, nil
}

// open makes sure the directory exists and is netlab's own, and returns a
// descriptor of it. The caller closes it.
func (d Dir) open() (int, error) {
	if d.path == "" {
		return -1, errors.New("run directory: no path")
	}
	// The parent (/run) is the system's; only the directory itself is made
	// private.
	if err := os.MkdirAll(filepath.Dir(d.path), 0o755); err != nil {
		return -1, fmt.Errorf("run directory %s: %w", d.path, err)
	}
	if err := syscall.Mkdir(d.path, 0o700); err != nil && !errors.Is(err, syscall.EEXIST) {
		return -1, fmt.Errorf("run directory %s: create: %w", d.path, err)
	}
	fd, err := syscall.Open(d.path, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err != nil {
		return -1, d.refused(err)
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		syscall.Close(fd)
		return -1, fmt.Errorf("run directory %s: %w", d.path, err)
	}
	if uid := uint32(os.Geteuid()); st.Uid != uid {
		syscall.Close(fd)
		return -1, fmt.Errorf("run directory %s is owned by uid %d, not by this user (uid %d): netlab keeps its locks and records only in a directory of its own; remove it", d.path, st.Uid, uid)
	}
	if st.Mode&0o022 != 0 {
		syscall.Close(fd)
		return -1, fmt.Errorf("run directory %s is writable by others (mode %04o): netlab keeps its locks and records only in a directory nobody else can write; chmod go-w it or remove it", d.path, st.Mode&0o7777)
	}
	return fd, nil
}

// refused explains why the directory could not be opened.
func (d Dir) refused(err error) error {
	fi, lerr := os.Lstat(d.path)
	switch {
	case lerr == nil && fi.Mode()&os.ModeSymlink != 0:
		return fmt.Errorf("run directory %s is a symbolic link: netlab does not follow it, since it would write as root wherever it points; remove it", d.path)
	case lerr == nil && !fi.IsDir():
		return fmt.Errorf("run directory %s is not a directory: remove it", d.path)
	}
	return fmt.Errorf("run directory %s: %w", d.path, err)
}

// openFile opens a file in the directory without following a symbolic
// link, and refuses anything but a regular file. O_NONBLOCK keeps a
// planted FIFO from blocking the open.
func (d Dir) openFile(dirfd int, file string, flags int) (*os.File, error) {
	fd, err := syscall.Openat(dirfd, file, flags|syscall.O_NOFOLLOW|syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0o600)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return nil, fmt.Errorf("%s is a symbolic link: netlab does not follow links in its run directory; remove it", filepath.Join(d.path, file))
		}
		if errors.Is(err, syscall.EISDIR) { // opened for writing
			return nil, notRegular(d, file)
		}
		return nil, &os.PathError{Op: "open", Path: filepath.Join(d.path, file), Err: err}
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("%s: %w", filepath.Join(d.path, file), err)
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		syscall.Close(fd)
		return nil, notRegular(d, file)
	}
	if err := syscall.SetNonblock(fd, false); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("%s: %w", filepath.Join(d.path, file), err)
	}
	return os.NewFile(uintptr(fd), filepath.Join(d.path, file)), nil
}

// notRegular is the refusal of a file in the directory that is not a
// regular file: a directory, a FIFO, a device.
func notRegular(d Dir, file string) error {
	return fmt.Errorf("%s is not a regular file: netlab did not make it; remove it", filepath.Join(d.path, file))
}

// Read returns the lab's file of kind k. When there is none the error
// satisfies errors.Is(err, os.ErrNotExist).
func (d Dir) Read(lab name.Name, k Kind) ([]byte, error) {
	file, err := fileName(lab, k.suffix)
	if err != nil {
		return nil, err
	}
	dirfd, err := d.open()
	if err != nil {
		return nil, err
	}
	defer syscall.Close(dirfd)
	f, err := d.openFile(dirfd, file, syscall.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, int64(k.max)+1))
	if err != nil {
		return nil, err
	}
	if len(data) > k.max {
		return nil, fmt.Errorf("%s is larger than %d bytes: not a file netlab wrote", f.Name(), k.max)
	}
	return data, nil
}

// Write replaces the lab's file of kind k with data, atomically: it
// writes a new temporary file (created with O_EXCL, so never one that
// exists, link or not) and renames it over the file. The caller holds the
// lab's lock.
func (d Dir) Write(lab name.Name, k Kind, data []byte) error {
	file, err := fileName(lab, k.suffix)
	if err != nil {
		return err
	}
	random := make([]byte, 8)
	if _, err := rand.Read(random); err != nil {
		return err
	}
	tmp, _ := fileName(lab, k.tmp()+hex.EncodeToString(random))
	dirfd, err := d.open()
	if err != nil {
		return err
	}
	defer syscall.Close(dirfd)
	f, err := d.openFile(dirfd, tmp, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL)
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		syscall.Unlinkat(dirfd, tmp)
		return fmt.Errorf("write %s: %w", filepath.Join(d.path, tmp), err)
	}
	// rename replaces whatever is at the file's name, a link included,
	// and never follows it.
	if err := syscall.Renameat(dirfd, tmp, dirfd, file); err != nil {
		syscall.Unlinkat(dirfd, tmp)
		return fmt.Errorf("rename %s to %s: %w", filepath.Join(d.path, tmp), file, err)
	}
	return nil
}

// Remove removes the lab's file of kind k, and any temporary a netlab
// killed in Write left. A missing file is no error. The caller holds the
// lab's lock.
func (d Dir) Remove(lab name.Name, k Kind) error {
	file, err := fileName(lab, k.suffix)
	if err != nil {
		return err
	}
	tmpPrefix, _ := fileName(lab, k.tmp())
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
		if n != file && !strings.HasPrefix(n, tmpPrefix) {
			continue
		}
		// unlink removes a link itself, never what it points to.
		if err := syscall.Unlinkat(dirfd, n); err != nil && !errors.Is(err, syscall.ENOENT) {
			errs = append(errs, fmt.Errorf("remove %s: %w", filepath.Join(d.path, n), err))
		}
	}
	return errors.Join(errs...)
}

// list returns the names in the directory of dirfd.
func list(dirfd int) ([]string, error) {
	// A descriptor of its own (os.File closes it, and reads from its own
	// offset): "." opened relative to the directory is the directory.
	fd, err := syscall.Openat(dirfd, ".", syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), ".")
	defer f.Close()
	return f.Readdirnames(-1)
}

// File is the path of the lab's file of kind k, for messages and
// positions that name it; "" for the zero Name.
func (d Dir) File(lab name.Name, k Kind) string {
	file, err := fileName(lab, k.suffix)
	if err != nil {
		return ""
	}
	return filepath.Join(d.path, file)
}
