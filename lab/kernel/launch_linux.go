package kernel

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"

	"netlab/lab/state"
)

// A command runs inside a node as `ip netns exec` runs it: in the node's
// network namespace and in a mount namespace of its own, where /sys is the
// node's and the files of /etc/netns/LAB.NODE/ lie over those of /etc.
// Go cannot run code between fork and exec, so netlab starts itself again
// (/proc/self/exe) as a launcher, the hidden subcommand LauncherCommand,
// which sets up the namespaces on its one locked thread and then replaces
// itself with the command (execve), keeping those namespaces.

// LauncherCommand is the name of netlab's hidden launcher subcommand. The
// command line wires it to RunLauncher.
const LauncherCommand = "__launch"

// EtcNetNSDir holds, per namespace, files that a command run in that
// namespace sees over the same names in /etc (iproute2's convention). It
// is state's, which the plan's command text names too: one constant.
const EtcNetNSDir = state.EtcNetNSDir

// selfExe is the running netlab binary, whatever its name on disk, even
// if that file has since been replaced.
const selfExe = "/proc/self/exe"

// Exit codes of a launch that did not get to run the command, as shells
// use them (EXIT_NOTFOUND, EXIT_NOEXEC); the launcher's own failures
// (namespace gone, mount refused) exit 1, as every netlab failure does.
const (
	ExitCannotRun = 126
	ExitNotFound  = 127
	exitFailure   = 1
)

// defaultPath is searched when the command's environment has no PATH:
// root's usual one, so that the sbin tools of a network lab are found.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// launcherAnswered is set once the running program is known to answer
// LauncherCommand (see AnswerLauncher), which starting itself as the
// launcher requires.
var launcherAnswered atomic.Bool

// AnswerLauncher is called first thing in the main or TestMain of every
// program that starts commands in nodes through this package: when the
// program was started as netlab's launcher (its first argument is
// LauncherCommand), it runs the launcher and exits; otherwise it records
// that the program answers it. Launch.Command and ProcessStart refuse to
// start a program that does not: one that ignored the launcher's
// arguments would run itself again in the node (a test binary: all its
// tests, each starting more).
func AnswerLauncher() {
	if len(os.Args) > 1 && os.Args[1] == LauncherCommand {
		os.Exit(RunLauncher(os.Args[2:], os.Stderr))
	}
	launcherAnswered.Store(true)
}

// LauncherAnswered records that the running program's command line
// answers LauncherCommand by itself (netlab's, whose hidden subcommand of
// that name calls RunLauncher), for a program that does not call
// AnswerLauncher.
func LauncherAnswered() { launcherAnswered.Store(true) }

// errNoLauncher refuses a start of the launcher from a program that does
// not answer it.
var errNoLauncher = errors.New("this program does not answer netlab's launcher (call kernel.AnswerLauncher first in main or TestMain), so it cannot start a command in a node")

// Launch is a command to run inside a node.
type Launch struct {
	NetNS string   // the node's namespace, LAB.NODE (state.NetNSName)
	Argv  []string // the command and its arguments; Argv[0] is looked up in PATH
	Env   []string // the command's environment; nil means netlab's own
	Dir   string   // the command's working directory; "" means netlab's own
	// NetNSDir and EtcDir are where the node's namespace and its /etc
	// files are: NetNSDir and EtcNetNSDir when "", a rootless netlab's
	// own directories otherwise.
	NetNSDir, EtcDir string
	// Stdin, Stdout and Stderr are the command's, as in exec.Cmd: nil is
	// the null device.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// Command returns the process that runs l: netlab itself as the launcher,
// with l's environment and standard streams. The caller starts and waits
// for it as for any *exec.Cmd; ExitStatus turns its end into an exit
// code. The launcher's argv[0] is "netlab", the name the command line
// answers to, not the file's, which may be anything.
// Equivalent to: cd DIR && ip netns exec NETNS ARGV... (in environment ENV)
func (l Launch) Command() (*exec.Cmd, error) {
	if _, _, err := checkNetNSName(l.NetNS); err != nil {
		return nil, err
	}
	if len(l.Argv) == 0 || l.Argv[0] == "" {
		return nil, errors.New("launch: no command")
	}
	if !launcherAnswered.Load() {
		return nil, errNoLauncher
	}
	return &exec.Cmd{
		Path:   selfExe,
		Args:   append([]string{"netlab"}, launchArgs(l, false)...),
		Env:    l.Env,
		Stdin:  l.Stdin,
		Stdout: l.Stdout,
		Stderr: l.Stderr,
	}, nil
}

// launchArgs encodes what the launcher needs on its command line, behind
// the subcommand's name; parseLaunchArgs decodes the rest. The layout is
// fixed, so that no value (a directory named "--", a command named
// "--dir") can be taken for another. A declared process (ProcessStart)
// has processFlag before the "--" (see prepareProcess).
func launchArgs(l Launch, process bool) []string {
	netnsDir, etcDir := l.NetNSDir, l.EtcDir
	if netnsDir == "" {
		netnsDir = NetNSDir
	}
	if etcDir == "" {
		etcDir = EtcNetNSDir
	}
	args := []string{LauncherCommand, "--netns", l.NetNS, "--dir", l.Dir, "--netns-dir", netnsDir, "--etc-dir", etcDir}
	if process {
		args = append(args, processFlag)
	}
	return append(append(args, "--"), l.Argv...)
}

// launchSpec is what the launcher's arguments say.
type launchSpec struct {
	netns, dir       string
	netnsDir, etcDir string
	argv             []string
	process          bool
}

// processFlag marks the launch of a declared process: fd 3 is the pipe
// that tells ProcessStart whether the command was exec'd.
const processFlag = "--process"

// parseLaunchArgs decodes the arguments launchArgs made, after the
// subcommand's name.
func parseLaunchArgs(args []string) (launchSpec, error) {
	var sp launchSpec
	const fixed = 8 // --netns N --dir D --netns-dir ND --etc-dir ED
	if len(args) >= fixed+2 && args[fixed] == processFlag && args[fixed+1] == "--" {
		sp.process = true
		args = append(args[:fixed:fixed], args[fixed+1:]...)
	}
	if len(args) < fixed+2 || args[0] != "--netns" || args[2] != "--dir" || args[4] != "--netns-dir" || args[6] != "--etc-dir" || args[fixed] != "--" {
		return sp, fmt.Errorf("%s is netlab's own: use netlab exec", LauncherCommand)
	}
	sp.netns, sp.dir, sp.netnsDir, sp.etcDir, sp.argv = args[1], args[3], args[5], args[7], args[fixed+1:]
	if _, _, err := checkNetNSName(sp.netns); err != nil {
		return sp, err
	}
	for _, d := range []string{sp.netnsDir, sp.etcDir} {
		if !filepath.IsAbs(d) || filepath.Clean(d) != d {
			return sp, fmt.Errorf("launch: directory %q is not a clean absolute path", d)
		}
	}
	if sp.argv[0] == "" {
		return sp, errors.New("launch: no command")
	}
	return sp, nil
}

// checkNetNSName accepts only the name of a node's namespace, LAB.NODE
// with both names valid, since the launcher builds paths from it.
func checkNetNSName(name string) (lab, node string, err error) {
	lab, node, ok := state.SplitNetNSName(name) // refuses invalid names
	if !ok {
		return "", "", fmt.Errorf("%q is not the namespace of a netlab node (LAB.NODE)", name)
	}
	return lab, node, nil
}

// ExitStatus is the exit code a shell gives a finished command: its own
// code, or 128+N when signal N ended it.
func ExitStatus(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// RunLauncher is the launcher: it enters the node that args (made by
// Command) name and replaces netlab with the command there. It returns
// only when that failed, with the exit code to end with, after saying why
// on stderr. Warnings (a file of /etc/netns that could not be mounted) go
// to stderr too, and the command still runs.
func RunLauncher(args []string, stderr io.Writer) int {
	sp, err := parseLaunchArgs(args)
	if err != nil {
		fmt.Fprintf(stderr, "netlab: %v\n", err)
		return exitFailure
	}
	netnsName, dir, argv := sp.netns, sp.dir, sp.argv
	_, node, _ := checkNetNSName(netnsName)
	// fail says why the command does not run; for a declared process, on
	// the pipe to ProcessStart too.
	var notify *os.File
	fail := func(code int, msg string) int {
		fmt.Fprintf(stderr, "netlab: node %s: %s\n", node, msg)
		if notify != nil {
			_, _ = notify.WriteString(msg)
		}
		return code
	}
	if sp.process {
		if notify, err = prepareProcess(); err != nil {
			return fail(exitFailure, err.Error())
		}
	}
	// Namespaces belong to a thread; this one is never unlocked, so
	// everything below, and the execve, happen on it.
	runtime.LockOSThread()
	if dir == "" {
		// The inherited working directory is a directory of the
		// machine's mounts: one below /sys would stay the machine's
		// sysfs. Its name, entered again after the mounts, is the
		// node's view of it. One that has no name (deleted) is kept,
		// as a shell keeps it.
		dir, _ = os.Getwd()
	}
	warn := func(err error) {
		fmt.Fprintf(stderr, "netlab: warning: node %s: %v (the command runs without it)\n", node, err)
	}
	if err := enterNode(sp, warn); err != nil {
		return fail(exitFailure, err.Error())
	}
	if dir != "" {
		if err := unix.Chdir(dir); err != nil {
			return fail(exitFailure, fmt.Sprintf("working directory %s: %v in the node", dir, err))
		}
	}
	path, err := lookPath(argv[0], os.Getenv("PATH"))
	found := err == nil
	if found {
		err = syscall.Exec(path, argv, os.Environ()) // returns only on failure
	}
	code, msg := cannotRun(argv[0], found, err)
	return fail(code, msg)
}

// enterNode moves the calling, locked thread into the node: its network
// namespace, then a new mount namespace in which nothing propagates back
// to the machine's, with the node's own /sys and its /etc/netns files
// over /etc. Equivalent to the set-up of `ip netns exec NETNS`.
func enterNode(sp launchSpec, warn func(error)) error {
	netnsName := sp.netns
	fd, err := openNetNSIn(sp.netnsDir, netnsName)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("not running (no namespace %s)", netnsName)
		}
		return err
	}
	err = unix.Setns(int(fd), unix.CLONE_NEWNET)
	fd.Close()
	if err != nil {
		return fmt.Errorf("enter namespace %s: %w", netnsName, err)
	}
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("new mount namespace: %w", err)
	}
	// Every mount becomes a slave: the machine's mounts still reach this
	// namespace, but nothing mounted here goes back.
	if err := unix.Mount("", "/", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("make mounts slave (mount --make-rslave /): %w", err)
	}
	if err := mountNodeSys(netnsName); err != nil {
		return err
	}
	bindEtc(sp.etcDir, netnsName, warn)
	return nil
}

// mountNodeSys puts a sysfs of the node's network namespace on /sys, so
// that /sys/class/net lists the node's interfaces. The machine's /sys is
// detached first, with everything mounted below it; where it cannot be,
// the new sysfs goes over it. A read-only /sys cannot be covered by a
// writable one, and where a writable sysfs is refused (a container that
// holds /sys read-only), a read-only one is still the node's view.
func mountNodeSys(netnsName string) error {
	const sys = "/sys"
	flags := uintptr(unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC)
	if err := unix.Unmount(sys, unix.MNT_DETACH); err != nil {
		var fs unix.Statfs_t
		if unix.Statfs(sys, &fs) == nil && fs.Flags&unix.ST_RDONLY != 0 {
			flags |= unix.MS_RDONLY
		}
	}
	err := unix.Mount(netnsName, sys, "sysfs", flags, "")
	if err != nil && flags&unix.MS_RDONLY == 0 {
		err = unix.Mount(netnsName, sys, "sysfs", flags|unix.MS_RDONLY, "")
	}
	if err != nil {
		return fmt.Errorf("mount the node's sysfs on %s: %w", sys, err)
	}
	return nil
}

// bindEtc bind-mounts each entry of etcDir/NETNS (/etc/netns/NETNS for
// root) over the entry of the same name in /etc, as iproute2 does: a
// node's own resolv.conf or hosts. Without that directory, /etc stays as
// it is. An entry that cannot be mounted (no such file in /etc) is a
// warning, not a failure.
func bindEtc(etcDir, netnsName string, warn func(error)) {
	dir := filepath.Join(etcDir, netnsName)
	entries, err := os.ReadDir(dir)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			warn(fmt.Errorf("read %s: %w", dir, err))
		}
		return
	}
	for _, e := range entries {
		src, dst := filepath.Join(dir, e.Name()), filepath.Join("/etc", e.Name())
		if err := unix.Mount(src, dst, "", unix.MS_BIND, ""); err != nil {
			warn(fmt.Errorf("bind %s over %s: %w", src, dst, err))
		}
	}
}

// lookPath finds the file a command names, as a shell does: a name with
// a slash is that file; any other is searched in each directory of
// pathList, the first executable regular file winning. Empty and
// relative entries of pathList are skipped: run as root, a bare name
// never means a file of the current directory (write ./NAME for that).
// The error is unix.ENOENT when nothing of that name exists, and
// unix.EACCES when only files that cannot be executed do.
func lookPath(name, pathList string) (string, error) {
	if strings.Contains(name, "/") {
		return name, executable(name)
	}
	if pathList == "" {
		pathList = defaultPath
	}
	found := unix.ENOENT
	for _, dir := range filepath.SplitList(pathList) {
		if !filepath.IsAbs(dir) {
			continue
		}
		path := filepath.Join(dir, name)
		err := executable(path)
		if err == nil {
			return path, nil
		}
		if !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ENOTDIR) {
			found = unix.EACCES
		}
	}
	return "", found
}

// executable reports why path cannot be executed, or nil: it must exist,
// be a regular file and pass the kernel's execute permission check.
func executable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return pe.Err
		}
		return err
	}
	if !fi.Mode().IsRegular() {
		return unix.EACCES
	}
	return unix.Access(path, unix.X_OK)
}

// cannotRun is the exit code and the message for a command that did not
// run: found says whether lookPath found its file (err then comes from
// execve). Not found is 127; found but not runnable is 126 (no execute
// permission, a directory, no #! line, a #! interpreter that is missing).
func cannotRun(name string, found bool, err error) (code int, msg string) {
	var errno unix.Errno
	if !errors.As(err, &errno) {
		return ExitCannotRun, fmt.Sprintf("command %q cannot be run: %v", name, err)
	}
	switch {
	case !found && (errno == unix.ENOENT || errno == unix.ENOTDIR):
		if strings.Contains(name, "/") {
			return ExitNotFound, fmt.Sprintf("command %q not found", name)
		}
		return ExitNotFound, fmt.Sprintf("command %q not found in PATH", name)
	case !found:
		return ExitCannotRun, fmt.Sprintf("command %q is not an executable file", name)
	case errno == unix.ENOENT:
		return ExitCannotRun, fmt.Sprintf("command %q cannot be run: the interpreter of its #! line, or its loader, does not exist", name)
	case errno == unix.ENOEXEC:
		return ExitCannotRun, fmt.Sprintf("command %q cannot be run: not a program this kernel can run (no #! line?)", name)
	}
	return ExitCannotRun, fmt.Sprintf("command %q cannot be run: %v", name, errno)
}
