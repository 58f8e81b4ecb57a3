package apply_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/rundir"
)

// The tests that go up, change a lab by hand and go up again are written
// once and run on two kernels: always on the fake (kerneltest.Fake), and,
// as root, on the real one. Each gets an env: the kernel, and the few
// things a test does beside netlab, as a person at a shell would (ip
// commands, a look at /run/netns), done with ip(8) on the real kernel and
// with the fake's Seed on the fake. The scenario and its assertions are
// the same on both, so a difference between the fake and the kernel
// fails one of the two.

// env is one kernel a dual test runs on.
type env struct {
	k kernel.Kernel // a *kerneltest.Fake, or a *kernel.Linux
	// runDir is where locks are taken: netlab's own on the real kernel,
	// a directory of the test's on the fake (a user may not write
	// /run/netlab).
	runDir rundir.Dir
}

// onBoth runs fn on the fake and, as root, on the real kernel, each as a
// parallel subtest.
func onBoth(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Helper()
	t.Run("fake", func(t *testing.T) {
		t.Parallel()
		fn(t, &env{k: kerneltest.NewFake(), runDir: rundir.At(t.TempDir())})
	})
	t.Run("linux", func(t *testing.T) {
		kerneltest.RequireRoot(t)
		t.Parallel()
		fn(t, &env{k: realKernel(t), runDir: rundir.At(rundir.Default)})
	})
}

// newKernel is one more kernel onto the same machine, as another netlab
// process would open: a new kernel.Linux, or the same fake.
func (e *env) newKernel() kernel.Kernel {
	if _, ok := e.k.(*kerneltest.Fake); ok {
		return nopClose{e.k}
	}
	return kernel.NewLinux()
}

// nopClose is a kernel whose Close leaves the kernel under it open.
type nopClose struct{ kernel.Kernel }

func (nopClose) Close() error { return nil }

// ip runs an ip(8) command by hand: ip itself on the real kernel, the
// fake's interpreter of it on the fake.
func (e *env) ip(t *testing.T, args ...string) {
	t.Helper()
	if f, ok := e.k.(*kerneltest.Fake); ok {
		f.MustSeed(t, "ip "+strings.Join(args, " "))
		return
	}
	realIP(t, args...)
}

// sysctl sets a sysctl in a namespace by hand.
func (e *env) sysctl(t *testing.T, netns, key, value string) {
	t.Helper()
	if f, ok := e.k.(*kerneltest.Fake); ok {
		f.MustSeed(t, "ip netns exec "+netns+" sysctl -w "+key+"="+value)
		return
	}
	path := "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
	out, err := exec.Command("ip", "netns", "exec", netns, "sh", "-c", "echo "+value+" > "+path).CombinedOutput()
	if err != nil {
		t.Fatalf("set %s by hand: %v: %s", key, err, out)
	}
}

// stub leaves what an interrupted namespace create leaves: the empty
// file the namespace is bind-mounted over.
func (e *env) stub(t *testing.T, netns string) {
	t.Helper()
	if f, ok := e.k.(*kerneltest.Fake); ok {
		f.MustSeed(t, "touch "+filepath.Join(kernel.NetNSDir, netns))
		return
	}
	stub(t, netns)
}

// netns lists the names in /run/netns that start with LAB., namespaces
// and stubs alike, sorted.
func (e *env) netns(t *testing.T, lab string) []string {
	t.Helper()
	if _, ok := e.k.(*kerneltest.Fake); !ok {
		return realNetNS(t, lab)
	}
	list, err := e.k.NetNSList(context.Background(), lab)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ns := range list {
		out = append(out, ns.Name)
	}
	sort.Strings(out)
	return out
}

// netnsExists says whether /run/netns holds the name, as a namespace or a
// stub.
func (e *env) netnsExists(t *testing.T, netns string) bool {
	t.Helper()
	if _, ok := e.k.(*kerneltest.Fake); !ok {
		_, err := os.Lstat(filepath.Join(kernel.NetNSDir, netns))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		return err == nil
	}
	lab, _, _ := strings.Cut(netns, ".")
	return slices.Contains(e.netns(t, lab), netns)
}

// linkGone waits until a link is gone from a namespace: the real kernel
// frees a deleted namespace, and the peers of its veths, in the
// background.
func (e *env) linkGone(t *testing.T, netns, link string) {
	t.Helper()
	if _, ok := e.k.(*kerneltest.Fake); !ok {
		realWaitLinkGone(t, netns, link)
		return
	}
	if e.hasLink(t, netns, link) {
		t.Fatalf("link %s in %s is still there", link, netns)
	}
}

// hasLink says whether a namespace has a link of that name, netlab's or
// not: ip link show on the real kernel, the fake's contents on the fake.
func (e *env) hasLink(t *testing.T, netns, link string) bool {
	t.Helper()
	if f, ok := e.k.(*kerneltest.Fake); ok {
		for line := range strings.Lines(f.String()) {
			if strings.HasPrefix(line, "ip -n "+netns+" link add "+link+" ") {
				return true
			}
		}
		return false
	}
	return exec.Command("ip", "-n", netns, "link", "show", link).Run() == nil
}

// routes is what ip route show TO prints in a namespace, one route a line
// as ip(8) writes it (on the fake: as String writes it, after "route
// add").
func (e *env) routes(t *testing.T, netns string, to string) string {
	t.Helper()
	f, ok := e.k.(*kerneltest.Fake)
	if !ok {
		return realIP(t, "-n", netns, "route", "show", to)
	}
	var b strings.Builder
	for line := range strings.Lines(f.String()) {
		for _, verb := range []string{" route add ", " route replace "} {
			if rest, ok := strings.CutPrefix(line, "ip -n "+netns+verb); ok && strings.HasPrefix(rest, to+" ") {
				b.WriteString(rest)
			}
		}
	}
	return b.String()
}
