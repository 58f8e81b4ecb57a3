package kernel

import (
	"context"
	"errors"
	"os"
	"time"

	"netlab/lab/state"
)

// Processes in a node: started through the launcher, found in /proc by
// their network namespace and marker, stopped with pidfds.
// TODO(issue 14): the kernel-side helper fills these in.

func (k *Linux) ProcessStart(ctx context.Context, lab, node string, p *state.Process, log *os.File) (*state.Process, error) {
	return nil, errors.ErrUnsupported
}

func (k *Linux) ProcessExited(p *state.Process) (int, bool) { return 0, false }

func (k *Linux) Processes(ctx context.Context, netns string) ([]ProcessInfo, error) {
	return nil, nil
}

func (k *Linux) ProcessesStop(ctx context.Context, netns string, procs []ProcessInfo, grace time.Duration) ([]ProcessInfo, error) {
	return nil, errors.ErrUnsupported
}

func (k *Linux) Listening(ctx context.Context, netns, proto string, port uint16) (bool, error) {
	return false, errors.ErrUnsupported
}

func (k *Linux) HostsSet(ctx context.Context, netns, content string) error {
	return errors.ErrUnsupported
}

func (k *Linux) HostsFiles(ctx context.Context, lab string) ([]string, error) { return nil, nil }
