package apply

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"netlab/lab/kernel"
	"netlab/lab/state"
)

// How up waits for processes (decisions.md, "Second release: processes
// in the plan"): it polls each ready port this often, and watches a
// process it started without a ready port this long for an early end.
const (
	ReadyPoll  = 50 * time.Millisecond
	EarlyWatch = 250 * time.Millisecond
	// LogLines is how many of its last log lines the error of a process
	// that ended or was not ready shows.
	LogLines = 10
)

// AwaitOptions change how AwaitProcesses waits.
type AwaitOptions struct {
	// ReadLog, if set, opens a process's current log, whose last lines
	// the error of a process that failed shows.
	ReadLog func(node, proc string) (io.ReadCloser, error)
	// Exited, if set, is called with each end of a process it sees.
	Exited func(state.Exit)
	// Poll and Watch replace ReadyPoll and EarlyWatch when set.
	Poll, Watch time.Duration
}

// ProcessError is a declared process that up waited for in vain: it ended
// (Exited, with Status), or was not ready in time.
type ProcessError struct {
	Node, Name string
	Exited     bool
	Status     int
	Ready      *state.Ready // the port it did not listen on, when not Exited
	Log        []string     // the last lines of its log
	LogErr     error        // why the log could not be read
}

func (e *ProcessError) Error() string {
	var b strings.Builder
	if e.Exited {
		fmt.Fprintf(&b, "node %s: process %s exited with status %d", e.Node, e.Name, e.Status)
	} else {
		fmt.Fprintf(&b, "node %s: process %s is not listening on %s port %d after %s", e.Node, e.Name, e.Ready.Proto, e.Ready.Port, e.Ready.Timeout)
	}
	switch {
	case e.LogErr != nil:
		fmt.Fprintf(&b, " (its log: %v)", e.LogErr)
	case len(e.Log) == 0:
		b.WriteString(" (its log is empty)")
	default:
		fmt.Fprintf(&b, " (the last %d lines of its log follow)", len(e.Log))
	}
	return b.String()
}

// Details are the last lines of the process's log, which the command
// line prints under the error's one line.
func (e *ProcessError) Details() []string {
	out := make([]string, len(e.Log))
	for i, l := range e.Log {
		out[i] = e.Node + "/" + e.Name + " | " + l
	}
	return out
}

// ProcessErrors are the processes one wait found failed, in node and
// name order: one line, each error after a "; ".
type ProcessErrors []*ProcessError

func (es ProcessErrors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

// Unwrap returns the errors, for errors.As.
func (es ProcessErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// AwaitProcesses waits, in parallel, for every declared process of
// desired that has a ready port to listen on it (until its timeout), and
// watches each process of started (those this up started) that has none
// for EarlyWatch: a started process that ends meanwhile fails the wait at
// once, with its exit status. A process this up did not start cannot be
// seen to end (netlab is not its parent); it only has to be ready. The
// errors, one *ProcessError per process, are joined in node and name
// order.
func AwaitProcesses(ctx context.Context, k kernel.Kernel, desired *state.State, started []Started, opts AwaitOptions) error {
	poll, watch := opts.Poll, opts.Watch
	if poll <= 0 {
		poll = ReadyPoll
	}
	if watch <= 0 {
		watch = EarlyWatch
	}
	type key struct{ node, name string }
	byName := make(map[key]*state.Process)
	for _, s := range started {
		byName[key{s.Node, s.Proc.Name}] = s.Proc
	}
	type waiter struct {
		node, netns string
		want        *state.Process // desired
		started     *state.Process // nil unless this up started it
	}
	var waiters []waiter
	for _, node := range desired.NodeNames() {
		n := desired.Nodes[node]
		for _, name := range sortedNames(n.Procs) {
			w := waiter{node: node, netns: n.NetNS, want: n.Procs[name], started: byName[key{node, name}]}
			if w.want.Ready != nil || w.started != nil {
				waiters = append(waiters, w)
			}
		}
	}
	errs := make([]error, len(waiters))
	var wg sync.WaitGroup
	for i, w := range waiters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = await(ctx, k, w.node, w.netns, w.want, w.started, poll, watch, opts)
		}()
	}
	wg.Wait()
	var bad ProcessErrors
	var other []error
	for _, err := range errs {
		var pe *ProcessError
		switch {
		case err == nil:
		case errors.As(err, &pe):
			bad = append(bad, pe)
		default:
			other = append(other, err)
		}
	}
	if len(other) > 0 {
		return errors.Join(other...)
	}
	if len(bad) > 0 {
		return bad
	}
	return nil
}

// await waits for one process: ready, or watched without ending.
func await(ctx context.Context, k kernel.Kernel, node, netns string, want, started *state.Process, poll, watch time.Duration, opts AwaitOptions) error {
	deadline := time.Now().Add(watch)
	if want.Ready != nil {
		deadline = time.Now().Add(want.Ready.Timeout)
	}
	for {
		if started != nil {
			if status, exited := k.ProcessExited(started); exited {
				if opts.Exited != nil {
					opts.Exited(state.Exit{Node: node, Name: want.Name, Pid: started.Pid, Status: status, Time: time.Now()})
				}
				return failed(&ProcessError{Node: node, Name: want.Name, Exited: true, Status: status}, opts)
			}
		}
		if want.Ready != nil {
			ok, err := k.Listening(ctx, netns, want.Ready.Proto, want.Ready.Port)
			if err != nil {
				return fmt.Errorf("node %s: process %s: is it listening on %s port %d: %w", node, want.Name, want.Ready.Proto, want.Ready.Port, err)
			}
			if ok {
				return nil
			}
		}
		if !time.Now().Before(deadline) {
			if want.Ready == nil {
				return nil // watched long enough: it runs
			}
			return failed(&ProcessError{Node: node, Name: want.Name, Ready: want.Ready}, opts)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("node %s: process %s: %w", node, want.Name, ctx.Err())
		case <-time.After(min(poll, time.Until(deadline)+time.Millisecond)):
		}
	}
}

// failed adds the end of the process's log to its error.
func failed(e *ProcessError, opts AwaitOptions) error {
	if opts.ReadLog == nil {
		e.LogErr = errors.New("not kept")
		return e
	}
	e.Log, e.LogErr = tail(opts.ReadLog, e.Node, e.Name)
	return e
}

// logTailMax is how much of the end of a log is read for its last lines.
const logTailMax = 64 << 10

// tail reads the last LogLines lines of a process's log.
func tail(readLog func(node, proc string) (io.ReadCloser, error), node, proc string) ([]string, error) {
	r, err := readLog(node, proc)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if s, ok := r.(io.Seeker); ok {
		if end, err := s.Seek(0, io.SeekEnd); err == nil {
			if _, err := s.Seek(max(0, end-logTailMax), io.SeekStart); err != nil {
				return nil, err
			}
		}
	}
	data, err := io.ReadAll(io.LimitReader(r, logTailMax))
	if err != nil {
		return nil, err
	}
	lines := strings.Split(string(bytes.TrimRight(data, "\n")), "\n")
	if len(lines) == 1 && lines[0] == "" {
		return nil, nil
	}
	return lines[max(0, len(lines)-LogLines):], nil
}

func sortedNames(m map[string]*state.Process) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
