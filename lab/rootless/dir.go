// Package rootless runs netlab for a user who is not root. The kernel
// lets any user own a user namespace and, inside it, network namespaces,
// links and nftables; netlab's labs live in one such namespace per user,
// which a small netlab process, the holder, keeps alive between commands.
//
// A Go program cannot join a user namespace once it runs threads, so a
// command does not enter the holder's namespaces: it asks the holder
// (over a unix socket in the user's own directory) to start the same
// netlab command as its child, inside them, with the caller's arguments,
// environment, working directory and standard streams (passed as file
// descriptors), and relays signals and the exit status. The holder
// leaves when the user's last lab is down. See docs/rootless.md.
package rootless

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// A Dir is a user's rootless directory: where the holder's socket, its
// record and the labs' files are. Its layout:
//
//	holder.sock  the holder's socket
//	holder.lock  taken by a command while it reaches (or starts) the holder
//	holder.json  who the holder is (Holder): to tell a dead one
//	holder.log   what the holder said (start-up failures)
//	netns/       the labs' namespaces, bind-mounted in the holder's mount namespace only
//	etc/         the nodes' /etc files (hosts), as /etc/netns is root's
//	run/         locks, records and logs, as /run/netlab is root's
type Dir struct{ path string }

// maxSocketPath is the longest path a unix socket may have (sun_path,
// with its terminating zero).
const maxSocketPath = 107

// Path returns the directory's path.
func (d Dir) Path() string { return d.path }

// NetNS is where the labs' namespaces are mounted.
func (d Dir) NetNS() string { return filepath.Join(d.path, "netns") }

// Etc is where the nodes' /etc files are kept.
func (d Dir) Etc() string { return filepath.Join(d.path, "etc") }

// Run is the run directory of the user's labs.
func (d Dir) Run() string { return filepath.Join(d.path, "run") }

func (d Dir) socket() string     { return filepath.Join(d.path, "holder.sock") }
func (d Dir) lockFile() string   { return filepath.Join(d.path, "holder.lock") }
func (d Dir) holderFile() string { return filepath.Join(d.path, "holder.json") }
func (d Dir) logFile() string    { return filepath.Join(d.path, "holder.log") }

// Find returns the calling user's directory, $XDG_RUNTIME_DIR/netlab, or
// /tmp/netlab-UID when XDG_RUNTIME_DIR is unset, making it (mode 0700)
// if it does not exist. Both it and XDG_RUNTIME_DIR must be the user's
// own: a real directory (not a symbolic link), owned by the user, that
// no one else may enter. A directory another user planted at
// /tmp/netlab-UID is refused, not used.
func Find(getenv func(string) string) (Dir, error) {
	return findIn(getenv, "/tmp")
}

// findIn is Find with the directory that holds netlab-UID when
// XDG_RUNTIME_DIR is unset (/tmp; a test's own directory in tests).
func findIn(getenv func(string) string, tmp string) (Dir, error) {
	uid := os.Geteuid()
	base := filepath.Join(tmp, fmt.Sprintf("netlab-%d", uid))
	if x := getenv("XDG_RUNTIME_DIR"); x != "" {
		if err := cleanAbs(x); err != nil {
			return Dir{}, fmt.Errorf("XDG_RUNTIME_DIR=%q: %w", x, err)
		}
		if err := ownDir(x, uid); err != nil {
			return Dir{}, fmt.Errorf("XDG_RUNTIME_DIR: %w (unset it to use %s)", err, base)
		}
		if err := socketFits(filepath.Join(x, "netlab")); err != nil {
			return Dir{}, fmt.Errorf("XDG_RUNTIME_DIR: %w (unset it to use %s)", err, base)
		}
		base = filepath.Join(x, "netlab")
	}
	if err := socketFits(base); err != nil {
		return Dir{}, err
	}
	if err := os.Mkdir(base, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return Dir{}, fmt.Errorf("make %s: %w", base, err)
	}
	if err := ownDir(base, uid); err != nil {
		return Dir{}, err
	}
	return Dir{path: base}, nil
}

// socketFits refuses a directory whose holder.sock is too long a path
// for a unix socket.
func socketFits(dir string) error {
	if len(dir)+len("/holder.sock") > maxSocketPath {
		return fmt.Errorf("%s: too long a path for a unix socket (at most %d bytes with /holder.sock)", dir, maxSocketPath)
	}
	return nil
}

// cleanAbs refuses a path that is not absolute and clean, or that holds
// a character a path of netlab's never does.
func cleanAbs(p string) error {
	if !filepath.IsAbs(p) || filepath.Clean(p) != p {
		return errors.New("not a clean absolute path")
	}
	if strings.ContainsFunc(p, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return errors.New("holds a control character")
	}
	return nil
}

// ownDir checks that path is a directory (not a link to one), owned by
// uid, that no one else can enter or write.
func ownDir(path string, uid int) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case fi.Mode()&os.ModeSymlink != 0:
		return fmt.Errorf("%s is a symbolic link, not a directory of yours", path)
	case !fi.IsDir():
		return fmt.Errorf("%s is not a directory", path)
	case !ok:
		return fmt.Errorf("%s: no owner to check", path)
	case int(st.Uid) != uid:
		return fmt.Errorf("%s is not yours (owner uid %d)", path, st.Uid)
	case fi.Mode().Perm()&0o077 != 0:
		return fmt.Errorf("%s is open to other users (mode %04o; want 0700)", path, fi.Mode().Perm())
	}
	return nil
}

// WorkerEnv names the variable the holder gives each command it starts:
// the user's directory. Only the holder sets it; a command that finds it
// checks that it runs in a user namespace of its own before it believes
// it (Worker).
const WorkerEnv = "NETLAB_ROOTLESS"

// Worker reports whether this process is a command the holder started,
// and if so the user's directory. It is one when WorkerEnv is set, the
// process is root inside a user namespace that maps one outside user
// (the holder's), and the directory is its own. WorkerEnv set anywhere
// else is an error: a command that believed it would look for labs in
// the wrong place.
func Worker(getenv func(string) string) (Dir, bool, error) {
	p := getenv(WorkerEnv)
	if p == "" {
		return Dir{}, false, nil
	}
	if _, _, err := OutsideIDs(); err != nil {
		return Dir{}, false, fmt.Errorf("%s is set but this is no rootless netlab's command (%v): unset it", WorkerEnv, err)
	}
	if err := cleanAbs(p); err != nil {
		return Dir{}, false, fmt.Errorf("%s=%q: %w", WorkerEnv, p, err)
	}
	if err := ownDir(p, os.Geteuid()); err != nil {
		return Dir{}, false, fmt.Errorf("%s: %w", WorkerEnv, err)
	}
	return Dir{path: p}, true, nil
}

// OutsideIDs returns the uid and gid outside of the user namespace this
// process is root in, which maps exactly one user and one group (what
// the holder makes): the user that runs netlab. It fails in the
// machine's own user namespace.
func OutsideIDs() (uid, gid uint32, err error) {
	if os.Geteuid() != 0 {
		return 0, 0, errors.New("not root in a user namespace")
	}
	if uid, err = mappedTo("/proc/self/uid_map"); err != nil {
		return 0, 0, err
	}
	if gid, err = mappedTo("/proc/self/gid_map"); err != nil {
		return 0, 0, err
	}
	return uid, gid, nil
}

// mappedTo reads an id map of one line "0 OUTSIDE 1".
func mappedTo(path string) (uint32, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b))
	if len(f) != 3 || f[0] != "0" || f[2] != "1" {
		return 0, fmt.Errorf("%s maps %q, not one user to root", path, strings.TrimSpace(string(b)))
	}
	id, err := strconv.ParseUint(f[1], 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return uint32(id), nil
}
