// Package reconcile is netlab's one pipeline from a lab to the kernel:
// validate the lab, refuse what the kernel lacks (a device kind, 802.1Q,
// a qdisc), read the kernel, refuse a sysctl the kernel lacks,
// diff (labelling drift with the last-applied record), refuse objects
// netlab does not own, apply, read the kernel again to prove the result,
// and keep the record. The command line, the terminal UI and the tests
// all call it, so that no caller can skip a step: a lab that validate
// refuses is never applied, whoever asks.
//
// Where records are kept and how progress is shown are options, never
// globals: a caller without a run directory keeps no record.
package reconcile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"time"

	"netlab/lab"
	"netlab/lab/apply"
	"netlab/lab/diag"
	"netlab/lab/kernel"
	"netlab/lab/name"
	"netlab/lab/plan"
	"netlab/lab/rundir"
	"netlab/lab/state"
	"netlab/lab/validate"
)

// Options change how Plan and Up run. The zero value plans and applies
// without pruning, records or progress.
type Options struct {
	// Prune also removes objects in the lab's namespaces that the lab
	// does not declare.
	Prune bool
	// RunDir, if set, is where the last-applied record is read from (to
	// label drift) and where Up keeps the record and Source.
	RunDir *rundir.Dir
	// LastApplied labels drift when RunDir is not set: the desired state
	// of the caller's last Up, kept by the caller.
	LastApplied *state.State
	// Source is the text of the lab file, which Up keeps beside the
	// record in RunDir (check --lab reads it). Nil keeps none.
	Source []byte
	// Progress, if set, is called before each change with its 1-based
	// number and the total.
	Progress func(i, total int, c *plan.Change)
	// AfterChange, if set, is called after each change that succeeded,
	// with its 1-based number (fault tests kill netlab there).
	AfterChange func(i int)
	// OpenLog, if set, opens a new log for a process Up starts, and
	// ReadLog the current one, whose last lines an error shows. Unset,
	// they are RunDir's logs (rundir.Dir.OpenLog, ReadLog); without a
	// RunDir either, a process's output goes to the null device.
	OpenLog func(node, proc string) (*os.File, error)
	ReadLog func(node, proc string) (io.ReadCloser, error)
	// Grace is how long a process Up stops (replaced, or no longer
	// declared) is given between SIGTERM and SIGKILL; 0 means
	// apply.DefaultGrace.
	Grace time.Duration
	// Settling, if set, is told which bridge ports Up still waits for,
	// while a spanning tree settles (apply.AwaitSTP).
	Settling func(msg string)
	// Machine is, for a lab with machines, the one this is: Plan and Up
	// build its nodes only (plan.DesiredOn), after apply.CheckMachine
	// found its address here. A lab with machines needs one.
	Machine string
}

// logs returns the log hooks of opts: its own, else RunDir's.
func (opts Options) logs(lab string) (open func(node, proc string) (*os.File, error), read func(node, proc string) (io.ReadCloser, error)) {
	open, read = opts.OpenLog, opts.ReadLog
	if opts.RunDir == nil {
		return open, read
	}
	dir := *opts.RunDir
	if open == nil {
		open = func(node, proc string) (*os.File, error) {
			l, n, err := labNode(lab, node)
			if err != nil {
				return nil, err
			}
			return dir.OpenLog(l, n, proc)
		}
	}
	if read == nil {
		read = func(node, proc string) (io.ReadCloser, error) {
			l, n, err := labNode(lab, node)
			if err != nil {
				return nil, err
			}
			return dir.ReadLog(l, n, proc, false)
		}
	}
	return open, read
}

// checkLogs refuses, before anything is changed, a plan that starts a
// process whose log in the run directory OpenLog would refuse: otherwise
// up would stop the old process, then fail to start the new one.
func (opts Options) checkLogs(lab string, p *plan.Plan) error {
	if opts.RunDir == nil || opts.OpenLog != nil {
		return nil
	}
	for _, c := range p.Changes {
		if c.Object != plan.Process || c.Action != plan.Create && c.Action != plan.Replace {
			continue
		}
		l, n, err := labNode(lab, c.Node)
		if err != nil {
			return err
		}
		if err := opts.RunDir.CheckLog(l, n, c.Name); err != nil {
			return fmt.Errorf("lab %s: node %s: process %s: the log: %w; nothing was changed", lab, c.Node, c.Name, err)
		}
	}
	return nil
}

func labNode(lab, node string) (name.Name, name.Name, error) {
	l, err := name.Parse("lab", lab)
	if err != nil {
		return name.Name{}, name.Name{}, err
	}
	n, err := name.Parse("node", node)
	return l, n, err
}

// Planned is what Plan found: the state the lab asks for, the state the
// kernel has, and the changes between them.
type Planned struct {
	Desired  *state.State
	Observed *state.State
	Plan     *plan.Plan
}

// RefusedError is a lab the pipeline will not apply, refused before
// anything is changed: one diagnostic per problem, at its position in the
// lab file.
type RefusedError struct{ Diags diag.List }

func (e *RefusedError) Error() string { return e.Diags.Err().Error() }

// Plan validates l, reads the kernel and diffs it against l. It changes
// nothing of the lab; it only removes the trace tables a netlab trace
// left in the lab's namespaces (those Observe found, see
// state.Node.TraceLeftover), which are never the lab's drift. A lab
// validate refuses, or a sysctl the kernel does not have, is a
// *RefusedError.
func Plan(ctx context.Context, k kernel.Kernel, l *lab.Lab, opts Options) (*Planned, error) {
	if diags := validate.Lab(l); diags.HasErrors() {
		diags.Sort()
		return nil, &RefusedError{Diags: diags}
	}
	if diags := machineProblem(l, opts.Machine); diags.HasErrors() {
		return nil, &RefusedError{Diags: diags}
	}
	// Before anything is read or changed: a machine that is not the one
	// named, or whose underlay cannot carry its links, is refused.
	if opts.Machine != "" {
		if diags, err := apply.CheckMachine(ctx, k, l, opts.Machine); err != nil {
			return nil, err
		} else if diags.HasErrors() {
			diags.Sort()
			return nil, &RefusedError{Diags: diags}
		}
	}
	// And a kernel without 802.1Q, netem or a device kind the lab uses
	// is refused at the field.
	if diags, err := apply.CheckNeeds(ctx, k, l, opts.Machine); err != nil {
		return nil, err
	} else if diags.HasErrors() {
		diags.Sort()
		return nil, &RefusedError{Diags: diags}
	}
	desired := plan.DesiredOn(l, opts.Machine)
	observed, err := Observe(ctx, k, l.Name, desired, opts.RunDir)
	if err != nil {
		return nil, fmt.Errorf("read the kernel: %w", err)
	}
	if diags := otherMachine(l, opts, observed); diags.HasErrors() {
		return nil, &RefusedError{Diags: diags}
	}
	if err := sweepLeftovers(ctx, k, l.Name, observed); err != nil {
		return nil, err
	}
	diags, err := apply.CheckSysctls(ctx, k, l, opts.Machine, observed)
	if err != nil {
		return nil, err
	}
	if diags.HasErrors() {
		diags.Sort()
		return nil, &RefusedError{Diags: diags}
	}
	diffOpts := plan.Options{Prune: opts.Prune, LastApplied: opts.LastApplied}
	if opts.RunDir == nil {
		p := plan.Diff(desired, observed, diffOpts)
		return &Planned{Desired: desired, Observed: observed, Plan: p}, nil
	}
	// The record only labels and describes changes (drift or edit, the
	// text of a rule the file dropped, why a process is replaced): a lab
	// that is as its file says needs none, and the record of a 1000-node
	// lab is most of a megabyte to decode. So diff without it first.
	diffOpts.Exits = apply.LoadExits(*opts.RunDir, l.Name)
	p := plan.Diff(desired, observed, diffOpts)
	if !p.Empty() || len(p.Unmanaged) > 0 || len(p.Conflicts) > 0 {
		diffOpts.LastApplied = apply.LoadRecord(*opts.RunDir, l.Name)
		p = plan.Diff(desired, observed, diffOpts)
	}
	return &Planned{Desired: desired, Observed: observed, Plan: p}, nil
}

// machineProblem refuses a lab with machines without the one this is,
// and a machine given for a lab that has none or not that one.
func machineProblem(l *lab.Lab, machine string) diag.List {
	var out diag.List
	if p := validate.MachineProblem(l, machine); p != "" {
		hint := "give --machine one of the file's machines, or leave it out for a lab without machines"
		if machine == "" {
			hint = "run netlab up FILE --machine NAME on each machine, NAME its own"
		}
		out.Hintf(l.At("machines"), hint, "%s", p)
	}
	return out
}

// otherMachine refuses to build machine opts.Machine's part where the
// lab runs as another machine's (apply.LoadMachine): a box that has
// two machines' addresses would otherwise prune the first machine's
// nodes as no longer declared.
func otherMachine(l *lab.Lab, opts Options, observed *state.State) diag.List {
	var out diag.List
	if opts.Machine == "" || opts.RunDir == nil || len(observed.Nodes) == 0 {
		return out
	}
	was, ok := apply.LoadMachine(*opts.RunDir, l.Name)
	if !ok || was == opts.Machine {
		return out
	}
	out.Hintf(l.At("machines"), fmt.Sprintf("run it with --machine %s, or bring the lab down here first (netlab down --lab %s)", was, l.Name),
		"lab %s runs here as machine %s (its last up), not %s", l.Name, was, opts.Machine)
	return out
}

// Diff is the diff step alone, for a caller that has observed the kernel
// already (the terminal UI, at each refresh): the changes from observed
// to desired, those that undo a change made since record (the
// last-applied state, or nil) marked as drift.
func Diff(desired, observed, record *state.State, prune bool) *plan.Plan {
	return plan.Diff(desired, observed, plan.Options{Prune: prune, LastApplied: record})
}

// Result is what Up did.
type Result struct {
	Planned
	// Applied is the number of changes carried out, also when Up failed
	// half-way.
	Applied int
	// SaveErr is why the record or the source could not be kept in the
	// run directory. The lab is up all the same: a lost record only
	// labels drift less well.
	SaveErr error
}

// Up brings the kernel in line with l: Plan, then, unless nothing
// differs, refuse objects netlab does not own and apply the changes in
// order; then wait for the declared processes to be ready (also when
// nothing differed: a process may listen late, or not at all) and, if
// anything was applied, read the kernel again; it succeeds only when
// nothing differs any more. It then keeps the record and source in
// opts.RunDir, and, always, the ends of processes it saw.
//
// The result is never nil once the plan is made: Applied says how far a
// failed Up went, and running Up again finishes from there.
func Up(ctx context.Context, k kernel.Kernel, l *lab.Lab, opts Options) (*Result, error) {
	planned, err := Plan(ctx, k, l, opts)
	if err != nil {
		return nil, err
	}
	res := &Result{Planned: *planned}
	p := planned.Plan
	if err := opts.checkLogs(l.Name, p); err != nil {
		return nil, err
	}
	if opts.Machine != "" && opts.RunDir != nil {
		// Before any change: a down after a killed up must know.
		if was, ok := apply.LoadMachine(*opts.RunDir, l.Name); !ok || was != opts.Machine {
			if err := apply.SaveMachine(*opts.RunDir, l.Name, opts.Machine); err != nil {
				return nil, err
			}
		}
	}
	openLog, readLog := opts.logs(l.Name)
	var started []apply.Started
	var exits []state.Exit
	var mu sync.Mutex
	// Verify adopts what the started record names, with the processes
	// this up started (also when the record could not be kept, or there
	// is no run directory).
	var startedRecord *apply.StartedRecord
	defer func() {
		if opts.RunDir != nil && (len(started) > 0 || len(exits) > 0) {
			res.SaveErr = errors.Join(res.SaveErr, apply.UpdateExits(*opts.RunDir, l.Name, started, exits))
		}
	}()
	if rs := apply.RestartsOf(p); opts.RunDir != nil && len(rs) > 0 {
		res.SaveErr = errors.Join(res.SaveErr, apply.SaveRestarting(*opts.RunDir, l.Name, rs))
		defer func() {
			res.SaveErr = errors.Join(res.SaveErr, apply.SaveRestarting(*opts.RunDir, l.Name, nil))
		}()
	}
	if !p.Empty() || len(p.Conflicts) > 0 {
		startedRecord = apply.LoadStartedRecord(opts.RunDir, planned.Desired)
		// Each process is kept in the started record as soon as it
		// runs, so that a netlab killed right after still knows it when
		// it sets its own title.
		keep := func(s apply.Started) {
			res.SaveErr = errors.Join(res.SaveErr, startedRecord.Record(s))
		}
		done, err := apply.Apply(ctx, k, p, apply.Options{Progress: opts.Progress, AfterChange: opts.AfterChange, OpenLog: openLog, Grace: opts.Grace, Started: keep})
		res.Applied = done.Applied
		started = done.Started
		var conflicts *apply.ConflictError
		if errors.As(err, &conflicts) {
			return res, err
		}
		if err != nil {
			return res, fmt.Errorf("lab %s: %w (after %d of %d changes; run up again to finish, or down to remove the lab)", l.Name, err, res.Applied, len(p.Changes))
		}
	}
	err = apply.AwaitProcesses(ctx, k, planned.Desired, started, apply.AwaitOptions{ReadLog: readLog,
		Exited: func(e state.Exit) { mu.Lock(); exits = append(exits, e); mu.Unlock() }})
	if err != nil {
		// The network is as the file says; a process of the file failed.
		// The record still labels that process's end as drift, and lets
		// status show it.
		res.SaveErr = errors.Join(res.SaveErr, save(opts, planned.Desired))
		return res, fmt.Errorf("lab %s: %w", l.Name, err)
	}
	if err := apply.AwaitSTP(ctx, k, planned.Desired, opts.Settling); err != nil {
		res.SaveErr = errors.Join(res.SaveErr, save(opts, planned.Desired))
		return res, fmt.Errorf("lab %s: %w", l.Name, err)
	}
	if !p.Empty() {
		if err := apply.Verify(ctx, k, planned.Desired, startedRecord.Entries(), plan.Options{Prune: opts.Prune}); err != nil {
			return res, err
		}
	}
	res.SaveErr = errors.Join(res.SaveErr, save(opts, planned.Desired))
	return res, nil
}

// Observe reads a lab from the kernel, as every command that looks at a
// lab's processes must: k.Observe, then the declared processes that lost
// their marker by setting their own title are adopted from the started
// record in dir (apply.Adopt). desired is what k.Observe is given (nil:
// what it finds); dir may be nil, for no record.
func Observe(ctx context.Context, k kernel.Kernel, lab string, desired *state.State, dir *rundir.Dir) (*state.State, error) {
	var started []apply.StartedProc
	if dir != nil {
		started = apply.LoadStarted(*dir, lab)
	}
	return apply.Observe(ctx, k, lab, desired, started)
}

// save keeps the record and the source of a lab Up brought in line.
func save(opts Options, desired *state.State) error {
	if opts.RunDir == nil {
		return nil
	}
	if err := apply.SaveRecord(*opts.RunDir, desired); err != nil {
		return err
	}
	if opts.Source == nil {
		return nil
	}
	return apply.SaveSource(*opts.RunDir, desired.Lab, opts.Source)
}

// sweepLeftovers removes the trace tables Observe found that no running
// trace owns: one call for the namespaces that have one, none at all in
// the usual case (reading them cost Observe nothing more).
func sweepLeftovers(ctx context.Context, k kernel.Kernel, lab string, observed *state.State) error {
	tracer, ok := k.(kernel.Tracer)
	if !ok {
		return nil
	}
	var netns []string
	for _, name := range observed.NodeNames() {
		if n := observed.Nodes[name]; n.TraceLeftover {
			netns = append(netns, n.NetNS)
		}
	}
	if len(netns) == 0 {
		return nil
	}
	if _, err := tracer.TraceSweep(ctx, netns); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("lab %s: remove leftover trace tables: %w", lab, err)
	}
	for _, ns := range netns {
		_, node, _ := state.SplitNetNSName(ns)
		observed.Nodes[node].TraceLeftover = false
	}
	return nil
}
