package labbench

import (
	"errors"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"

	"netlab/lab/kernel"
)

// procsOf finds a process of the test's own uid that it started, and
// kill stops it, but not when its start time is not the one found (the
// pid given to another process).
func TestProcsOfAndKill(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Skipf("no sleep(1) to start: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	pid := cmd.Process.Pid
	start, _, err := kernel.ProcStart(pid)
	if err != nil {
		t.Fatal(err)
	}
	me, err := selfStart()
	if err != nil || start < me {
		t.Fatalf("the child started at %d, before the test (%d, %v)", start, me, err)
	}
	uid := uint32(os.Getuid())
	found, err := procsOf(uid, me)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(pids(found), pid) {
		t.Fatalf("procsOf(%d, %d) = %v, without the child %d", uid, me, pids(found), pid)
	}
	if later, _ := procsOf(uid, start+1); slices.Contains(pids(later), pid) {
		t.Errorf("procsOf lists the child as started after %d, its start %d", start+1, start)
	}
	if other, _ := procsOf(uid+1, me); slices.Contains(pids(other), pid) {
		t.Errorf("procsOf lists the child as uid %d's", uid+1)
	}

	// Another start time: another process, left alone.
	if err := kill(proc{pid: pid, start: start + 1}, uid); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		t.Fatalf("kill of a process with another start time stopped the child: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	if err := kill(proc{pid: pid, start: start}, uid); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Errorf("the child ended with %v, not SIGKILL", err)
		}
		done <- err // for the cleanup
	case <-time.After(5 * time.Second):
		t.Fatal("kill left the child running")
	}
}
