package kernel

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"netlab/lab/state"
)

// Hosts files: EtcNetNSDir/LAB.NODE/hosts (k.etcNetNSDir). The directory
// is the machine's, written as root, so every component of every path is
// opened from its parent without following a symbolic link
// (openat O_NOFOLLOW), names come only from validated namespace names,
// a file is opened without waiting on a FIFO (O_NONBLOCK), and one with
// a second name (a hard link) is not netlab's. A file is
// written in place, never renamed over: a process in the node sees
// /etc/hosts through a bind mount of that inode, made when it started.

// maxHosts bounds what is read of a hosts file.
const maxHosts = 1 << 20

// hostsMode is the mode of a hosts file and of the directories made for
// it, whatever netlab's umask: every program in the node reads it.
const (
	hostsMode    = 0o644
	hostsDirMode = 0o755
)

// openDirAt opens the directory name of dirfd without following a link;
// with create it makes it first when it is missing.
func openDirAt(dirfd int, name string, create bool) (int, error) {
	const flags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	fd, err := unix.Openat(dirfd, name, flags, 0)
	if errors.Is(err, unix.ENOENT) && create {
		if err := unix.Mkdirat(dirfd, name, hostsDirMode); err != nil && !errors.Is(err, unix.EEXIST) {
			return -1, err
		}
		if fd, err = unix.Openat(dirfd, name, flags, 0); err == nil {
			_ = unix.Fchmod(fd, hostsDirMode) // the umask's due
		}
	}
	return fd, err
}

// openEtcNetNS opens k.etcNetNSDir, each component from its parent, and
// with create makes its last one when it is missing. Where the kernel has
// openat2, one call that follows no symbolic link in any component does
// the same when the directory exists (down removes a thousand files, each
// from its own open).
func (k *Linux) openEtcNetNS(create bool) (int, error) {
	path := filepath.Clean(k.etcNetNSDir)
	if !filepath.IsAbs(path) || path == "/" {
		return -1, fmt.Errorf("hosts directory %q: not an absolute path below /", k.etcNetNSDir)
	}
	fd, err := unix.Openat2(unix.AT_FDCWD, path, &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	switch {
	case err == nil:
		return fd, nil
	case errors.Is(err, unix.ENOENT) && !create, errors.Is(err, unix.ELOOP), errors.Is(err, unix.ENOTDIR):
		// What the walk below finds too: missing, or a link on the way.
		return -1, &os.PathError{Op: "open", Path: path, Err: err}
	}
	// No openat2 (ENOSYS, or a filter's EPERM), or a directory to make:
	// one component at a time.
	fd, err = unix.Open("/", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	for i, part := range parts {
		next, err := openDirAt(fd, part, create && i == len(parts)-1)
		unix.Close(fd)
		if err != nil {
			return -1, &os.PathError{Op: "open", Path: "/" + strings.Join(parts[:i+1], "/"), Err: err}
		}
		fd = next
	}
	return fd, nil
}

// notPlainFile reports whether err is what opening a file without
// following links gives for something that is no regular file of
// netlab's: a symbolic link, a directory.
func notPlainFile(err error) bool {
	return errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.EISDIR)
}

// HostsSet writes the node's hosts file in place, or removes it.
func (k *Linux) HostsSet(ctx context.Context, netns, content string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if netns == state.HostNetNS {
		return fmt.Errorf("hosts file of the machine's own namespace: netlab never writes /etc/hosts: %w", unix.EPERM)
	}
	if _, _, err := checkNetNSName(netns); err != nil {
		return err
	}
	if content != "" && !strings.HasPrefix(content, state.HostsHeader) {
		return fmt.Errorf("hosts file of %s: content does not start with %q: %w", netns, state.HostsHeader, unix.EINVAL)
	}
	dirPath := filepath.Join(k.etcNetNSDir, netns)
	path := filepath.Join(dirPath, "hosts")
	write := content != ""
	etc, err := k.openEtcNetNS(write)
	if errors.Is(err, unix.ENOENT) && !write {
		return nil
	}
	if err != nil {
		return fmt.Errorf("hosts file of %s: %w", netns, err)
	}
	defer unix.Close(etc)
	dir, err := openDirAt(etc, netns, write)
	switch {
	case errors.Is(err, unix.ENOENT) && !write:
		return nil
	case notPlainFile(err):
		return &ForeignError{NetNS: netns, File: dirPath}
	case err != nil:
		return fmt.Errorf("hosts file of %s: %s: %w", netns, dirPath, err)
	}
	defer unix.Close(dir)
	// The machine's own name last (see state.MachineNameLine); Observe
	// leaves it out again.
	if write {
		content += k.machineNameLine(content)
	}
	fd, err := unix.Openat(dir, "hosts", unix.O_RDWR|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	switch {
	case errors.Is(err, unix.ENOENT) && !write:
		// No file, but maybe the directory of one an up was killed
		// before it wrote (it makes the directory first): it goes when
		// nothing is in it, as after a file is removed.
		return removeEmptyDir(etc, netns, dirPath)
	case errors.Is(err, unix.ENOENT):
		if err := createHosts(dir, content); err != nil {
			return fmt.Errorf("create %s: %w", path, err)
		}
		return nil
	case notPlainFile(err):
		return &ForeignError{NetNS: netns, File: path}
	case err != nil:
		return fmt.Errorf("open %s: %w", path, err)
	default:
		if ours, err := netlabsFile(fd); err != nil || !ours {
			unix.Close(fd)
			if err != nil {
				return fmt.Errorf("read %s: %w", path, err)
			}
			return &ForeignError{NetNS: netns, File: path}
		}
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	if !write {
		if err := unix.Unlinkat(dir, "hosts", 0); err != nil {
			return fmt.Errorf("remove %s: %w", path, err)
		}
		// The node's directory goes too when nothing else is in it.
		return removeEmptyDir(etc, netns, dirPath)
	}
	// In place: the new content over the old, then the rest cut off, so
	// that a reader meanwhile never sees an empty file.
	if _, err := f.WriteAt([]byte(content), 0); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Truncate(int64(len(content))); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// machineNameLine is state.MachineNameLine of the machine's hostname for
// content, or "" when the hostname cannot be read. Every node of a lab
// has the same content, so the last answer is kept: a 1000-node lab
// would otherwise look for the hostname in 1000 copies of 1000 names.
func (k *Linux) machineNameLine(content string) string {
	hostname, err := os.Hostname()
	if err != nil {
		return ""
	}
	k.hostsMu.Lock()
	defer k.hostsMu.Unlock()
	m := &k.lastMachineName
	if m.hostname != hostname || m.content != content { // the same string: compared by pointer first
		*m = machineName{hostname: hostname, content: content, line: state.MachineNameLine(hostname, content)}
	}
	return m.line
}

// machineName is machineNameLine's last answer.
type machineName struct{ hostname, content, line string }

// emptyDirAt reports whether name in the open directory etc is a
// directory (not a link to one) with nothing in it.
func emptyDirAt(etc int, name string) (bool, error) {
	fd, err := openDirAt(etc, name, false)
	switch {
	case errors.Is(err, unix.ENOENT), notPlainFile(err):
		return false, nil
	case err != nil:
		return false, err
	}
	d := os.NewFile(uintptr(fd), name)
	defer d.Close()
	_, err = d.Readdirnames(1)
	if errors.Is(err, io.EOF) {
		return true, nil
	}
	return false, err
}

// removeEmptyDir removes the directory name of etc if it is empty; one
// with anything in it stays, as does everything in it.
func removeEmptyDir(etc int, name, path string) error {
	if err := unix.Unlinkat(etc, name, unix.AT_REMOVEDIR); err != nil && !errors.Is(err, unix.ENOTEMPTY) && !errors.Is(err, unix.EEXIST) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove %s: %w", path, err)
	}
	return nil
}

// createHosts makes the hosts file of the node directory dir, which has
// none, with content: written whole under no name (O_TMPFILE), then given
// its name, which fails if a file took it meanwhile. A netlab killed at
// any moment leaves either no file or the whole one, never an empty file
// without netlab's first line, which no later up would touch again. A
// file system without O_TMPFILE gets the file made, then written.
func createHosts(dir int, content string) error {
	fd, err := unix.Openat(dir, ".", unix.O_WRONLY|unix.O_TMPFILE|unix.O_CLOEXEC, hostsMode)
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EISDIR) {
		fd, err = unix.Openat(dir, "hosts", unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, hostsMode)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		_ = unix.Fchmod(fd, hostsMode) // the umask's due
		_, err = unix.Pwrite(fd, []byte(content), 0)
		return err
	}
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	_ = unix.Fchmod(fd, hostsMode)
	if n, err := unix.Pwrite(fd, []byte(content), 0); err != nil || n != len(content) {
		if err == nil {
			err = io.ErrShortWrite
		}
		return err
	}
	// Named through /proc/self/fd, which needs no capability, unlike
	// linkat's AT_EMPTY_PATH; linkat never replaces a name.
	return unix.Linkat(unix.AT_FDCWD, fmt.Sprintf("/proc/self/fd/%d", fd), dir, "hosts", unix.AT_SYMLINK_FOLLOW)
}

// netlabsFile reports whether the open fd is a file of netlab's: a
// regular file of one name (ownFile) that starts with state.HostsHeader.
func netlabsFile(fd int) (bool, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return false, err
	}
	if !ownFile(&st) {
		return false, nil
	}
	return startsWithHeader(fd)
}

// startsWithHeader reports whether the open file fd starts with
// state.HostsHeader, by its first bytes only.
func startsWithHeader(fd int) (bool, error) {
	head := make([]byte, len(state.HostsHeader))
	n, err := unix.Pread(fd, head, 0)
	if err != nil {
		return false, err
	}
	return string(head[:n]) == state.HostsHeader, nil
}

// ownFile reports whether st is a regular file with no other name: a
// hard link planted as a node's hosts file is another file too, which
// writing it would change (O_NOFOLLOW stops only symbolic links).
func ownFile(st *unix.Stat_t) bool {
	return st.Mode&unix.S_IFMT == unix.S_IFREG && st.Nlink == 1
}

// readHosts reads a namespace's hosts file as Observe reports it; nil
// when there is none. netns must be a validated namespace name.
func (k *Linux) readHosts(netns string) (*state.HostsFile, error) {
	etc, err := k.openEtcNetNS(false)
	if errors.Is(err, unix.ENOENT) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer unix.Close(etc)
	return readHostsAt(etc, netns, "", false)
}

// netlabsHostsAt reports whether netns has a hosts file of netlab's in
// the open etc directory: what readHostsAt would find not Foreign, by its
// first bytes only (a node's hosts file names every node of the lab).
func netlabsHostsAt(etc int, netns string) (bool, error) {
	h, err := readHostsAt(etc, netns, "", true)
	return err == nil && h != nil && !h.Foreign, err
}

// readHostsAt reads the hosts file of netns in the open etc directory.
// want is the content the caller expects there, or "": a file that holds
// it (and the machine-name line) is reported with want itself, so that a
// 1000-node lab's thousand files of a thousand names are compared, not
// copied. With headerOnly, only whose the file is is read: a netlab
// file is reported without its Content.
func readHostsAt(etc int, netns, want string, headerOnly bool) (*state.HostsFile, error) {
	dir, err := openDirAt(etc, netns, false)
	switch {
	case errors.Is(err, unix.ENOENT):
		return nil, nil
	case notPlainFile(err):
		return &state.HostsFile{Foreign: true}, nil
	case err != nil:
		return nil, err
	}
	defer unix.Close(dir)
	fd, err := unix.Openat(dir, "hosts", unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	switch {
	case errors.Is(err, unix.ENOENT):
		return nil, nil
	case notPlainFile(err):
		return &state.HostsFile{Foreign: true}, nil
	case err != nil:
		return nil, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, err
	}
	if !ownFile(&st) {
		unix.Close(fd)
		return &state.HostsFile{Foreign: true}, nil
	}
	if headerOnly {
		defer unix.Close(fd)
		ours, err := startsWithHeader(fd)
		return &state.HostsFile{Foreign: !ours}, err
	}
	// Read into a pooled buffer of the size fstat gave, with room to see
	// a file that grew meanwhile.
	f := os.NewFile(uintptr(fd), "hosts")
	defer f.Close()
	bufp := hostsBufs.Get().(*[]byte)
	defer hostsBufs.Put(bufp)
	b := bytes.NewBuffer((*bufp)[:0])
	b.Grow(int(min(max(st.Size, 0), maxHosts)) + bytes.MinRead)
	if _, err := b.ReadFrom(io.LimitReader(f, maxHosts)); err != nil {
		return nil, err
	}
	buf := b.Bytes()
	*bufp = buf[:0]
	if want != "" && holdsHosts(buf, want) {
		return &state.HostsFile{Content: want}, nil
	}
	return ReadHostsFile(string(buf)), nil
}

// hostsBufs are readHostsAt's read buffers, one per worker at a time.
var hostsBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// holdsHosts reports whether data, a hosts file read back, is want and at
// most the machine-name line after it: what ReadHostsFile would report
// as want.
func holdsHosts(data []byte, want string) bool {
	if !strings.HasPrefix(want, state.HostsHeader) || !strings.HasSuffix(want, "\n") ||
		len(data) < len(want) || string(data[:len(want)]) != want {
		return false
	}
	tail := string(data[len(want):]) // one short line at most
	return tail == "" || state.IsMachineNameLine(tail)
}

// HostsFiles lists the namespaces of the lab with a hosts file of
// netlab's, whether or not the namespace still exists, and those whose
// directory is empty: what an up killed after it made the directory and
// before it wrote the file leaves.
func (k *Linux) HostsFiles(ctx context.Context, lab string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	etc, err := k.openEtcNetNS(false)
	if errors.Is(err, unix.ENOENT) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("hosts files: %w", err)
	}
	defer unix.Close(etc)
	dup, err := unix.FcntlInt(uintptr(etc), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	d := os.NewFile(uintptr(dup), k.etcNetNSDir)
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", k.etcNetNSDir, err)
	}
	var out []string
	for _, name := range names {
		if l, _, ok := state.SplitNetNSName(name); !ok || l != lab {
			continue
		}
		ours, err := netlabsHostsAt(etc, name)
		if err == nil && !ours {
			ours, err = emptyDirAt(etc, name)
		}
		if err != nil {
			return nil, fmt.Errorf("hosts file of %s: %w", name, err)
		}
		if ours {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out, nil
}
