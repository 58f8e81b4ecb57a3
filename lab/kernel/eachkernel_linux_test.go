package kernel_test

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
)

// A test written once for both kernels: eachKernel runs it on the fake
// always and, as root, on the real kernel, as the conformance suite does
// its cases, each run with its own lab name. The scenario and the
// assertions are the same; what the fake cannot play (traffic, sockets,
// credentials) a test does only where tk.linux is true.

// testKernel is the kernel a test written once runs on.
type testKernel struct {
	kernel.Kernel
	linux bool // the real kernel, not the fake
}

// eachKernel runs fn as subtest "fake" on a new kerneltest.Fake and, as
// root, as subtest "linux" on a new kernel.Linux, both in parallel.
func eachKernel(t *testing.T, fn func(t *testing.T, tk *testKernel)) {
	t.Helper()
	t.Run("fake", func(t *testing.T) {
		t.Parallel()
		fn(t, &testKernel{Kernel: kerneltest.NewFake()})
	})
	t.Run("linux", func(t *testing.T) {
		kerneltest.RequireRoot(t)
		t.Parallel()
		fn(t, &testKernel{Kernel: newLinux(t), linux: true})
	})
}

// another is a new kernel of the same kind, for a subtest of its own.
func (tk *testKernel) another(t *testing.T) *testKernel {
	if tk.linux {
		return &testKernel{Kernel: newLinux(t), linux: true}
	}
	return &testKernel{Kernel: kerneltest.NewFake()}
}

// hand runs commands a person would type at a shell to change the kernel
// behind netlab's back, one a line, each an ip(8) or bridge(8) command
// ("ip -n NS link set eth0 down"): on the real kernel with iproute2, on
// the fake with Seed, which understands the same lines. A command that
// fails fails the test.
func (tk *testKernel) hand(t *testing.T, lines ...string) {
	t.Helper()
	for _, line := range lines {
		if !tk.linux {
			tk.Kernel.(*kerneltest.Fake).MustSeed(t, line)
			continue
		}
		args := strings.Fields(line)
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v: %s", line, err, out)
		}
	}
}

// tryHand is hand for a command that may fail, such as a change of a
// link that must be gone: it returns the command's error.
func (tk *testKernel) tryHand(line string) error {
	if !tk.linux {
		return tk.Kernel.(*kerneltest.Fake).Seed(line)
	}
	args := strings.Fields(line)
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w: %s", line, err, out)
	}
	return nil
}
