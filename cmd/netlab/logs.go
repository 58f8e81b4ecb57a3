package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"netlab/lab/kernel"
	"netlab/lab/name"
	"netlab/lab/reconcile"
	"netlab/lab/state"
)

func newLogsCmd(e *env) *cobra.Command {
	var f labFlags
	var follow, previous bool
	cmd := &cobra.Command{
		Use:   "logs [FILE | --lab NAME] NODE[/PROCESS] [-f]",
		Short: "Print what a node's processes wrote to their standard output and error",
		Long: `logs prints the output (standard output and standard error, as they came) of
the processes a lab file declares under a node's run:. netlab up keeps each
process's output in /run/netlab/LAB.NODE.PROCESS.log, from the moment it
starts; when up restarts a process the output of its run before is kept as
.log.1 (--previous prints it). Each log stops growing at 4 MiB. netlab down
removes them.

NODE/PROCESS prints that process's log as it is. NODE alone prints the log
of every process of the node, one after the other in name order, each line
after the process's name and a bar ("http | GET / 200"), as docker compose
logs does.

-f keeps printing what the processes write, until Ctrl-C or until the lab
(or the node) goes away; a process that up restarts meanwhile is followed
into its new log. -o json prints one JSON object a line:
{"node": ..., "process": ..., "line": ...}.

A process started by hand with netlab exec writes to exec's terminal, not
to a log.`,
		Example: `  netlab logs lab.yaml web/http           # what process http of node web wrote
  netlab logs lab.yaml web                # every process of node web, each line after its name
  netlab logs lab.yaml web/http -f        # and what it writes next, until Ctrl-C
  netlab logs --lab port-publish web -o json | jq -r .line
  netlab logs lab.yaml web/http --previous # its run before up restarted it`,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(f.output); err != nil {
				return err
			}
			var fileArgs []string
			switch len(args) {
			case 1:
			case 2:
				fileArgs = args[:1]
			case 0:
				return usagef("logs needs a NODE or NODE/PROCESS: netlab logs [FILE | --lab NAME] NODE[/PROCESS]")
			default:
				return usagef("logs takes [FILE] NODE[/PROCESS], got %d arguments: %s", len(args), strings.Join(args, " "))
			}
			node, proc, err := logTarget(args[len(args)-1])
			if err != nil {
				return err
			}
			if follow && previous {
				return usagef("--previous prints a log that no longer grows: it does not go with -f")
			}
			labName, err := labNameOnly(fileArgs, f.labName)
			if err != nil {
				return err
			}
			if err := requireRoot(); err != nil {
				return err
			}
			ctx, cancel := signalContext()
			defer cancel()
			lab, _ := name.Parse("lab", labName) // labNameOnly took only a valid name
			procs, err := logProcesses(ctx, lab, node, proc)
			if err != nil {
				return err
			}
			sink := &logSink{w: e.stdout, node: node.String(), json: f.output == "json", raw: proc != "" && f.output != "json"}
			for _, p := range procs {
				sink.width = max(sink.width, len(p))
			}
			streams := make([]*logStream, len(procs))
			for i, p := range procs {
				streams[i] = &logStream{proc: p, open: func() (*os.File, error) { return runDir.ReadLog(lab, node, p, previous) }}
			}
			if !follow {
				return printLogs(e, streams, sink)
			}
			return followLogs(ctx, e, lab, node, streams, sink)
		}),
	}
	f.addLab(cmd)
	f.addOutput(cmd)
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing what the processes write, until Ctrl-C or until the lab goes down")
	cmd.Flags().BoolVar(&previous, "previous", false, "print the log of the process's run before its last restart (its .log.1)")
	return cmd
}

// logTarget reads NODE or NODE/PROCESS, refusing (as bad usage) a name
// that is not one, before it is used in any path.
func logTarget(arg string) (name.Name, string, error) {
	// Cut at the last slash: in a/b/c the node name is the bad part.
	nodeText, proc, hasProc := arg, "", false
	if i := strings.LastIndexByte(arg, '/'); i >= 0 {
		nodeText, proc, hasProc = arg[:i], arg[i+1:], true
	}
	node, err := name.Parse("node", nodeText)
	if err != nil {
		return name.Name{}, "", &usageError{msg: err.Error()}
	}
	if hasProc {
		if p := state.ProcessNameProblem(proc); p != "" {
			return name.Name{}, "", usagef("process name %q %s: give NODE/PROCESS, PROCESS as in the node's run: entry", proc, p)
		}
	}
	return node, proc, nil
}

// logProcesses checks that the lab runs the node, and returns the
// processes to print: proc alone, or with proc "" all the node's. The
// node's processes are the ones the lab declares (as the last up
// applied them) and the ones with a log; a name that is neither is an
// error that lists those.
func logProcesses(ctx context.Context, lab, node name.Name, proc string) ([]string, error) {
	k := newKernel()
	defer k.Close()
	s, err := reconcile.Observe(ctx, k, lab.String(), nil, &runDir)
	if err != nil {
		return nil, fmt.Errorf("lab %s: read the kernel: %w", lab, err)
	}
	if len(s.Nodes) == 0 {
		return nil, notRunningError(lab.String())
	}
	if _, err := runningNode(s, node.String()); err != nil {
		return nil, err
	}
	known, err := runDir.LogProcesses(lab, node)
	if err != nil {
		return nil, fmt.Errorf("lab %s: %w", lab, err)
	}
	all, err := reconcile.Processes(ctx, k, lab.String(), &runDir)
	if err != nil {
		return nil, fmt.Errorf("lab %s: %w", lab, err)
	}
	for _, p := range all {
		if p.Node == node.String() && p.Name != "" && !slices.Contains(known, p.Name) {
			known = append(known, p.Name)
		}
	}
	slices.Sort(known)
	switch {
	case proc != "" && slices.Contains(known, proc):
		return []string{proc}, nil
	case proc != "" && len(known) == 0:
		return nil, fmt.Errorf("node %s has no process %s: it runs no process of the lab file's (declare one under the node's run:)", node, proc)
	case proc != "":
		return nil, fmt.Errorf("node %s has no process %s (processes: %s)", node, proc, strings.Join(known, ", "))
	case len(known) == 0:
		return nil, fmt.Errorf("node %s runs no process of the lab file's, so it has no logs (declare one under the node's run:)", node)
	}
	return known, nil
}

// printLogs prints each log once, to its end.
func printLogs(e *env, streams []*logStream, sink *logSink) error {
	for _, s := range streams {
		f, err := s.open()
		if errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(e.stderr, "netlab: node %s: process %s has no log: it has not been started yet\n", sink.node, s.proc)
			continue
		}
		if err != nil {
			return err
		}
		s.f = f
		err = s.read(sink)
		sink.flush(s)
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// followEvery is how often logs -f looks for more output; labEvery how
// many of those go by between two looks at whether the lab still runs.
// Tests shorten followEvery.
var followEvery = 200 * time.Millisecond

const labEvery = 5

// followLogs prints each log and what is added to it, until ctx ends or
// the node's namespace is gone.
func followLogs(ctx context.Context, e *env, lab, node name.Name, streams []*logStream, sink *logSink) error {
	defer func() {
		for _, s := range streams {
			if s.f != nil {
				s.f.Close()
			}
		}
	}()
	k := newKernel()
	defer k.Close()
	tick := time.NewTicker(followEvery)
	defer tick.Stop()
	for i := 0; ; i++ {
		for _, s := range streams {
			if err := s.follow(sink); err != nil {
				return err
			}
		}
		if i%labEvery == labEvery-1 {
			up, err := nodeRuns(ctx, k, lab, node)
			if ctx.Err() != nil {
				return nil
			}
			if err != nil {
				return fmt.Errorf("lab %s: read the kernel: %w", lab, err)
			}
			if !up {
				for _, s := range streams {
					sink.flush(s)
				}
				fmt.Fprintf(e.stderr, "netlab: lab %s has no node %s any more: nothing left to follow\n", lab, node)
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// nodeRuns reports whether the node's namespace is still there.
func nodeRuns(ctx context.Context, k kernel.Kernel, lab, node name.Name) (bool, error) {
	nss, err := k.NetNSList(ctx, lab.String())
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(nss, func(ns kernel.NetNSInfo) bool { return ns.Node == node.String() && !ns.Stub }), nil
}

// logStream is one process's log as logs reads it: the file open now (nil
// until there is one), and the start of a line not ended yet.
type logStream struct {
	proc    string
	open    func() (*os.File, error)
	f       *os.File
	partial []byte
}

// read prints what the file holds from where the last read stopped.
func (s *logStream) read(sink *logSink) error {
	buf := make([]byte, 32<<10)
	for {
		n, err := s.f.Read(buf)
		if n > 0 {
			if werr := sink.data(s, buf[:n]); werr != nil {
				return werr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", s.f.Name(), err)
		}
	}
}

// follow prints what was added to the log and, when the log was replaced
// (up restarted the process: the file read so far is now the .log.1), the
// rest of the old one, then the new one from its start.
func (s *logStream) follow(sink *logSink) error {
	if s.f != nil {
		if err := s.read(sink); err != nil {
			return err
		}
	}
	nf, err := s.open()
	if errors.Is(err, os.ErrNotExist) {
		return nil // not started yet, or removed by down: the lab check ends it
	}
	if err != nil {
		return err
	}
	if s.f != nil && sameFile(s.f, nf) {
		nf.Close()
		return nil
	}
	if s.f != nil {
		err := s.read(sink) // what was written between the read and the rename
		sink.flush(s)
		s.f.Close()
		if err != nil {
			nf.Close()
			return err
		}
	}
	s.f = nf
	return s.read(sink)
}

func sameFile(a, b *os.File) bool {
	ai, err := a.Stat()
	if err != nil {
		return false
	}
	bi, err := b.Stat()
	return err == nil && os.SameFile(ai, bi)
}

// logSink writes logs out: raw (one process's log as it is), or line by
// line, after the process's name or as JSON.
type logSink struct {
	w     io.Writer
	node  string
	width int // of the longest process name, to align the bars
	json  bool
	raw   bool
}

// logLine is a line of -o json.
type logLine struct {
	Node    string `json:"node"`
	Process string `json:"process"`
	Line    string `json:"line"`
}

// data takes what was read from s's log.
func (k *logSink) data(s *logStream, b []byte) error {
	if k.raw {
		_, err := k.w.Write(b)
		return err
	}
	s.partial = append(s.partial, b...)
	for {
		i := slices.Index(s.partial, '\n')
		if i < 0 {
			return nil
		}
		if err := k.line(s.proc, s.partial[:i]); err != nil {
			return err
		}
		s.partial = s.partial[i+1:]
	}
}

// flush writes the line s's log has not ended, if any: its log is
// finished.
func (k *logSink) flush(s *logStream) {
	if len(s.partial) > 0 {
		_ = k.line(s.proc, s.partial)
		s.partial = nil
	}
}

func (k *logSink) line(proc string, text []byte) error {
	if k.json {
		data, err := json.Marshal(logLine{Node: k.node, Process: proc, Line: string(text)})
		if err != nil {
			return err
		}
		_, err = k.w.Write(append(data, '\n'))
		return err
	}
	_, err := fmt.Fprintf(k.w, "%-*s | %s\n", k.width, proc, text)
	return err
}
