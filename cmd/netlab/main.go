// Command netlab turns a YAML lab file into a live Linux network of
// namespaces, veth pairs and bridges. This package is the command line
// only: flags, output formats and exit codes; the work is done in lab/.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"netlab/lab/diag"
	"netlab/lab/kernel"
	"netlab/lab/rootless"
)

// Exit codes, as the command line spec fixes them.
const (
	exitOK      = 0
	exitFailure = 1  // a failure the message explains
	exitChanges = 2  // plan --detailed-exitcode: the plan is not empty
	exitUsage   = 64 // bad usage (EX_USAGE)
)

// minProcs is the least GOMAXPROCS netlab runs with. Its goroutines
// spend their time in system calls (netlink dumps and changes, one or
// more per namespace), and a goroutine in a system call keeps its
// processor until the runtime's monitor takes it back, 20 µs or more
// later: with one processor per core, two reads of the kernel in flight
// on a 2-core machine left none to parse what the last one returned. A
// no-op plan of 1000 nodes took 0.33 s with 2 and 0.28 s with 4
// (docs/performance.md).
const minProcs = 4

func main() {
	if os.Getenv("GOMAXPROCS") == "" && runtime.GOMAXPROCS(0) < minProcs {
		runtime.GOMAXPROCS(minProcs)
	}
	// This binary is netlab's own command line, which the holder starts
	// again as the worker: only then may a command be forwarded (a test
	// binary that calls run would start its own tests in the holder).
	isNetlabBinary = true
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes one netlab command and returns its exit code. Tests call it
// directly, as the binary does.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	// Its hidden subcommand kernel.LauncherCommand is the launcher, so the
	// program that runs this may start itself as one.
	kernel.LauncherAnswered()
	if d, ok, err := rootless.Worker(os.Getenv); err != nil {
		fmt.Fprintf(stderr, "netlab: %v\n", err)
		return exitFailure
	} else if ok {
		if err := becomeWorker(d); err != nil {
			fmt.Fprintf(stderr, "netlab: %v\n", err)
			return exitFailure
		}
	}
	root := newRootCmd(&env{stdin: stdin, stdout: stdout, stderr: stderr})
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if errors.Is(err, errForward) {
		return rootless.Forward(args, streamFile(stdin, os.Stdin), streamFile(stdout, os.Stdout), streamFile(stderr, os.Stderr))
	}
	return exitCodeFor(err, stderr)
}

// env is what every command writes to and reads from.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// exitCodeFor prints err, if any, and picks the exit code. Commands mark
// their own failures (failure) and usage errors (usageError); any other
// error comes from cobra's own parsing of the command line, and so is bad
// usage too.
func exitCodeFor(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	var code *exitCode
	if errors.As(err, &code) {
		return code.code
	}
	var f *failure
	if errors.As(err, &f) {
		msg := oneLine(f.err.Error())
		if hint := hintFor(f.err); hint != "" {
			msg += " (" + hint + ")"
		}
		fmt.Fprintf(stderr, "netlab: %s\n", msg)
		for _, line := range details(f.err) {
			fmt.Fprintf(stderr, "  %s\n", line)
		}
		return exitFailure
	}
	msg := err.Error()
	var u *usageError
	if errors.As(err, &u) {
		msg = u.msg
	}
	fmt.Fprintf(stderr, "netlab: %s\n", oneLine(msg))
	fmt.Fprintln(stderr, "Run 'netlab --help' for usage.")
	return exitUsage
}

// details are the lines that errors in err's tree have to show under
// its one line (a failed process's last log lines), each folded onto one
// line of its own.
func details(err error) []string {
	var out []string
	var walk func(error)
	walk = func(err error) {
		if d, ok := err.(interface{ Details() []string }); ok {
			for _, l := range d.Details() {
				out = append(out, oneLine(l))
			}
			return
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			if next := u.Unwrap(); next != nil {
				walk(next)
			}
		case interface{ Unwrap() []error }:
			for _, next := range u.Unwrap() {
				walk(next)
			}
		}
	}
	walk(err)
	return out
}

// oneLine folds an error onto one line, as the spec asks of every message.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// failure marks an error as a failure of the work asked for (exit 1), as
// opposed to bad usage (exit 64).
type failure struct{ err error }

func (f *failure) Error() string { return f.err.Error() }
func (f *failure) Unwrap() error { return f.err }

// usageError is bad usage: a wrong argument or flag value.
type usageError struct{ msg string }

func (u *usageError) Error() string { return u.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// exitCode ends the command with a code after it has printed everything
// itself (validate's diagnostics, plan's detailed exit code).
type exitCode struct{ code int }

func (e *exitCode) Error() string { return fmt.Sprintf("exit %d", e.code) }

// runE adapts a command's body so that any error it returns, other than
// bad usage or an explicit exit code, counts as a failure.
func runE(body func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		err := body(cmd, args)
		if err == nil {
			return nil
		}
		var u *usageError
		var c *exitCode
		var f *failure
		if errors.As(err, &u) || errors.As(err, &c) || errors.As(err, &f) {
			return err
		}
		if _, ok := diag.AsList(err); ok {
			return err
		}
		return &failure{err: err}
	}
}

// maxArgs is cobra.MaximumNArgs with an error marked as bad usage.
func maxArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > n && n == 0 {
			return usagef("%s takes no arguments, got: %s", cmd.CommandPath(), strings.Join(args, " "))
		}
		if len(args) > n {
			return usagef("%s takes at most %d argument(s), got %d: %s", cmd.CommandPath(), n, len(args), strings.Join(args, " "))
		}
		return nil
	}
}
