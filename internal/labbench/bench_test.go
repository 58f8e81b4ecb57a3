package labbench

import (
	"bytes"
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

// The process benchmarks' settings, read by BenchmarkLabs and
// BenchmarkRootless (-uid by the latter only):
//
//	go test -run '^$' -bench Labs -benchtime 1x ./internal/labbench -args -sizes 10,50 -rounds 1
var (
	sizesFlag  = flag.String("sizes", "", "comma-separated node counts, increasing (default 100,1000,2000 for BenchmarkLabs, 100 for BenchmarkRootless)")
	roundsFlag = flag.Int("rounds", 3, "rounds per lab, odd: each brings both labs up and down once")
	shapesFlag = flag.String("shapes", "star,chain", "comma-separated shapes: star, chain")
	tableFlag  = flag.String("table", "", "also write the table to this file")
)

func TestMain(m *testing.M) { os.Exit(kerneltest.LeakCheck(m).Run()) }

// BenchmarkLabs runs netlab and the raw baseline (internal/rawlab), each
// built into a temporary directory, on the star and chain labs of each
// size, and prints one table of medians (see Results.Table). Each round
// runs the raw program (up, down) and netlab (up, no-op plan, no-op up,
// status, down), the two in turn, and which of them goes first
// alternates from round to round: each up starts from a machine where
// neither lab is up, and the kernel's background clean-up of the last
// down falls as often on one as on the other. Every time is of the whole
// process, start-up and exit included, as a user sees it; the CPU time
// and peak memory come from the process's rusage.
//
// Root only. The labs are named nltest..., and whatever a failure leaves
// is removed when the benchmark ends (netlab down, rawlab down, then
// kerneltest's removal of every namespace LAB.*).
func BenchmarkLabs(b *testing.B) {
	kerneltest.RequireRoot(b)
	sizes, err := ParseSizes(sizesOr("100,1000,2000"))
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
	nlName, rawName := kerneltest.LabName(b), kerneltest.LabName(b)
	dir := b.TempDir()
	netlab, rawlab := build(b, dir, "netlab/cmd/netlab"), build(b, dir, "netlab/internal/rawlab")
	b.Cleanup(func() {
		for _, c := range [][]string{{netlab, "down", "--lab", nlName}, {rawlab, "-name", rawName, "down"}} {
			if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
				b.Errorf("clean up: %s: %v\n%s", strings.Join(c, " "), err, out)
			}
		}
	})

	var res Results
	for b.Loop() {
		for _, shape := range shapes {
			for _, n := range sizes {
				lab := Lab{shape, n}
				file := filepath.Join(dir, fmt.Sprintf("%s-%d.yaml", shape, n))
				if err := os.WriteFile(file, []byte(benchlab.File(shape, nlName, n)), 0o644); err != nil {
					b.Fatal(err)
				}
				r := runner{b: b, res: &res, lab: lab}
				raw := func() {
					r.step(RawUp, 0, rawlab, "-shape", string(shape), "-n", fmt.Sprint(n), "-name", rawName, "up")
					r.count(kernel.NetNSDir, rawName, n)
					r.step(RawDown, 0, rawlab, "-name", rawName, "down")
					r.count(kernel.NetNSDir, rawName, 0)
				}
				nl := func() {
					r.step(NetlabUp, 0, netlab, "up", file)
					r.count(kernel.NetNSDir, nlName, n)
					r.step(NoopPlan, 0, netlab, "plan", "--detailed-exitcode", file)
					r.step(NoopUp, 0, netlab, "up", file)
					r.step(Status, 0, netlab, "status", file)
					r.step(NetlabDown, 0, netlab, "down", file)
					r.count(kernel.NetNSDir, nlName, 0)
				}
				for round := 1; round <= *roundsFlag; round++ {
					if round%2 == 1 {
						raw()
						nl()
					} else {
						nl()
						raw()
					}
					fmt.Fprintf(os.Stderr, "labbench: %s-%d round %d/%d: %s\n", shape, n, round, *roundsFlag, r.last())
				}
			}
		}
	}
	table := res.Table()
	fmt.Printf("\nnetlab against the raw-netlink baseline, medians of %d round(s), wall seconds:\n\n%s\n", *roundsFlag, table)
	if *tableFlag != "" {
		if err := os.WriteFile(*tableFlag, []byte(table), 0o644); err != nil {
			b.Errorf("-table: %v", err)
		}
	}
}

// sizesOr is -sizes, or def when it is not given.
func sizesOr(def string) string {
	if *sizesFlag == "" {
		return def
	}
	return *sizesFlag
}

// build compiles a main package of the module into dir and returns the
// binary's path.
func build(b *testing.B, dir, pkg string) string {
	b.Helper()
	out := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, pkg)
	if msg, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build %s: %v\n%s", pkg, err, msg)
	}
	return out
}

// A runner runs and times the steps of one lab.
type runner struct {
	b     *testing.B
	res   *Results
	lab   Lab
	as    func(*exec.Cmd) // when set, prepares each process (another user's credentials)
	round []string        // what the current round measured, for the progress line
}

// step runs one process, fails the benchmark unless it exits with want,
// and records its sample.
func (r *runner) step(st Step, want int, bin string, args ...string) {
	r.b.Helper()
	cmd := exec.Command(bin, args...)
	if r.as != nil {
		r.as(cmd)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		r.b.Fatalf("%s: %v", st, err)
	}
	if code != want {
		r.b.Fatalf("%s: %s %s: exit %d, want %d:\n%s", st, filepath.Base(bin), strings.Join(args, " "), code, want, tail(out.String()))
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	s := Sample{
		Wall:   wall,
		CPU:    time.Duration(ru.Utime.Nano() + ru.Stime.Nano()),
		MaxRSS: ru.Maxrss * 1024, // kilobytes on Linux
	}
	r.res.Add(r.lab, st, s)
	r.round = append(r.round, fmt.Sprintf("%s %s", st, secs(wall)))
}

// count fails the benchmark unless the lab has n namespaces in dir (a
// directory like /run/netns; one that is not there holds none): both
// programs made all of the lab, and a down left none.
func (r *runner) count(dir, lab string, n int) {
	r.b.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		r.b.Fatal(err)
	}
	got := 0
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), lab+".") {
			got++
		}
	}
	if got != n {
		r.b.Fatalf("lab %s has %d namespaces, want %d", lab, got, n)
	}
}

// last returns the round's measurements and starts the next round.
func (r *runner) last() string {
	s := strings.Join(r.round, ", ")
	r.round = nil
	return s
}

// tail is the end of a process's output, enough to say why it failed.
func tail(s string) string {
	const max = 4000
	if len(s) > max {
		return "..." + s[len(s)-max:]
	}
	return s
}
