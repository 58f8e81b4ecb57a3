package reconcile

import (
	"context"
	"errors"
	"fmt"

	"netlab/lab/apply"
	"netlab/lab/kernel"
	"netlab/lab/rundir"
)

// DownOptions change how Down runs.
type DownOptions struct {
	// AllowHost lets Down remove the links the lab's host: true node made
	// in the machine's root namespace. Without it, Down refuses a lab
	// that has any (or DeclaresHost), before removing anything.
	AllowHost bool
	// DeclaresHost says the lab's file has a host: true node: Down then
	// refuses without AllowHost even when no such link is left, so that
	// the answer does not depend on how far an up went.
	DeclaresHost bool
	// RunDir, if set, is where the lab's record and source are removed.
	RunDir *rundir.Dir
	// Progress, if set, is called before each namespace is deleted.
	Progress func(i, total int, netns string)
}

// DownResult is what Down removed.
type DownResult struct {
	Deleted     []string // namespaces, sorted
	HostDeleted []string // links in the root namespace (AllowHost only)
	// Stopped are the processes that were running in the lab's
	// namespaces, declared or started by hand, stopped before the
	// namespaces were deleted.
	Stopped []StoppedProcess
	// ForgetErr is why the record or source could not be removed from
	// the run directory; the lab is down all the same.
	ForgetErr error
}

// HostLinksError is Down refusing a lab with a host: true node without
// AllowHost. Nothing was removed.
type HostLinksError struct {
	Lab   string
	Links int // the lab's links in the root namespace now
}

func (e *HostLinksError) Error() string {
	return fmt.Sprintf("lab %s has a host: true node, whose links are in this machine's root namespace (%d now): "+
		"nothing was removed; run down again with --allow-host to remove the lab, those links included "+
		"(netlab removes only the links it marked there)", e.Lab, e.Links)
}

// Down removes everything the lab owns, found in the kernel by netlab's
// marks (not in a file): its namespaces and, with AllowHost, its links in
// the root namespace; then it forgets the lab's record and source.
func Down(ctx context.Context, k kernel.Kernel, lab string, opts DownOptions) (*DownResult, error) {
	hostLinks, err := k.HostLinks(ctx, lab)
	if err != nil {
		return nil, fmt.Errorf("lab %s: %w", lab, err)
	}
	if !opts.AllowHost && (len(hostLinks) > 0 || opts.DeclaresHost) {
		return nil, &HostLinksError{Lab: lab, Links: len(hostLinks)}
	}
	res := &DownResult{}
	if res.Deleted, err = apply.Down(ctx, k, lab, opts.Progress); err != nil {
		return res, fmt.Errorf("lab %s: %w", lab, err)
	}
	if opts.AllowHost {
		if res.HostDeleted, err = apply.DownHost(ctx, k, lab); err != nil {
			return res, fmt.Errorf("lab %s: %w", lab, err)
		}
	}
	if opts.RunDir != nil {
		res.ForgetErr = errors.Join(apply.DeleteRecord(*opts.RunDir, lab), apply.DeleteSource(*opts.RunDir, lab))
	}
	return res, nil
}

// StoppedProcess is one process Down stopped.
type StoppedProcess struct {
	Node    string   `json:"node"`
	Name    string   `json:"name,omitempty"` // "" for a process started by hand
	Pid     int      `json:"pid"`
	Command []string `json:"command"`
	Killed  bool     `json:"killed"` // SIGTERM did not stop it within the grace period: SIGKILL did
}
