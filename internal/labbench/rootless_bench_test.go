package labbench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"netlab/internal/benchlab"
	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
)

var (
	uidFlag     = flag.Int64("uid", 0, "BenchmarkRootless: the uid (and gid) to run netlab as, one no user or group has; 0 picks 4000000 plus a random number")
	runtimeFlag = flag.String("runtime-parent", "", "BenchmarkRootless: the directory to make the user's XDG_RUNTIME_DIR in (default: the one of the binary and lab files, in the temporary directory)")
)

// goneWait bounds how long the benchmark waits, after a rootless down,
// for the holder to leave (it does so right after the last lab's down
// returned), and at the end for every process of the user to end.
const goneWait = 10 * time.Second

// BenchmarkRootless runs netlab as root and as an unprivileged user side
// by side, one binary built into a temporary directory, on the star and
// chain labs of each size (-sizes, default 100), and prints one table of
// medians (Results.RootlessTable). Each round runs, as root and then as
// the user or the other way round (which goes first alternates from
// round to round), up, no-op up, status and down. Each up starts from
// nothing: no lab is up, and the user has no holder (the benchmark waits
// for the last down's holder to leave before it goes on), so the
// user's up pays for starting the holder, as a user's first up does.
// Every up follows a down of the same lab (an untimed up and down as
// root comes first), while the kernel still frees that down's
// namespaces, which on 2 cores takes a second of CPU at N=1000.
//
// Root only: the user's side runs the binary with the credentials of an
// unused uid (-uid, CheckUID), with XDG_RUNTIME_DIR a directory of its
// own that the benchmark makes and removes. The labs are named
// nltest...; whatever a failure leaves is removed when the benchmark
// ends (netlab down as root and as the user, then every process of that
// uid started since the benchmark began is stopped, and reported).
func BenchmarkRootless(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("BenchmarkRootless needs root: it compares netlab as root with netlab as an unused uid, which it runs itself")
	}
	kerneltest.RequireRoot(b)
	sizes, err := ParseSizes(sizesOr("100"))
	if err != nil {
		b.Fatalf("-sizes: %v", err)
	}
	shapes, err := ParseShapes(*shapesFlag)
	if err != nil {
		b.Fatalf("-shapes: %v", err)
	}
	if err := CheckRounds(*roundsFlag); err != nil {
		b.Fatalf("-rounds: %v", err)
	}
	id, err := PickUID(*uidFlag)
	if err != nil {
		b.Fatalf("-uid: %v", err)
	}
	since, err := selfStart()
	if err != nil {
		b.Fatal(err)
	}

	// One directory the user can read: the binary and the lab files.
	// b.TempDir's parent is open to root alone.
	dir, err := os.MkdirTemp("", "nltest-rootless-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			b.Errorf("clean up: %v", err)
		}
	})
	if err := os.Chmod(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	xdg := filepath.Join(dir, "xdg")
	if *runtimeFlag != "" {
		if xdg, err = os.MkdirTemp(*runtimeFlag, "nltest-xdg-"); err != nil {
			b.Fatalf("-runtime-parent: %v", err)
		}
		b.Cleanup(func() {
			if err := os.RemoveAll(xdg); err != nil {
				b.Errorf("clean up: %v", err)
			}
		})
	} else if err := os.Mkdir(xdg, 0o700); err != nil {
		b.Fatal(err)
	}
	if err := os.Chown(xdg, int(id), int(id)); err != nil {
		b.Fatal(err)
	}
	u := &unprivileged{uid: uint32(id), xdg: xdg, dir: dir, since: since}
	netlab := build(b, dir, "netlab/cmd/netlab")
	rootName, userName := kerneltest.LabName(b), kerneltest.LabName(b)
	b.Cleanup(func() { u.cleanUp(b, netlab, rootName, userName) })
	fmt.Fprintf(os.Stderr, "labbench: rootless side runs as uid %d, XDG_RUNTIME_DIR=%s\n", id, xdg)

	asRoot := func(c *exec.Cmd) { c.Dir = dir }
	var res Results
	for b.Loop() {
		for _, shape := range shapes {
			for _, n := range sizes {
				lab := Lab{shape, n}
				rootFile := filepath.Join(dir, fmt.Sprintf("root-%s-%d.yaml", shape, n))
				userFile := filepath.Join(dir, fmt.Sprintf("user-%s-%d.yaml", shape, n))
				for file, name := range map[string]string{rootFile: rootName, userFile: userName} {
					if err := os.WriteFile(file, []byte(benchlab.File(shape, name, n)), 0o644); err != nil {
						b.Fatal(err)
					}
				}
				rr := runner{b: b, res: &res, lab: lab, as: asRoot}
				ru := runner{b: b, res: &res, lab: lab, as: u.prepare}
				root := func() {
					rr.step(RootUp, 0, netlab, "up", rootFile)
					rr.count(kernel.NetNSDir, rootName, n)
					rr.step(RootNoopUp, 0, netlab, "up", rootFile)
					rr.step(RootStatus, 0, netlab, "status", rootFile)
					rr.step(RootDown, 0, netlab, "down", rootFile)
					rr.count(kernel.NetNSDir, rootName, 0)
				}
				rootless := func() {
					ru.step(RootlessUp, 0, netlab, "up", userFile)
					ru.count(u.netns(), userName, n)
					ru.step(RootlessNoopUp, 0, netlab, "up", userFile)
					ru.step(RootlessStatus, 0, netlab, "status", userFile)
					ru.step(RootlessDown, 0, netlab, "down", userFile)
					ru.count(u.netns(), userName, 0)
					if err := u.waitGone(); err != nil {
						b.Fatalf("after the rootless down: %v", err)
					}
				}
				// A lab up and down first, untimed: every timed up then
				// follows a down of the same size, whose teardown the
				// kernel is still doing (the first root up would
				// otherwise be the only one on a quiet kernel).
				rr.step(warmUp, 0, netlab, "up", rootFile)
				rr.step(warmDown, 0, netlab, "down", rootFile)
				rr.last()
				for round := 1; round <= *roundsFlag; round++ {
					if round%2 == 1 {
						root()
						rootless()
					} else {
						rootless()
						root()
					}
					fmt.Fprintf(os.Stderr, "labbench: %s-%d round %d/%d: %s; %s\n", shape, n, round, *roundsFlag, rr.last(), ru.last())
				}
			}
		}
	}
	table := res.RootlessTable()
	fmt.Printf("\nnetlab as root and as an unprivileged user (uid %d), medians of %d round(s), wall seconds:\n\n%s\n", id, *roundsFlag, table)
	if *tableFlag != "" {
		if err := os.WriteFile(*tableFlag, []byte(table), 0o644); err != nil {
			b.Errorf("-table: %v", err)
		}
	}
}

// The untimed warm-up's steps, recorded apart (no table row shows them).
const (
	warmUp   Step = "warm-up up"
	warmDown Step = "warm-up down"
)

// unprivileged is the user the rootless side runs as.
type unprivileged struct {
	uid   uint32 // and gid
	xdg   string // its XDG_RUNTIME_DIR, which the benchmark made
	dir   string // the working directory of every process
	since uint64 // the benchmark's start, in clock ticks after boot
}

// netns is where the user's labs' namespaces are (lab/rootless.Dir).
func (u *unprivileged) netns() string { return filepath.Join(u.xdg, "netlab", "netns") }

// prepare makes c run as the user: its uid and gid, no other group, its
// runtime directory, and an environment without root's identity.
func (u *unprivileged) prepare(c *exec.Cmd) {
	c.Dir = u.dir
	c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: u.uid, Gid: u.uid}}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case k == "HOME" || k == "USER" || k == "LOGNAME" || k == "MAIL",
			strings.HasPrefix(k, "XDG_"), strings.HasPrefix(k, "NETLAB_"), strings.HasPrefix(k, "SUDO_"):
			continue
		}
		env = append(env, kv)
	}
	c.Env = append(env, "XDG_RUNTIME_DIR="+u.xdg, "HOME="+u.xdg)
}

// waitGone waits until the user has no process left (the holder leaves
// once the last lab is down) and its netlab directory is gone.
func (u *unprivileged) waitGone() error {
	deadline := time.Now().Add(goneWait)
	for {
		left, err := procsOf(u.uid, u.since)
		if err != nil {
			return err
		}
		_, statErr := os.Lstat(filepath.Dir(u.netns()))
		if len(left) == 0 && errors.Is(statErr, os.ErrNotExist) {
			return nil
		}
		if time.Now().After(deadline) {
			if len(left) > 0 {
				return fmt.Errorf("uid %d still has %d process(es) (%v) %s after the last down", u.uid, len(left), pids(left), goneWait)
			}
			return fmt.Errorf("%s is still there %s after the last down", filepath.Dir(u.netns()), goneWait)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// cleanUp brings down both labs, whatever a failure left of them, and
// then stops any process of the user's that is left, reporting it.
func (u *unprivileged) cleanUp(b *testing.B, netlab, rootName, userName string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, side := range []struct {
		lab string
		as  func(*exec.Cmd)
	}{{rootName, func(c *exec.Cmd) { c.Dir = u.dir }}, {userName, u.prepare}} {
		c := exec.CommandContext(ctx, netlab, "down", "--lab", side.lab)
		side.as(c)
		if out, err := c.CombinedOutput(); err != nil {
			b.Errorf("clean up: netlab down --lab %s: %v\n%s", side.lab, err, out)
		}
	}
	err := u.waitGone()
	if err == nil {
		return
	}
	b.Errorf("clean up: %v", err)
	left, err := procsOf(u.uid, u.since)
	if err != nil {
		b.Errorf("clean up: %v", err)
		return
	}
	for _, p := range left {
		if err := kill(p, u.uid); err != nil {
			b.Errorf("clean up: %v", err)
		}
	}
	if len(left) > 0 {
		b.Errorf("clean up: stopped %d process(es) of uid %d: %v", len(left), u.uid, pids(left))
	}
}

func pids(ps []proc) []int {
	out := make([]int, len(ps))
	for i, p := range ps {
		out[i] = p.pid
	}
	return out
}
