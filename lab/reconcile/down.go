package reconcile

import (
	"context"
	"errors"
	"fmt"
	"time"

	"netlab/lab/apply"
	"netlab/lab/kernel"
	"netlab/lab/name"
	"netlab/lab/rundir"
	"netlab/lab/state"
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
	// Grace is how long the lab's processes are given between SIGTERM
	// and SIGKILL; 0 means apply.DefaultGrace.
	Grace time.Duration
}

// DownResult is what Down removed.
type DownResult struct {
	Deleted     []string // namespaces, sorted
	HostDeleted []string // links in the root namespace (AllowHost only)
	// Stopped are the processes that were running in the lab's
	// namespaces, declared or started by hand, stopped before the
	// namespaces were deleted.
	Stopped []StoppedProcess
	// ForgetErr is why the record, source, process logs or exits record
	// could not be removed from the run directory (or the started record); the lab is down all
	// the same.
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
// marks (not in a file): it stops every process in the lab's namespaces,
// removes its hosts files, deletes its namespaces (apply.DownAll) and,
// with AllowHost, its links in the root namespace; then it forgets the
// lab's record, source, process logs and exits, and the probe lock file
// a killed netlab left. Each step is finished
// before the next, so that a down killed anywhere is finished by the
// next down, and an up after it makes the lab again.
func Down(ctx context.Context, k kernel.Kernel, lab string, opts DownOptions) (*DownResult, error) {
	hostLinks, err := k.HostLinks(ctx, lab)
	if err != nil {
		return nil, fmt.Errorf("lab %s: %w", lab, err)
	}
	if !opts.AllowHost && (len(hostLinks) > 0 || opts.DeclaresHost) {
		return nil, &HostLinksError{Lab: lab, Links: len(hostLinks)}
	}
	res := &DownResult{}
	var started []apply.StartedProc
	if opts.RunDir != nil {
		started = apply.LoadStarted(*opts.RunDir, lab)
	}
	down, err := apply.DownAll(ctx, k, lab, apply.DownOptions{Progress: opts.Progress, Grace: opts.Grace})
	res.Deleted = down.Deleted
	for _, p := range down.Stopped {
		res.Stopped = append(res.Stopped, stoppedProcess(lab, p, started))
	}
	if err != nil {
		return res, fmt.Errorf("lab %s: %w", lab, err)
	}
	if opts.AllowHost {
		if res.HostDeleted, err = apply.DownHost(ctx, k, lab); err != nil {
			return res, fmt.Errorf("lab %s: %w", lab, err)
		}
	}
	if opts.RunDir != nil {
		res.ForgetErr = errors.Join(apply.DeleteRecord(*opts.RunDir, lab), apply.DeleteSource(*opts.RunDir, lab),
			removeLogs(*opts.RunDir, lab), apply.DeleteExits(*opts.RunDir, lab), apply.DeleteStarted(*opts.RunDir, lab), apply.SaveRestarting(*opts.RunDir, lab, nil),
			apply.DeleteMachine(*opts.RunDir, lab),
			removeProbeLock(*opts.RunDir, lab))
	}
	return res, nil
}

// removeLogs removes the lab's process logs from the run directory.
func removeLogs(dir rundir.Dir, lab string) error {
	n, err := name.Parse("lab", lab)
	if err != nil {
		return err
	}
	// A run directory that cannot keep logs (ErrUnsupported) has none
	// to remove.
	if err := dir.RemoveLogs(n); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		return err
	}
	return nil
}

// removeProbeLock removes the probe lock file that a netlab killed while
// probing left (rundir.Dir.RemoveProbeLock).
func removeProbeLock(dir rundir.Dir, lab string) error {
	n, err := name.Parse("lab", lab)
	if err != nil {
		return err
	}
	return dir.RemoveProbeLock(n)
}

// stoppedProcess is a process DownAll stopped, as Down reports it: its
// node from its namespace, its name from its marker when it carries the
// lab's marker of that node (a declared process, or a child of one), or
// from the started record when it is the process an up started there
// (one that set its own title has no marker).
func stoppedProcess(lab string, p apply.Stopped, started []apply.StartedProc) StoppedProcess {
	_, node, _ := state.SplitNetNSName(p.NetNS)
	sp := StoppedProcess{Node: node, Pid: p.Pid, Command: p.Command, Killed: p.Killed}
	if mlab, mnode, proc, _, ok := state.ParseProcessMarker(p.Marker); ok && mlab == lab && mnode == node {
		sp.Name = proc
	}
	for _, e := range started {
		if sp.Name == "" && e.Node == node && e.Pid == p.Pid && e.Start == p.Start {
			sp.Name = e.Name
		}
	}
	return sp
}

// StoppedProcess is one process Down stopped.
type StoppedProcess struct {
	Node    string   `json:"node"`
	Name    string   `json:"name,omitempty"` // "" for a process started by hand
	Pid     int      `json:"pid"`
	Command []string `json:"command"`
	Killed  bool     `json:"killed"` // SIGTERM did not stop it within the grace period: SIGKILL did
}
