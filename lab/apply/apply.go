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
	"sort"
	"strings"
	"sync"

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
}

// Result is what an apply did.
type Result struct {
	Applied int // changes carried out
}

// Apply carries out p's changes in order. It stops at the first error and
// returns it with the change that failed; what was done stays done, and the
// next up or down finishes from there.
func Apply(ctx context.Context, k kernel.Kernel, p *plan.Plan, opts Options) (*Result, error) {
	res := &Result{}
	if len(p.Conflicts) > 0 {
		return res, &ConflictError{Lab: p.Lab, Conflicts: p.Conflicts}
	}
	for i, c := range p.Changes {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if opts.Progress != nil {
			opts.Progress(i+1, len(p.Changes), c)
		}
		if err := One(ctx, k, p.Lab, c); err != nil {
			return res, &ChangeError{Change: c, Err: err}
		}
		res.Applied++
		if opts.AfterChange != nil {
			opts.AfterChange(i + 1)
		}
	}
	return res, nil
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

// One carries out a single change.
func One(ctx context.Context, k kernel.Kernel, lab string, c *plan.Change) error {
	switch c.Object {
	case plan.NetNS:
		if c.Action == plan.Delete {
			return k.NetNSDel(ctx, c.NetNS)
		}
		return k.NetNSAdd(ctx, lab, c.Node)
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

// Verify reads the kernel again and diffs it against desired: the lab is
// up only when nothing is left to do. The error names each object and
// attribute that still differs.
func Verify(ctx context.Context, k kernel.Kernel, desired *state.State, opts plan.Options) error {
	observed, err := k.Observe(ctx, desired.Lab, desired)
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

// Down deletes every namespace of the lab that carries netlab's marker,
// found in the kernel, not in a file: it works after the file changed or
// was lost, and after a half-finished up. Namespaces of the lab's name
// without the marker are left alone. Independent deletes all run; their
// errors are joined.
func Down(ctx context.Context, k kernel.Kernel, lab string, progress func(i, total int, netns string)) (deleted []string, err error) {
	list, err := k.NetNSList(ctx, lab)
	if err != nil {
		return nil, err
	}
	var todo []kernel.NetNSInfo
	for _, ns := range list {
		if ns.Marked || ns.Stub {
			todo = append(todo, ns)
		}
	}
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, downParallel)
	)
	for i, ns := range todo {
		if progress != nil {
			progress(i+1, len(todo), ns.Name)
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			err := k.NetNSDel(ctx, ns.Name)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("node %s: %w", ns.Node, err))
				return
			}
			if !ns.Stub {
				deleted = append(deleted, ns.Name)
			}
		}()
	}
	wg.Wait()
	sort.Strings(deleted)
	return deleted, errors.Join(errs...)
}
