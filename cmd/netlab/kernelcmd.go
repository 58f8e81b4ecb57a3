package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"netlab/lab"
	"netlab/lab/diag"
	"netlab/lab/kernel"
	"netlab/lab/labfile"
	"netlab/lab/name"
	"netlab/lab/rundir"
	"netlab/lab/validate"
	"netlab/topologies"
)

// requireRoot fails early, with the fix, when netlab cannot change the
// kernel.
func requireRoot() error {
	if testKernel != nil {
		return nil // a fake kernel: nothing of the machine's is touched
	}
	if os.Geteuid() != 0 {
		return &failure{err: errors.New("this command changes or reads network namespaces: run as root (sudo netlab ...)")}
	}
	return nil
}

// labFlags are the flags shared by commands that work on a running lab.
type labFlags struct {
	labName string
	wait    time.Duration
	output  string
	machine string // --machine: which machine of a lab with machines this is
}

// addMachine adds --machine, for the commands that work on one machine's
// part of a lab spread over several.
func (f *labFlags) addMachine(cmd *cobra.Command) {
	cmd.Flags().Var(machineValue{&f.machine}, "machine", "for a lab with machines: work on machine `NAME`'s part of it, this one (see docs/machines.md)")
}

// machineValue is the value of --machine: a name by the rule of a lab
// file's names, refused while the flags are parsed; whether the lab has
// that machine is the pipeline's to say (reconcile.Options.Machine).
type machineValue struct{ name *string }

func (v machineValue) Set(s string) error {
	if _, err := name.Parse("machine", s); err != nil {
		return err
	}
	*v.name = s
	return nil
}

func (v machineValue) String() string { return *v.name }
func (v machineValue) Type() string   { return "string" }

func (f *labFlags) addLab(cmd *cobra.Command) {
	cmd.Flags().Var(labNameValue{&f.labName}, "lab", "work on the running lab `NAME` (see netlab ls) instead of a lab file")
}

// labNameValue is the value of --lab: it takes only a valid lab name, by
// the rule of a lab file's name:, so that bad usage (exit 64) stops the
// command while the flags are parsed, before anything is opened. An empty
// value is refused too: "--lab $LAB" with LAB unset must not mean the
// default lab.
type labNameValue struct{ name *string }

func (v labNameValue) Set(s string) error {
	if s == "" {
		return errors.New("give a lab name (an empty --lab does not mean the default lab)")
	}
	if _, err := name.Parse("lab", s); err != nil {
		return err
	}
	*v.name = s
	return nil
}

func (v labNameValue) String() string { return *v.name }
func (v labNameValue) Type() string   { return "string" }

// nodeArg refuses, as bad usage, a node name from the command line that
// is not a valid node name, before it is used to build any path.
func nodeArg(node string) error {
	if _, err := name.Parse("node", node); err != nil {
		return &usageError{msg: err.Error()}
	}
	return nil
}

// runDir is where netlab keeps its locks and last-applied records. Tests
// of this package point it at a temporary directory.
var runDir = rundir.At(rundir.Default)

func (f *labFlags) addWait(cmd *cobra.Command) {
	f.wait = -1
	cmd.Flags().Var(waitFlag{&f.wait}, "wait", "give up after `DURATION` (30s, 2m) if another netlab command is working on the same lab; 0 gives up at once; unset, wait as long as it takes")
}

func (f *labFlags) addOutput(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.output, "output", "o", "text", "output `FORMAT`: text or json (for scripts)")
}

// loadValid loads the lab of args and fails with its diagnostics when it
// is not valid (validate judges everything the file asks for).
func loadValid(e *env, args []string) (*lab.Lab, error) {
	l, _, err := loadValidText(e, args)
	return l, err
}

// loadValidText is loadValid that also returns the file's text.
func loadValidText(e *env, args []string) (*lab.Lab, []byte, error) {
	l, text, diags := loadLabText(args)
	if diags.HasErrors() {
		_ = diags.WriteText(e.stderr) // sorted by loadLabText
		return nil, nil, &exitCode{exitFailure}
	}
	_ = diags.WriteText(e.stderr) // warnings
	return l, text, nil
}

// hostNodes names the lab's host: true nodes.
func hostNodes(l *lab.Lab) []string {
	var out []string
	for _, n := range l.Nodes {
		if n.Host {
			out = append(out, n.Name)
		}
	}
	return out
}

// requireAllowHost refuses a lab with a host: true node unless the user
// confirmed it with --allow-host: such a node is the machine's own root
// namespace, not a throw-away one.
func requireAllowHost(l *lab.Lab, allow bool) error {
	nodes := hostNodes(l)
	if len(nodes) == 0 || allow {
		return nil
	}
	return &failure{err: fmt.Errorf("%s: node %q has host: true, so it is this machine's own root namespace: "+
		"run again with --allow-host to let netlab create the lab's links there "+
		"(it then changes only the links it creates and marks, never the machine's own)", l.Node(nodes[0]).At("host"), nodes[0])}
}

// addAllowHost adds the --allow-host flag.
func addAllowHost(cmd *cobra.Command, allow *bool) {
	cmd.Flags().BoolVar(allow, "allow-host", false, "allow a lab with a host: true node to work in this machine's root namespace (only on links netlab marks)")
}

// labNameOnly finds the lab's name for commands that need nothing else
// (down, exec, capture): from --lab, or from the file's name: field, which is
// read even if the rest of the file has since become invalid.
func labNameOnly(args []string, flagName string) (string, error) {
	name, _, _, err := labNameParsed(args, flagName)
	return name, err
}

// labNameAndFile is labNameOnly for the commands that also use the lab of
// the file when it is valid (status, tui): the file is read and parsed
// once, for both. The lab is nil with --lab, or when the file is not
// valid.
func labNameAndFile(args []string, flagName string) (string, *lab.Lab, error) {
	name, l, diags, err := labNameParsed(args, flagName)
	if err != nil || l == nil {
		return name, nil, err
	}
	if diags.HasErrors() || validate.Lab(l).HasErrors() {
		return name, nil, nil
	}
	return name, l, nil
}

// labNameParsed is labNameOnly that also returns the lab it parsed from
// the file (nil with --lab), not yet validated, and the parser's
// diagnostics.
func labNameParsed(args []string, flagName string) (string, *lab.Lab, diag.List, error) {
	if flagName != "" {
		if len(args) > 0 {
			return "", nil, nil, usagef("give a lab file or --lab, not both")
		}
		// labNameValue took only a valid name when the flags were parsed.
		return flagName, nil, nil, nil
	}
	var l *lab.Lab
	var diags diag.List
	if len(args) == 0 {
		l, diags = labfile.Parse(builtinFile, topologies.Default())
	} else {
		l, diags = labfile.Load(args[0], displayPath(args[0]))
	}
	if l == nil || l.Name == "" {
		if err := diags.Err(); err != nil {
			return "", nil, nil, &failure{err: fmt.Errorf("cannot tell the lab's name: %w", err)}
		}
		return "", nil, nil, &failure{err: errors.New("the lab file has no name")}
	}
	if p := validate.NameProblem(l.Name); p != "" {
		return "", nil, nil, &failure{err: fmt.Errorf("%s: lab name %q %s", l.At("name"), l.Name, p)}
	}
	return l.Name, l, diags, nil
}

// withLock runs fn while holding the lab's lock, telling the user when it
// has to wait for another netlab.
func withLock(ctx context.Context, e *env, labName string, wait time.Duration, fn func() error) error {
	n, err := name.Parse("lab", labName)
	if err != nil {
		return err
	}
	lk, err := runDir.Lock(ctx, n, wait, func() {
		fmt.Fprintf(e.stderr, "netlab: waiting for another netlab command on lab %q to finish...\n", labName)
	})
	if err != nil {
		if errors.Is(err, rundir.ErrLocked) {
			return fmt.Errorf("lab %q: %w (gave up after --wait %s)", labName, err, wait)
		}
		return err
	}
	defer lk.Release()
	return fn()
}

// withProbes runs fn, which sends probes to the lab's nodes (check,
// trace, the TUI's), while holding the lab's probe lock: a probe's
// responder listens on a node at the check's port, and a second netlab
// probing the same port at once would find it taken ("address already in
// use") and fail a check the lab passes. So the second waits for the
// first, saying so on waiting when it is not nil.
func withProbes(ctx context.Context, waiting io.Writer, labName string, fn func() error) error {
	n, err := name.Parse("lab", labName)
	if err != nil {
		return err
	}
	lk, err := runDir.ProbeLock(ctx, n, func() {
		if waiting != nil {
			fmt.Fprintf(waiting, "netlab: waiting for another netlab's probes on lab %q to finish...\n", labName)
		}
	})
	if err != nil {
		if ctx.Err() != nil {
			return &failure{err: fmt.Errorf("lab %s: interrupted while waiting for another netlab's probes", labName)}
		}
		return err
	}
	defer lk.Release()
	return fn()
}

// signalContext ends on Ctrl-C or SIGTERM, so that a long up stops between
// two changes rather than in the middle of one.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// newKernel is the kernel the commands read and change: the machine's,
// or testKernel when a test has set it.
func newKernel() kernel.Kernel {
	if testKernel != nil {
		return testKernel
	}
	return newLinux()
}

// newKernelOn is newKernel for one machine of a lab spread over several
// (--machine, newLinuxOn): netlab run inside a namespace that stands for
// a machine builds that machine's part there.
func newKernelOn(onMachine bool) kernel.Kernel {
	if testKernel != nil || !onMachine {
		return newKernel()
	}
	return newLinuxOn(true)
}

// testKernel, when set, is the kernel newKernel returns, and requireRoot
// then lets the command run without root: the one seam by which tests run
// the kernel commands through run() against a fake kernel
// (kerneltest.Fake). Only tests set it; the binary never does.
var testKernel kernel.Kernel

// newNetNS is what check, ping, capture and the TUI's checks open their
// sockets in a node with: the machine's kernel.
func newNetNS() kernel.NetNS { return newLinux() }

// isTerminal reports whether a stream (an io.Reader or io.Writer) is a
// terminal: for progress output, and the UI.
func isTerminal(stream any) bool {
	f, ok := stream.(*os.File)
	// Asked of the terminal driver (TCGETS), not of the file's mode:
	// /dev/null is a character device too, and no terminal.
	return ok && term.IsTerminal(f.Fd())
}

// labToChange is the common start of plan and up: a known output format,
// a valid lab, --allow-host for a lab with a host node, and root. It also
// returns the file's text, which up keeps.
func labToChange(e *env, args []string, output string, allowHost bool) (*lab.Lab, []byte, error) {
	if err := checkOutput(output); err != nil {
		return nil, nil, err
	}
	l, text, err := loadValidText(e, args)
	if err != nil {
		return nil, nil, err
	}
	if err := refuseRootless(e, l); err != nil {
		return nil, nil, err
	}
	if err := requireAllowHost(l, allowHost); err != nil {
		return nil, nil, err
	}
	if err := requireRoot(); err != nil {
		return nil, nil, err
	}
	return l, text, nil
}
