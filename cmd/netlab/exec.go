package main

import (
	"errors"
	"fmt"
	"os/exec"

	"github.com/spf13/cobra"

	"netlab/lab/kernel"
	"netlab/lab/state"
)

func newExecCmd(e *env) *cobra.Command {
	var f labFlags
	cmd := &cobra.Command{
		Use:   "exec [FILE | --lab NAME] NODE -- CMD [ARGS...]",
		Short: "Run a command inside a node's namespace",
		Long: `exec runs a command inside the network namespace of a node of a running lab,
with the terminal's standard input and output, and exits with the command's
exit code. Put -- before the command so that its flags are its own.`,
		Example: `  sudo netlab exec c1 -- ip addr
  sudo netlab exec lab.yaml r1 -- ip route
  sudo netlab exec --lab single-ip host -- sysctl net.ipv4.ip_forward`,
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
			k := newKernel()
			defer k.Close()
			s, err := k.Observe(cmd.Context(), name, nil)
			if err != nil {
				return err
			}
			n := s.Nodes[node]
			if n == nil || n.Foreign {
				return fmt.Errorf("lab %s has no running node %q (nodes: %v)", name, node, s.NodeNames())
			}
			c := exec.Command(command[0], command[1:]...)
			c.Stdin, c.Stdout, c.Stderr = e.stdin, e.stdout, e.stderr
			if err := kernel.StartIn(state.NetNSName(name, node), c); err != nil {
				return fmt.Errorf("node %s: %w", node, err)
			}
			err = c.Wait()
			var exitErr *exec.ExitError
			if errors.As(err, &exitErr) {
				return &exitCode{exitErr.ExitCode()}
			}
			return err
		}),
	}
	f.addLab(cmd)
	return cmd
}
