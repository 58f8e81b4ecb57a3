package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"syscall"

	"github.com/spf13/cobra"

	"netlab/lab/kernel"
	"netlab/lab/state"
)

func newExecCmd(e *env) *cobra.Command {
	var f labFlags
	cmd := &cobra.Command{
		Use:   "exec [FILE | --lab NAME] NODE -- CMD [ARGS...]",
		Short: "Run a command inside a node's namespace",
		Long: `exec runs a command inside a node of a running lab as ip netns exec does: in
the node's network namespace and in a mount namespace of its own, where /sys
is the node's (ls /sys/class/net lists its interfaces) and each file of
/etc/netns/LAB.NODE/, if there is one, lies over the same name in /etc (a
node's own resolv.conf or hosts); nothing mounted there reaches the machine.
The command has the terminal's standard input and output; a SIGTERM,
SIGHUP, SIGUSR1 or SIGUSR2 sent to netlab reaches it, and killing netlab
kills it. exec exits with its exit code: 128+N when signal N ended it, 127
when the command is not found, 126 when it cannot be run. Put -- before the
command so that its flags are its own. The command gets netlab's environment
but NETLAB_PROCESS, the marker of a node's declared processes: what exec
starts is never taken for one of them.`,
		Example: `  netlab exec c1 -- ip addr
  netlab exec lab.yaml r1 -- ip route
  netlab exec --lab single-ip host -- sysctl net.ipv4.ip_forward`,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			dash := cmd.ArgsLenAtDash()
			if dash < 0 {
				return usagef("put -- before the command: netlab exec [FILE] NODE -- CMD")
			}
			before, command := args[:dash], args[dash:]
			if len(command) == 0 {
				return usagef("no command after --")
			}
			var fileArgs []string
			switch len(before) {
			case 1:
			case 2:
				fileArgs = before[:1]
			default:
				return usagef("exec takes [FILE] NODE before --, got %d argument(s)", len(before))
			}
			node := before[len(before)-1]
			if err := nodeArg(node); err != nil {
				return err
			}
			name, err := labNameOnly(fileArgs, f.labName)
			if err != nil {
				return err
			}
			if err := requireRoot(); err != nil {
				return err
			}
			s, err := runningLab(cmd.Context(), name)
			if err != nil {
				return err
			}
			if _, err := runningNode(s, node); err != nil {
				return err
			}
			return runInNode(launchDirs(kernel.Launch{
				NetNS: state.NetNSName(name, node),
				Argv:  command,
				Env:   kernel.HandEnviron(os.Environ(), name, node),
				Stdin: e.stdin, Stdout: e.stdout, Stderr: e.stderr,
			}))
		}),
	}
	f.addLab(cmd)
	return cmd
}

// runInNode runs a command inside a node and ends with its exit code, as
// a shell would (see kernel.ExitStatus). Under ip netns exec the process
// is the command; netlab waits for it instead, so it stands in for the
// command in the ways a user can tell: Ctrl-C and Ctrl-\ reach the
// command from the terminal (which sends them to both, so netlab drops
// its copy), the other signals that ask a program to do something
// (passedSignals) are passed on, and when netlab is killed the command
// is killed too, rather than left running in the node.
func runInNode(l kernel.Launch) error {
	c, err := l.Command()
	if err != nil {
		return err
	}
	// The kernel sends the death signal when the thread that started the
	// child ends, not the process: keep this one until the child is
	// waited for.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, append([]os.Signal{os.Interrupt, syscall.SIGQUIT}, passedSignals...)...)
	defer signal.Stop(sigs)
	if err := c.Start(); err != nil {
		return fmt.Errorf("start netlab's launcher: %w", err)
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case s := <-sigs:
				if slices.Contains(passedSignals, s) {
					_ = c.Process.Signal(s)
				}
			case <-done:
				return
			}
		}
	}()
	err = c.Wait()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return &exitCode{kernel.ExitStatus(exitErr.ProcessState)}
	}
	return err
}

// passedSignals are the signals exec passes on to the command: those a
// user or a supervisor sends to a program's pid to stop it (TERM), to
// have it reload (HUP) or to make it report or rotate its logs (USR1,
// USR2, as dd and many daemons use them).
var passedSignals = []os.Signal{syscall.SIGTERM, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2}
