package rootless

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"netlab/lab/kernel"
)

// sweep cleans up after a holder that is gone (killed, or the machine's
// OOM killer): its labs went with its namespaces, except what processes
// it started still hold. Those are stopped (SIGKILL), and every file the
// labs kept in the user's directory is removed, so that the next up
// starts from nothing and down has nothing left to do. known says
// whether h (holder.json) was there to say who the holder was.
func sweep(d Dir, h Holder, known bool, stderr io.Writer) error {
	labs := labsIn(d)
	stopped := 0
	if known {
		stopped = stopLeftovers(d, h)
	}
	if !known && len(labs) == 0 && !exists(d.socket()) {
		return nil // a first start
	}
	for _, sub := range []string{d.NetNS(), d.Etc(), d.Run()} {
		if err := os.RemoveAll(sub); err != nil {
			return fmt.Errorf("clean up after the holder: %w", err)
		}
	}
	os.Remove(d.socket())
	os.Remove(d.holderFile())
	if len(labs) > 0 || stopped > 0 {
		who := "the holder"
		if known {
			who = fmt.Sprintf("the holder (pid %d)", h.Pid)
		}
		fmt.Fprintf(stderr, "netlab: rootless: %s had ended, and its labs with it (%s); stopped %d process(es) left behind and removed the labs' files\n",
			who, strings.Join(labs, ", "), stopped)
	}
	return nil
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// labsIn names the labs that have namespace files in d.
func labsIn(d Dir) []string {
	entries, _ := os.ReadDir(d.NetNS())
	var labs []string
	for _, e := range entries {
		lab, _, _ := strings.Cut(e.Name(), ".")
		if !slices.Contains(labs, lab) {
			labs = append(labs, lab)
		}
	}
	slices.Sort(labs)
	return labs
}

// stopLeftovers kills the processes that the dead holder h started and
// that outlive it: those in its user namespace (by inode), started after
// it, of this user, that carry the mark of a command the holder started
// (WorkerEnv naming d) or of a lab's process (NETLAB_PROCESS). A user
// namespace's inode may be reused once it is gone, so the namespace alone
// does not say a process is the holder's. It returns how many it killed.
func stopLeftovers(d Dir, h Holder) int {
	killed := 0
	for range 50 {
		found := 0
		for _, pid := range pids() {
			if !leftover(d, h, pid) {
				continue
			}
			found++
			if syscall.Kill(pid, syscall.SIGKILL) == nil {
				killed++
			}
		}
		if found == 0 {
			break
		}
		time.Sleep(10 * time.Millisecond) // what they forked meanwhile goes in the next round
	}
	return killed
}

func pids() []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil && pid > 0 {
			out = append(out, pid)
		}
	}
	return out
}

func leftover(d Dir, h Holder, pid int) bool {
	if ns, err := nsInode(pid, "user"); err != nil || ns != h.UserNS {
		return false
	}
	if start, _, err := kernel.ProcStart(pid); err != nil || start < h.Start {
		return false
	}
	var st syscall.Stat_t
	if syscall.Stat("/proc/"+strconv.Itoa(pid), &st) != nil || int(st.Uid) != os.Geteuid() {
		return false
	}
	env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return false
	}
	for _, kv := range bytes.Split(env, []byte{0}) {
		if string(kv) == WorkerEnv+"="+d.Path() || bytes.HasPrefix(kv, []byte("NETLAB_PROCESS=")) {
			return true
		}
	}
	return false
}
