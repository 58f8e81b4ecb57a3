package machinetest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"netlab/lab/kernel/kerneltest"
)

// roleEnv selects the role of a re-executed test binary: holderRole or
// enterRole. Unset, the binary runs its tests.
const (
	roleEnv    = "NETLAB_MACHINETEST_ROLE"
	holderRole = "holder"
	enterRole  = "enter"
)

// The descriptors a role is given, as exec.Cmd.ExtraFiles 0 and 1.
const (
	fdNetNS = 3 // holder: the machine's network namespace; enter: the holder's
	fdMntNS = 4 // enter: the holder's mount namespace
)

// enterFailed is the exit code of an enter role that could not enter: no
// code of netlab's (0, 1, 2, 64).
const enterFailed = 125

// readyLine is what a holder writes on stdout once the machine is set up.
const readyLine = "machinetest: ready"

// The mount points a holder covers with tmpfs: netlab's namespaces, run
// directory (locks, records) and hosts files.
var privateDirs = []struct {
	path string
	mode string
}{
	{"/run/netns", "0755"},
	{"/run/netlab", "0700"},
	{"/etc/netns", "0755"},
}

// A role must run on the main thread: /proc/PID/ns/* and /proc/PID/root,
// which the tests read and enter, are the main thread's, and exec keeps the
// namespaces of the thread that calls it.
func init() {
	if os.Getenv(roleEnv) != "" {
		runtime.LockOSThread()
	}
}

// mainCalled is set by Main: New refuses to run without it, since the
// roles would then run the tests instead.
var mainCalled struct {
	sync.Mutex
	ok bool
}

// Main runs the role the environment selects, or else the tests, with
// kerneltest's leak check and a check that no holder is left; it returns
// the exit code. A package whose tests use World calls it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(machinetest.Main(m)) }
func Main(m kerneltest.TestingM) int {
	switch role := os.Getenv(roleEnv); role {
	case "":
	case holderRole:
		return reportRole(role, hold())
	case enterRole:
		return reportRole(role, enter(os.Args[1:]))
	default:
		fmt.Fprintf(os.Stderr, "machinetest: unknown role %s=%q\n", roleEnv, role)
		return enterFailed
	}
	mainCalled.Lock()
	mainCalled.ok = true
	mainCalled.Unlock()
	code := kerneltest.LeakCheck(m).Run()
	if left := holdersLeft(); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "machinetest: %d holder process(es) left running: %v\n", len(left), left)
		if code == 0 {
			code = 1
		}
	}
	removeBuild()
	return code
}

// reportRole prints a role's error and returns its exit code.
func reportRole(role string, err error) int {
	if err == nil {
		return 0
	}
	fmt.Fprintf(os.Stderr, "machinetest: %s: %v\n", role, err)
	return enterFailed
}

// hold is the holder role: it makes this process the machine (its network
// namespace, given as fdNetNS, and a mount namespace of its own), says so
// on stdout and waits for stdin to close.
func hold() error {
	if err := unix.Setns(fdNetNS, unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("join the machine's network namespace: %w", err)
	}
	unix.Close(fdNetNS)
	// CLONE_NEWNS unshares the fs struct too.
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("unshare the mount namespace: %w", err)
	}
	// A slave receives the real namespace's mounts and unmounts (a
	// namespace another test deletes) but sends none back: the tmpfs and
	// sysfs below, and netlab's bind mounts, stay in this namespace.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SLAVE, ""); err != nil {
		return fmt.Errorf("make / a slave: %w", err)
	}
	for _, d := range privateDirs {
		if err := privateTmpfs(d.path, d.mode); err != nil {
			return err
		}
	}
	if err := machineSys(); err != nil {
		return err
	}
	if _, err := fmt.Println(readyLine); err != nil {
		return fmt.Errorf("write the ready line: %w", err)
	}
	if _, err := io.Copy(io.Discard, os.Stdin); err != nil {
		return fmt.Errorf("read stdin: %w", err)
	}
	return nil
}

// privateTmpfs mounts a fresh tmpfs on dir, private, after detaching
// what the copy of the real namespace had there: the copies of the real
// /run/netns's bind mounts would otherwise hold every namespace mounted
// there when the holder started (other tests' too) until it ends. A
// missing mount point is made, empty, as netlab would make it.
func privateTmpfs(dir, mode string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("make mount point %s: %w", dir, err)
	}
	if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("detach %s: %w", dir, err)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode="+mode); err != nil {
		return fmt.Errorf("mount tmpfs on %s: %w", dir, err)
	}
	if err := unix.Mount("", dir, "", unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make %s private: %w", dir, err)
	}
	return nil
}

// machineSys mounts the machine's own sysfs on /sys (sysfs shows the
// network namespace of the process that mounts it), over a detached copy
// of the real one, read-only when that was.
func machineSys() error {
	const sys = "/sys"
	flags := uintptr(unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC)
	var fs unix.Statfs_t
	if unix.Statfs(sys, &fs) == nil && fs.Flags&unix.ST_RDONLY != 0 {
		flags |= unix.MS_RDONLY
	}
	if err := unix.Unmount(sys, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("detach %s: %w", sys, err)
	}
	if err := unix.Mount("sysfs", sys, "sysfs", flags, ""); err != nil {
		return fmt.Errorf("mount the machine's sysfs on %s: %w", sys, err)
	}
	return nil
}

// enter is the enter role: it joins the holder's namespaces, given as
// fdMntNS and fdNetNS, and execs argv (argv[0] an absolute path) in the
// working directory it was started in.
func enter(argv []string) error {
	if len(argv) == 0 {
		return errors.New("no command to run")
	}
	var buf [unix.PathMax]byte
	n, err := unix.Getcwd(buf[:])
	if err != nil {
		return fmt.Errorf("read the working directory: %w", err)
	}
	cwd := string(buf[:n])
	if i := strings.IndexByte(cwd, 0); i >= 0 {
		cwd = cwd[:i]
	}
	// setns into a mount namespace fails with EINVAL while the fs struct
	// (root, working directory) is shared, and Go's threads share it.
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return fmt.Errorf("unshare the fs struct: %w", err)
	}
	if err := unix.Setns(fdMntNS, unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("join the machine's mount namespace: %w", err)
	}
	if err := unix.Setns(fdNetNS, unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("join the machine's network namespace: %w", err)
	}
	unix.Close(fdMntNS)
	unix.Close(fdNetNS)
	// Joining a mount namespace moves to its root.
	if err := unix.Chdir(cwd); err != nil {
		return fmt.Errorf("go back to %s: %w", cwd, err)
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, roleEnv+"=") {
			env = append(env, kv)
		}
	}
	err = syscall.Exec(argv[0], argv, env)
	return fmt.Errorf("exec %s: %w", argv[0], err)
}

// readReady waits for a holder's ready line; anything else on r, or its
// end, is the holder's failure.
func readReady(r io.Reader) error {
	line, err := bufio.NewReader(r).ReadString('\n')
	if strings.TrimSpace(line) == readyLine {
		return nil
	}
	if err != nil {
		return fmt.Errorf("holder ended before it was ready: %w", err)
	}
	return fmt.Errorf("holder wrote %q, not the ready line", line)
}
