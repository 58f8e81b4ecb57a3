package kernel

import (
	"errors"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// TestRetryDump checks that a dump the kernel marks as interrupted is read
// again, and that its partial result is never returned.
func TestRetryDump(t *testing.T) {
	t.Parallel()
	// flaky returns a dump that is interrupted k times (with partial data,
	// as netlink returns it) and then complete.
	flaky := func(k int, calls *int) func() ([]string, error) {
		return func() ([]string, error) {
			*calls++
			if *calls <= k {
				return []string{"partial"}, netlink.ErrDumpInterrupted
			}
			return []string{"a", "b"}, nil
		}
	}
	for _, k := range []int{0, 1, 3, dumpRetries - 1} {
		calls := 0
		got, err := retryDump("list links", flaky(k, &calls))
		if err != nil {
			t.Fatalf("interrupted %d times: %v", k, err)
		}
		if len(got) != 2 || got[0] != "a" || got[1] != "b" {
			t.Errorf("interrupted %d times: got %q, want the complete dump [a b]", k, got)
		}
		if calls != k+1 {
			t.Errorf("interrupted %d times: dump called %d times, want %d", k, calls, k+1)
		}
	}

	t.Run("always_interrupted", func(t *testing.T) {
		calls := 0
		got, err := retryDump("list routes", flaky(1<<30, &calls))
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			t.Fatalf("err = %v, want ErrDumpInterrupted", err)
		}
		if got != nil {
			t.Errorf("got %q with the error, want nothing: a partial dump must never be used", got)
		}
		if calls != dumpRetries {
			t.Errorf("dump called %d times, want %d", calls, dumpRetries)
		}
	})

	t.Run("other_error_not_retried", func(t *testing.T) {
		calls := 0
		got, err := retryDump("list addresses", func() ([]string, error) {
			calls++
			return []string{"partial"}, unix.EPERM
		})
		if !errors.Is(err, unix.EPERM) || got != nil || calls != 1 {
			t.Errorf("got %q, %v after %d calls; want nil, EPERM after 1 call", got, err, calls)
		}
	})
}
