// Package apply carries out a plan through a kernel.Kernel, one change at
// a time in plan order, then reads the kernel again to prove the result.
// Every change is idempotent, so a run that stopped half-way (killed,
// refused by the kernel) is finished by the next up, or undone by down.
// Callers go through lab/reconcile, which runs these steps in the one
// order netlab allows.
package apply

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"netlab/lab/device"
	"netlab/lab/kernel"
	"netlab/lab/plan"
	"netlab/lab/state"
)

// Options change how Apply runs.
type Options struct {
	// Progress, if set, is called before each change with its 1-based
	// number and the total.
	Progress func(i, total int, c *plan.Change)
	// AfterChange, if set, is called after each change that succeeded,
	// with its 1-based number. Fault tests use it to kill netlab between
	// two changes.
	AfterChange func(i int)
	// Started, if set, is called with each process as soon as it is
	// started (up keeps it in the started record: StartedRecord).
	Started func(Started)
	// OpenLog, if set, opens a new log for a process that is started
	// (the run directory's, see rundir.Dir.OpenLog); without it the
	// process's output goes to the null device.
	OpenLog func(node, proc string) (*os.File, error)
	// Grace is how long a stopped process is given between SIGTERM and
	// SIGKILL; 0 means DefaultGrace.
	Grace time.Duration
}

// Result is what an apply did.
type Result struct {
	Applied int // changes carried out
	// Started are the processes it started, in plan order, also when it
	// failed later: up waits for them to be ready.
	Started []Started
}

// Apply carries out p's changes in order. It stops at the first error and
// returns it with the change that failed; what was done stays done, and the
// next up or down finishes from there. A run of changes that touch
// nothing of each other (together: namespaces made, hosts files written)
// goes to a kernel that is Concurrent on several goroutines at once.
func Apply(ctx context.Context, k kernel.Kernel, p *plan.Plan, opts Options) (*Result, error) {
	res := &Result{}
	if len(p.Conflicts) > 0 {
		return res, &ConflictError{Lab: p.Lab, Conflicts: p.Conflicts}
	}
	workers := 1
	if ck, ok := k.(kernel.Concurrent); ok {
		workers = max(ck.ApplyWorkers(), 1)
	}
	late := &lateBridges{}
	var ahead *hostsAhead
	defer func() { ahead.wait() }() // on every return: no file is written after Apply
	for i := 0; i < len(p.Changes); {
		c := p.Changes[i]
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if ahead == nil && workers > 1 && c.Phase() > plan.PhaseNetNS {
			ahead = startHostsAhead(ctx, k, p, i, workers)
		}
		if ahead != nil && i == ahead.from {
			if err := ahead.finish(opts, res); err != nil {
				return res, err
			}
			i = ahead.to
			continue
		}
		if c.Phase() >= plan.PhaseUpperLinks {
			if err := late.bringUp(ctx, k); err != nil {
				return res, err
			}
		}
		if run := togetherRun(p.Changes[i:]); workers > 1 && run > 1 {
			if err := applyTogether(ctx, k, p, i, i+run, workers, opts, res); err != nil {
				return res, err
			}
			i += run
			continue
		}
		if opts.Progress != nil {
			opts.Progress(i+1, len(p.Changes), c)
		}
		started, err := late.one(ctx, k, p.Lab, c, opts)
		if started != nil {
			res.Started = append(res.Started, *started)
			if opts.Started != nil {
				opts.Started(*started)
			}
		}
		if err != nil {
			return res, &ChangeError{Change: c, Err: err}
		}
		res.Applied++
		if opts.AfterChange != nil {
			opts.AfterChange(i + 1)
		}
		i++
	}
	if err := late.bringUp(ctx, k); err != nil {
		return res, err
	}
	return res, nil
}

// together reports whether c touches nothing that another change of its
// kind touches, so that a run of them may be carried out at once: a
// namespace made (each its own), a hosts file written (each its own file).
func together(c *plan.Change) bool {
	return c.Object == plan.NetNS && c.Action == plan.Create || c.Object == plan.Hosts
}

// togetherRun is how many changes at the start of cs are one run of
// together changes of one kind.
func togetherRun(cs []*plan.Change) int {
	n := 0
	for n < len(cs) && together(cs[n]) && cs[n].Object == cs[0].Object {
		n++
	}
	return n
}

// applyTogether carries out p.Changes[from:to], a togetherRun, with up to
// workers of them at once, in a window that slides over the run.
// Progress is called as each starts and AfterChange as each prefix of
// the run is done, both from this goroutine and in plan order, as for
// changes made one by one. At the first failure
// no further change starts; those under way finish, and the failure that
// comes first in plan order is returned.
func applyTogether(ctx context.Context, k kernel.Kernel, p *plan.Plan, from, to, workers int, opts Options, res *Result) error {
	type outcome struct {
		i   int
		err error
	}
	outcomes := make(chan outcome, to-from)
	succeeded := make([]bool, to-from)
	next, running, reported := from, 0, from
	failed, failure := -1, error(nil)
	for {
		// A window, not a pool: a change starts only within workers of
		// the first one not yet done, so that when AfterChange(i) is
		// called, fewer than workers changes after i are done or under
		// way (a fault test that kills netlab there knows what is left).
		if failed < 0 && next < to && next-reported < workers && ctx.Err() == nil {
			c := p.Changes[next]
			if opts.Progress != nil {
				opts.Progress(next+1, len(p.Changes), c)
			}
			go func(i int) {
				_, err := One(ctx, k, p.Lab, c, opts) // never a process: no Started
				outcomes <- outcome{i, err}
			}(next)
			next++
			running++
			continue
		}
		if running == 0 {
			break
		}
		o := <-outcomes
		running--
		if o.err != nil {
			if failed < 0 || o.i < failed {
				failed, failure = o.i, o.err
			}
			continue
		}
		res.Applied++
		succeeded[o.i-from] = true
		for reported < next && succeeded[reported-from] {
			reported++
			if opts.AfterChange != nil {
				opts.AfterChange(reported)
			}
		}
	}
	if failed >= 0 {
		return &ChangeError{Change: p.Changes[failed], Err: failure}
	}
	if next < to {
		return ctx.Err() // cancelled before the run's end was started
	}
	return nil
}

// hostsAhead is the plan's run of hosts files written while the kernel
// changes before it are made. A hosts file is a file under /etc/netns,
// which touches nothing of the kernel's network, and every node's lists
// every node: at 1000 nodes that is 1000 files of 1000 lines, 0.2-0.4 s
// that needs no wait for the links, addresses and routes (1-2 s). It
// starts once the plan's namespaces are made, as a file is written only
// for a node whose namespace exists (so down, which finds a lab by its
// namespaces, finds its files too).
//
// Progress and AfterChange still come in plan order: when Apply reaches
// the run, it waits for the writes and reports them. A netlab killed
// before then may have written some of the files, or all: the next plan
// has those fewer to write.
type hostsAhead struct {
	from, to int // the run, p.Changes[from:to]
	p        *plan.Plan
	done     chan struct{}
	res      Result // what the writes did: Applied
	err      error  // the first failure in plan order, a *ChangeError
}

// startHostsAhead starts the writes of the plan's run of hosts files
// after p.Changes[at], if there is one; nil if not.
func startHostsAhead(ctx context.Context, k kernel.Kernel, p *plan.Plan, at, workers int) *hostsAhead {
	from := at
	for from < len(p.Changes) && !(p.Changes[from].Object == plan.Hosts && p.Changes[from].Phase() == plan.PhaseHosts) {
		from++
	}
	run := togetherRun(p.Changes[from:])
	if from == at || run < 2 {
		return nil // none, or next: made together in turn
	}
	a := &hostsAhead{from: from, to: from + run, p: p, done: make(chan struct{})}
	go func() {
		defer close(a.done)
		// No Progress nor AfterChange: finish reports them in order.
		a.err = applyTogether(ctx, k, p, a.from, a.to, workers, Options{}, &a.res)
	}()
	return a
}

// wait waits for the writes to end (at once once they have: done is
// closed).
func (a *hostsAhead) wait() {
	if a != nil {
		<-a.done
	}
}

// finish waits for the writes and reports them as Apply does a change
// made in turn: Progress and AfterChange for each done, in plan order, up
// to the first failure, which it returns.
func (a *hostsAhead) finish(opts Options, res *Result) error {
	a.wait()
	res.Applied += a.res.Applied
	stop := a.to // the changes before it are done
	var ce *ChangeError
	switch {
	case errors.As(a.err, &ce):
		stop = slices.Index(a.p.Changes, ce.Change)
	case a.err != nil:
		stop = a.from + a.res.Applied // cancelled: those started are done
	}
	if stop < a.from {
		return a.err
	}
	for i := a.from; i < stop; i++ {
		if opts.Progress != nil {
			opts.Progress(i+1, len(a.p.Changes), a.p.Changes[i])
		}
		if opts.AfterChange != nil {
			opts.AfterChange(i + 1)
		}
	}
	if ce != nil && opts.Progress != nil {
		opts.Progress(stop+1, len(a.p.Changes), a.p.Changes[stop])
	}
	return a.err
}

// lateBridges are the bridges a plan makes, which Apply makes down and
// brings up only once the plan's other links are made and enslaved (before
// the macvlans and vxlans, which may sit on them). The kernel does work
// for every port of a bridge that is up each time a port joins it or
// comes up, so ports joining an up bridge cost more the more it has:
// 1000 veth ports enslaved to an up bridge took 52 s, to a down one
// brought up after them 2.2 s. A netlab killed in between leaves a bridge
// down, which the next up sees and brings up.
type lateBridges struct {
	down []*plan.Change // made down by this Apply, not yet brought up
}

// one is One, but a bridge to be made up is made down, and remembered.
func (lb *lateBridges) one(ctx context.Context, k kernel.Kernel, lab string, c *plan.Change, opts Options) (*Started, error) {
	if c.Object != plan.Link || c.Action != plan.Create || c.Link == nil || c.Link.Kind != device.Bridge || !c.Link.Up {
		return One(ctx, k, lab, c, opts)
	}
	down := *c.Link
	down.Up = false
	if err := k.LinkAdd(ctx, c.NetNS, &down, c.PeerNS, c.PeerLink); err != nil {
		return nil, err
	}
	lb.down = append(lb.down, c)
	return nil, nil
}

// bringUp brings up the bridges made down so far.
func (lb *lateBridges) bringUp(ctx context.Context, k kernel.Kernel) error {
	for len(lb.down) > 0 {
		c := lb.down[0]
		if err := k.LinkSet(ctx, c.NetNS, c.Link, []state.LinkAttr{state.AttrUp}); err != nil {
			return &ChangeError{Change: c, Err: fmt.Errorf("bring the bridge up after its ports: %w", err)}
		}
		lb.down = lb.down[1:]
	}
	return nil
}

// ConflictError is Apply refusing to start: objects netlab does not own
// are where the lab wants its own. Nothing was changed.
type ConflictError struct {
	Lab       string
	Conflicts []plan.Conflict
}

func (e *ConflictError) Error() string {
	msgs := make([]string, len(e.Conflicts))
	for i, c := range e.Conflicts {
		msgs[i] = c.Error()
	}
	return fmt.Sprintf("lab %s: nothing was changed, because objects netlab does not own are in the way: %s", e.Lab, strings.Join(msgs, "; "))
}

// Unwrap returns the conflicts, for errors.As.
func (e *ConflictError) Unwrap() []error {
	errs := make([]error, len(e.Conflicts))
	for i, c := range e.Conflicts {
		errs[i] = c
	}
	return errs
}

// ChangeError is a change the kernel refused.
type ChangeError struct {
	Change *plan.Change
	Err    error
}

func (e *ChangeError) Error() string {
	return fmt.Sprintf("node %s: %s %s: %v", e.Change.Node, e.Change.Action, e.Change.Describe(), e.Err)
}

func (e *ChangeError) Unwrap() error { return e.Err }

// One carries out a single change. It returns the process it started,
// for a process create.
func One(ctx context.Context, k kernel.Kernel, lab string, c *plan.Change, opts Options) (*Started, error) {
	if c.Object == plan.Process && c.Action == plan.Create {
		return startProcess(ctx, k, lab, c, opts)
	}
	return nil, one(ctx, k, lab, c, opts)
}

func one(ctx context.Context, k kernel.Kernel, lab string, c *plan.Change, opts Options) error {
	switch c.Object {
	case plan.NetNS:
		if c.Action == plan.Delete {
			// Nothing may hold the namespace once its name is gone:
			// every process in it is stopped first, even those the plan
			// does not know (started since it was made).
			if _, err := clearNetNS(ctx, k, c.NetNS, opts.grace()); err != nil {
				return err
			}
			return k.NetNSDel(ctx, c.NetNS)
		}
		return k.NetNSAdd(ctx, lab, c.Node)
	case plan.Process:
		return stopProcess(ctx, k, lab, c, opts)
	case plan.Hosts:
		if c.Action == plan.Delete {
			return k.HostsSet(ctx, c.NetNS, "")
		}
		return k.HostsSet(ctx, c.NetNS, c.Hosts)
	case plan.Link:
		switch c.Action {
		case plan.Create:
			return k.LinkAdd(ctx, c.NetNS, c.Link, c.PeerNS, c.PeerLink)
		case plan.Update:
			return k.LinkSet(ctx, c.NetNS, c.Link, c.LinkAttrs())
		default:
			return k.LinkDel(ctx, c.NetNS, c.Name)
		}
	case plan.Addr:
		if c.Action == plan.Delete {
			return k.AddrDel(ctx, c.NetNS, c.LinkName, c.Prefix)
		}
		return k.AddrAdd(ctx, c.NetNS, c.LinkName, c.Prefix)
	case plan.Route:
		if c.Action == plan.Delete {
			return k.RouteDel(ctx, c.NetNS, c.OldRoute)
		}
		return k.RouteReplace(ctx, c.NetNS, c.Route)
	case plan.Rule:
		if c.Action == plan.Delete {
			return k.RuleDel(ctx, c.NetNS, c.OldRule)
		}
		return k.RuleAdd(ctx, c.NetNS, c.Rule)
	case plan.Sysctl:
		return k.SysctlSet(ctx, c.NetNS, c.Name, c.Value)
	case plan.NFTables:
		if c.Action == plan.Delete {
			return k.NFTableSet(ctx, c.NetNS, nil)
		}
		return k.NFTableSet(ctx, c.NetNS, c.NFT)
	}
	return fmt.Errorf("unknown object %q", c.Object)
}

// Verify reads the kernel again (Observe, adopting the processes of
// started) and diffs it against desired: the lab is up only when nothing
// is left to do. The error names each object and attribute that still
// differs.
func Verify(ctx context.Context, k kernel.Kernel, desired *state.State, started []StartedProc, opts plan.Options) error {
	observed, err := Observe(ctx, k, desired.Lab, desired, started)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	opts.LastApplied = nil
	p := plan.Diff(desired, observed, opts)
	if p.Empty() && len(p.Conflicts) == 0 {
		return nil
	}
	var lines []string
	for _, c := range p.Changes {
		if c.Action == plan.Create && c.Replacing() {
			continue
		}
		lines = append(lines, fmt.Sprintf("node %s: %s %s", c.Node, c.Action.Symbol(), c.Describe()))
	}
	for _, c := range p.Conflicts {
		lines = append(lines, c.Error())
	}
	return fmt.Errorf("verify: the kernel still differs from the lab after up: %s", strings.Join(lines, "; "))
}

// downParallel is how many namespaces Down deletes at once. Unmounting a
// namespace waits for an RCU grace period; overlapping them saves most of
// that wait.
const downParallel = 8

// DownOptions change how DownAll runs.
type DownOptions struct {
	// Progress, if set, is called before each namespace is deleted.
	Progress func(i, total int, netns string)
	// Grace is how long the processes are given between SIGTERM and
	// SIGKILL; 0 means DefaultGrace.
	Grace time.Duration
}

// Stopped is a process DownAll stopped, in the namespace NetNS.
type Stopped struct {
	NetNS string
	kernel.ProcessInfo
}

// DownResult is what DownAll removed.
type DownResult struct {
	Deleted []string  // namespaces, sorted
	Stopped []Stopped // by namespace, then pid
}

// Down is DownAll with only a progress callback.
func Down(ctx context.Context, k kernel.Kernel, lab string, progress func(i, total int, netns string)) (deleted []string, err error) {
	res, err := DownAll(ctx, k, lab, DownOptions{Progress: progress})
	return res.Deleted, err
}

// DownAll removes every namespace of the lab that carries netlab's
// marker, found in the kernel, not in a file: it works after the file
// changed or was lost, and after a half-finished up. Namespaces of the
// lab's name without the marker are left alone. It goes in three steps,
// each finished before the next, so that a down killed at any point
// leaves what the next one finishes: it stops every process in those
// namespaces (all at once, in one grace period), declared or started by
// hand, so that none is left holding a namespace; then it removes the
// lab's hosts files, those of namespaces already gone too, while it
// deletes the namespaces. Independent steps all run; their errors are
// joined.
func DownAll(ctx context.Context, k kernel.Kernel, lab string, opts DownOptions) (*DownResult, error) {
	res := &DownResult{}
	list, err := k.NetNSList(ctx, lab)
	if err != nil {
		return res, err
	}
	var todo []kernel.NetNSInfo
	for _, ns := range list {
		if ns.Marked || ns.Stub {
			todo = append(todo, ns)
		}
	}
	grace := opts.Grace
	if grace <= 0 {
		grace = DefaultGrace
	}
	var (
		mu   sync.Mutex
		errs []error
	)
	// each runs fn on every namespace, on parallel workers that take
	// them in order, calling before (if set) as each starts.
	each := func(nss []kernel.NetNSInfo, parallel int, before func(i int, ns kernel.NetNSInfo), fn func(ns kernel.NetNSInfo) error) {
		var (
			wg     sync.WaitGroup
			nextMu sync.Mutex
			next   int
		)
		for range min(parallel, len(nss)) {
			wg.Go(func() {
				for {
					nextMu.Lock()
					i := next
					next++
					if i < len(nss) && before != nil {
						before(i, nss[i])
					}
					nextMu.Unlock()
					if i >= len(nss) {
						return
					}
					if err := fn(nss[i]); err != nil {
						mu.Lock()
						errs = append(errs, fmt.Errorf("node %s: %w", nss[i].Node, err))
						mu.Unlock()
					}
				}
			})
		}
		wg.Wait()
	}
	var marked []kernel.NetNSInfo
	for _, ns := range todo {
		if !ns.Stub {
			marked = append(marked, ns)
		}
	}
	// One pass over /proc finds the namespaces that run anything; only
	// those are stopped, each listed again as it is (a lab of a thousand
	// nodes has few that do).
	running, err := k.LabProcesses(ctx, lab)
	if err != nil {
		return res, err
	}
	marked = slices.DeleteFunc(marked, func(ns kernel.NetNSInfo) bool { return len(running[ns.Name]) == 0 })
	// Every namespace at once, so that their grace periods overlap.
	each(marked, len(marked)+1, nil, func(ns kernel.NetNSInfo) error {
		stopped, err := stopAll(ctx, k, ns.Name, grace, false, func(kernel.ProcessInfo) bool { return true })
		mu.Lock()
		for _, p := range stopped {
			res.Stopped = append(res.Stopped, Stopped{NetNS: ns.Name, ProcessInfo: p})
		}
		mu.Unlock()
		return err
	})
	sort.Slice(res.Stopped, func(i, j int) bool {
		a, b := res.Stopped[i], res.Stopped[j]
		return a.NetNS < b.NetNS || a.NetNS == b.NetNS && a.Pid < b.Pid
	})
	if len(errs) > 0 {
		// A namespace whose processes could not all be stopped would
		// linger, held by them, once its name is gone: stop here.
		return res, errors.Join(errs...)
	}
	// The hosts files and the namespaces go at once: neither needs the
	// other gone, and a down killed amid them leaves what the next one
	// finds, hosts files by their directory, namespaces by their marker.
	var files sync.WaitGroup
	files.Go(func() {
		hosts, err := k.HostsFiles(ctx, lab)
		if err != nil {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
			return
		}
		// Files on the machine's disk, each a few syscalls: as
		// parallel as the namespaces' deletes.
		hostsOf := make([]kernel.NetNSInfo, len(hosts))
		for i, netns := range hosts {
			_, node, _ := state.SplitNetNSName(netns) // HostsFiles lists only valid names
			hostsOf[i] = kernel.NetNSInfo{Name: netns, Node: node}
		}
		each(hostsOf, downParallel, nil, func(ns kernel.NetNSInfo) error {
			if err := k.HostsSet(ctx, ns.Name, ""); err != nil {
				return fmt.Errorf("remove the hosts file: %w", err)
			}
			return nil
		})
	})
	var progress func(i int, ns kernel.NetNSInfo)
	if opts.Progress != nil {
		progress = func(i int, ns kernel.NetNSInfo) { opts.Progress(i+1, len(todo), ns.Name) }
	}
	each(todo, downParallel, progress, func(ns kernel.NetNSInfo) error {
		if err := k.NetNSDel(ctx, ns.Name); err != nil {
			return err
		}
		if !ns.Stub {
			mu.Lock()
			res.Deleted = append(res.Deleted, ns.Name)
			mu.Unlock()
		}
		return nil
	})
	files.Wait()
	sort.Strings(res.Deleted)
	return res, errors.Join(errs...)
}
