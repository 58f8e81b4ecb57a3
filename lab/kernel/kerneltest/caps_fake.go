package kerneltest

import (
	"context"
	"fmt"
	"testing"

	"golang.org/x/sys/unix"

	"netlab/lab/device"
	"netlab/lab/kernel"
	"netlab/lab/state"
)

// Lack makes the fake kernel lack a need, as a kernel built without its
// option does: Lacks reports it, and a link or qdisc that needs it is
// refused (EOPNOTSUPP for a device kind, ENOENT for a qdisc).
func (f *Fake) Lack(need kernel.Need) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lacks == nil {
		f.lacks = make(map[kernel.Need]bool)
	}
	f.lacks[need] = true
}

// Lacks answers from what Lack was told: by default the fake has it all.
func (f *Fake) Lacks(ctx context.Context, needs []kernel.Need) (map[kernel.Need]error, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[kernel.Need]error)
	for _, n := range needs {
		if f.lacks[n] {
			out[n] = fmt.Errorf("%w (%s): fake kernel", kernel.ErrLacking, n.Option())
		}
	}
	return out, nil
}

// lacksLinkLocked refuses a link of a kind the fake lacks.
func (f *Fake) lacksLinkLocked(l *state.Link) error {
	need := kernel.Need(l.Kind)
	if l.Kind == device.VLAN {
		need = kernel.NeedVLAN
	}
	if f.lacks[need] {
		return fmt.Errorf("link %s: add %s: %w", l.Name, l.Kind, unix.EOPNOTSUPP)
	}
	return f.lacksEgressLocked(l)
}

// lacksEgressLocked refuses an impairment whose qdisc the fake lacks.
func (f *Fake) lacksEgressLocked(l *state.Link) error {
	q := l.Egress.Qdisc()
	if q != "" && f.lacks[kernel.Need(q)] {
		return fmt.Errorf("link %s: replace root qdisc %s %s: %w", l.Name, state.EgressHandleText, q, unix.ENOENT)
	}
	return nil
}

// SkipIfLacks skips a real-kernel test when this machine's kernel lacks
// one of needs, naming the kernel option: the test runs where the kernel
// has it.
func SkipIfLacks(t testing.TB, needs ...kernel.Need) {
	t.Helper()
	k := kernel.NewLinux()
	defer k.Close()
	lacks, err := k.Lacks(context.Background(), needs)
	if err != nil {
		t.Fatalf("probe the kernel: %v", err)
	}
	for _, n := range needs {
		if e, ok := lacks[n]; ok {
			t.Skipf("this kernel lacks %s: %v", n, e)
		}
	}
}
