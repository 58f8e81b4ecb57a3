package kernel

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"netlab/lab/state"
)

// Reading processes from /proc. Each process is read through one open
// /proc/PID directory: once its process has ended, every read through it
// fails (ESRCH) instead of reading whatever process the pid is given to
// next, so what is read of one pid is all of one process.

// procDir is where the kernel shows its processes.
const procDir = "/proc"

// clockTicks is the unit of the start time in /proc/PID/stat
// (sysconf(_SC_CLK_TCK), USER_HZ): 100 on every architecture Linux
// runs Go on.
const clockTicks = 100

// maxEnviron bounds what is read of a process's environment: the
// marker is looked for in at most that much.
const maxEnviron = 1 << 20

// nsID is a namespace's identity: the device and inode of its file.
type nsID struct{ dev, ino uint64 }

// netnsIDOf is the identity of the namespace file fd.
func netnsIDOf(fd int) (nsID, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nsID{}, err
	}
	return nsID{st.Dev, st.Ino}, nil
}

// procStat is what netlab reads of /proc/PID/stat.
type procStat struct {
	state byte // R, S, D, Z...
	ppid  int
	sid   int    // session
	tty   int    // controlling terminal, 0 for none
	start uint64 // clock ticks after boot
}

// parseStat reads /proc/PID/stat. Its second field, the command's name
// in parentheses, may hold spaces and parentheses of its own, so the
// fields are counted from the last ')'.
func parseStat(b []byte) (procStat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, errors.New("stat: no ')'")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); field N is f[N-3].
	if len(f) < 20 || len(f[0]) != 1 {
		return procStat{}, fmt.Errorf("stat: %d fields after the name, want 20 or more", len(f))
	}
	var st procStat
	st.state = f[0][0]
	nums := []struct {
		field int
		dst   *int
	}{{4, &st.ppid}, {6, &st.sid}, {7, &st.tty}}
	for _, n := range nums {
		v, err := strconv.Atoi(f[n.field-3])
		if err != nil {
			return procStat{}, fmt.Errorf("stat field %d: %w", n.field, err)
		}
		*n.dst = v
	}
	start, err := strconv.ParseUint(f[22-3], 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("stat field 22: %w", err)
	}
	st.start = start
	return st, nil
}

// ProcStart reads a process's start time (clock ticks after boot) and
// state letter (R, S, Z...) from /proc/PID/stat: what tells a process
// from a later one given the same pid, and a zombie from a live one.
func ProcStart(pid int) (start uint64, state byte, err error) {
	b, err := os.ReadFile(procDir + "/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	st, err := parseStat(b)
	return st.start, st.state, err
}

// procHandle is one process's /proc directory, open.
type procHandle struct {
	pid int
	fd  int
}

// openProc opens /proc/PID; ok is false when there is no such process.
func openProc(pid int) (h procHandle, ok bool, err error) {
	fd, err := unix.Open(procDir+"/"+strconv.Itoa(pid), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH) {
		return procHandle{}, false, nil
	}
	if err != nil {
		return procHandle{}, false, fmt.Errorf("open /proc/%d: %w", pid, err)
	}
	return procHandle{pid, fd}, true, nil
}

func (h procHandle) close() { unix.Close(h.fd) }

// netns is the identity of the process's network namespace.
func (h procHandle) netns() (nsID, error) {
	var st unix.Stat_t
	if err := unix.Fstatat(h.fd, "ns/net", &st, 0); err != nil {
		return nsID{}, err
	}
	return nsID{st.Dev, st.Ino}, nil
}

// read reads a file of the process's directory, up to limit bytes.
func (h procHandle) read(name string, limit int64) ([]byte, error) {
	fd, err := unix.Openat(h.fd, name, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, limit))
}

func (h procHandle) stat() (procStat, error) {
	b, err := h.read("stat", 4096)
	if err != nil {
		return procStat{}, err
	}
	return parseStat(b)
}

// info reads what ProcessInfo holds of the process; ok is false for one
// that has ended (or is ending: a zombie has no namespace to hold).
func (h procHandle) info() (info ProcessInfo, ok bool, err error) {
	st, err := h.stat()
	if err != nil {
		return ProcessInfo{}, false, goneOr(err)
	}
	if st.state == 'Z' || st.state == 'X' {
		return ProcessInfo{}, false, nil
	}
	cmdline, environ, err := h.argsAndEnv()
	if err != nil {
		return ProcessInfo{}, false, goneOr(err)
	}
	info = ProcessInfo{Pid: h.pid, PPid: st.ppid, Start: st.start, StartedAt: startedAt(st.start), Command: splitNUL(cmdline)}
	if v, found := envValue(environ, state.ProcessEnv); found {
		// A value from the process: used only once it parses as one
		// ProcessMarker makes.
		if _, _, _, _, valid := state.ParseProcessMarker(v); valid {
			info.Marker = v
		}
	}
	return info, true, nil
}

// execRetries and execRetryWait bound how long argsAndEnv waits for a
// process in the middle of an execve to show its new environment: the
// window is microseconds long.
const (
	execRetries   = 20
	execRetryWait = 200 * time.Microsecond
)

// argsAndEnv reads the process's command line and environment. In the
// middle of an execve, once the old program's memory is gone and before
// the new one's arguments are set up, the kernel shows both empty: a
// declared process's child caught there would be taken for a process
// started by hand (and missed by a restart that stops its marker). An
// empty environment is read again, a few times, before it is believed.
func (h procHandle) argsAndEnv() (cmdline, environ []byte, err error) {
	for try := 0; ; try++ {
		if cmdline, err = h.read("cmdline", 1<<16); err != nil {
			return nil, nil, err
		}
		if environ, err = h.read("environ", maxEnviron); err != nil {
			return nil, nil, err
		}
		if len(environ) > 0 || try == execRetries {
			return cmdline, environ, nil
		}
		time.Sleep(execRetryWait)
	}
}

// goneOr is nil for the error of a read of a process that has ended
// meanwhile, and err for any other.
func goneOr(err error) error {
	if errors.Is(err, unix.ESRCH) || errors.Is(err, unix.ENOENT) {
		return nil
	}
	return err
}

// splitNUL splits a NUL-separated list, as cmdline and environ are.
func splitNUL(b []byte) []string {
	b = bytes.TrimSuffix(b, []byte{0})
	if len(b) == 0 {
		return nil
	}
	return strings.Split(string(b), "\x00")
}

// envValue finds the first KEY= of a NUL-separated environment, as
// getenv does.
func envValue(environ []byte, key string) (string, bool) {
	prefix := []byte(key + "=")
	for entry := range bytes.SplitSeq(environ, []byte{0}) {
		if v, ok := bytes.CutPrefix(entry, prefix); ok {
			return string(v), true
		}
	}
	return "", false
}

// scanProcs lists the running processes whose network namespace is one
// of want's keys, by namespace: one pass over /proc, whatever the number
// of namespaces, that reads more than the namespace only of their
// processes.
func scanProcs[V any](want map[nsID]V) (map[nsID][]ProcessInfo, error) {
	d, err := os.Open(procDir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", procDir, err)
	}
	out := make(map[nsID][]ProcessInfo)
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil || pid <= 0 || strconv.Itoa(pid) != name {
			continue // not a process
		}
		info, ns, ok, err := readProc(pid, want)
		if err != nil {
			return nil, fmt.Errorf("process %d: %w", pid, err)
		}
		if ok {
			out[ns] = append(out[ns], info)
		}
	}
	return out, nil
}

// readProc reads one process if it runs in one of want's keys.
func readProc[V any](pid int, want map[nsID]V) (ProcessInfo, nsID, bool, error) {
	h, ok, err := openProc(pid)
	if !ok || err != nil {
		return ProcessInfo{}, nsID{}, false, err
	}
	defer h.close()
	ns, err := h.netns()
	if err != nil {
		// Ended, or a kernel thread's (no namespace to read): not a
		// lab's either way.
		return ProcessInfo{}, nsID{}, false, nil
	}
	if _, ok := want[ns]; !ok {
		return ProcessInfo{}, nsID{}, false, nil
	}
	info, ok, err := h.info()
	return info, ns, ok, err
}

var (
	bootOnce sync.Once
	bootTime time.Time
)

// startedAt turns a start time in clock ticks after boot into wall-clock
// time, by the boot time of /proc/stat (btime, whole seconds).
func startedAt(ticks uint64) time.Time {
	bootOnce.Do(func() {
		f, err := os.Open(procDir + "/stat")
		if err != nil {
			return
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "btime "); ok {
				if secs, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
					bootTime = time.Unix(secs, 0)
				}
			}
		}
	})
	if bootTime.IsZero() {
		return time.Time{}
	}
	return bootTime.Add(time.Duration(ticks) * (time.Second / clockTicks))
}
