package apply

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"netlab/lab/kernel"
	"netlab/lab/plan"
	"netlab/lab/state"
)

// DefaultGrace is how long a process is given to end after SIGTERM before
// SIGKILL, when the options give no grace.
const DefaultGrace = 3 * time.Second

// Started is a process an apply started: its node and the process as the
// kernel started it (pid and start time set; Ready the desired one's).
type Started struct {
	Node string
	Proc *state.Process
}

func (o Options) grace() time.Duration {
	if o.Grace > 0 {
		return o.Grace
	}
	return DefaultGrace
}

// startProcess starts a declared process, its output going to the log
// that OpenLog opens (the null device without one).
func startProcess(ctx context.Context, k kernel.Kernel, lab string, c *plan.Change, opts Options) (*Started, error) {
	var log *os.File
	var err error
	if opts.OpenLog != nil {
		log, err = opts.OpenLog(c.Node, c.Name)
	} else {
		log, err = os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	}
	if err != nil {
		return nil, fmt.Errorf("open the log: %w", err)
	}
	defer log.Close()
	p, err := k.ProcessStart(ctx, lab, c.Node, c.Proc, log)
	if err != nil {
		return nil, err
	}
	started := *p
	started.Ready = c.Proc.Ready
	if started.Display == "" {
		started.Display = c.Proc.Display
	}
	return &Started{Node: c.Node, Proc: &started}, nil
}

// stopProcess stops, for a replace or delete, every process in the
// node's namespace that carries the marker of the node's process of that
// name, whatever its hash (it and the children it forked), the observed
// process itself, which has none when it set its own title (Adopt), and
// every process that descends from one of those; for a process started by
// hand, that process alone, if it is still the one observed. One already
// gone is no error.
func stopProcess(ctx context.Context, k kernel.Kernel, lab string, c *plan.Change, opts Options) error {
	self := func(p kernel.ProcessInfo) bool { return p.Pid == c.OldProc.Pid && p.Start == c.OldProc.Start }
	if c.OldProc.Name == "" {
		_, err := stopAll(ctx, k, c.NetNS, opts.grace(), false, self)
		return err
	}
	_, err := stopAll(ctx, k, c.NetNS, opts.grace(), true, func(p kernel.ProcessInfo) bool {
		mlab, mnode, name, _, ok := state.ParseProcessMarker(p.Marker)
		return ok && mlab == lab && mnode == c.Node && name == c.Name || self(p)
	})
	return err
}

// stopRounds bounds how many times stopAll looks again for processes
// that started while it stopped the ones it had found.
const stopRounds = 5

// stopAll stops the processes of netns that match (with descendants,
// also every process that descends from one that does), and looks again
// until none is left: a process may start another while it is being
// stopped (a child forked in the grace period, a daemon that hands over
// on SIGTERM), which one list taken before the signals would miss, and
// which would then run on under an old marker, or hold a namespace whose
// name is gone. It returns the processes it stopped.
func stopAll(ctx context.Context, k kernel.Kernel, netns string, grace time.Duration, descendants bool, match func(kernel.ProcessInfo) bool) ([]kernel.ProcessInfo, error) {
	var stopped []kernel.ProcessInfo
	for range stopRounds {
		procs, err := k.Processes(ctx, netns)
		if err != nil {
			return stopped, fmt.Errorf("list its processes: %w", err)
		}
		roots := make(map[int]bool)
		parents := make(map[int]int, len(procs))
		for _, p := range procs {
			parents[p.Pid] = p.PPid
			if match(p) {
				roots[p.Pid] = true
			}
		}
		procs = slices.DeleteFunc(procs, func(p kernel.ProcessInfo) bool {
			return !roots[p.Pid] && !(descendants && kernel.Descends(p.Pid, parents, roots))
		})
		if len(procs) == 0 {
			return stopped, nil
		}
		done, err := k.ProcessesStop(ctx, netns, procs, grace)
		stopped = append(stopped, done...)
		if err != nil {
			return stopped, fmt.Errorf("stop its processes: %w", err)
		}
	}
	return stopped, fmt.Errorf("stop its processes: new ones still start after %d rounds of SIGTERM and SIGKILL", stopRounds)
}

// clearNetNS empties a namespace that is to be deleted: it stops every
// process in it, declared or started by hand, so that none holds the
// namespace once its name is gone, and removes its hosts file. It returns
// the processes it stopped.
func clearNetNS(ctx context.Context, k kernel.Kernel, netns string, grace time.Duration) ([]kernel.ProcessInfo, error) {
	stopped, err := stopAll(ctx, k, netns, grace, false, func(kernel.ProcessInfo) bool { return true })
	if err != nil {
		return stopped, err
	}
	// A hosts file that netlab did not write stays where it is, and
	// holds no namespace.
	if err := k.HostsSet(ctx, netns, ""); err != nil && !errors.As(err, new(*kernel.ForeignError)) {
		return stopped, fmt.Errorf("remove its hosts file: %w", err)
	}
	return stopped, nil
}
