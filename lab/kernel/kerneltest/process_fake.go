package kerneltest

import (
	"context"
	"errors"
	"os"
	"time"

	"netlab/lab/kernel"
	"netlab/lab/state"
)

// Processes and hosts files in memory.
// TODO(issue 14): the fake-side helper fills these in.

func (f *Fake) ProcessStart(ctx context.Context, lab, node string, p *state.Process, log *os.File) (*state.Process, error) {
	return nil, errors.ErrUnsupported
}

func (f *Fake) ProcessExited(p *state.Process) (int, bool) { return 0, false }

func (f *Fake) Processes(ctx context.Context, netns string) ([]kernel.ProcessInfo, error) {
	return nil, nil
}

func (f *Fake) ProcessesStop(ctx context.Context, netns string, procs []kernel.ProcessInfo, grace time.Duration) ([]kernel.ProcessInfo, error) {
	return nil, errors.ErrUnsupported
}

func (f *Fake) Listening(ctx context.Context, netns, proto string, port uint16) (bool, error) {
	return false, errors.ErrUnsupported
}

func (f *Fake) HostsSet(ctx context.Context, netns, content string) error {
	return errors.ErrUnsupported
}

func (f *Fake) HostsFiles(ctx context.Context, lab string) ([]string, error) { return nil, nil }
