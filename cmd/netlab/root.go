package main

import (
	"github.com/spf13/cobra"
)

const rootLong = `netlab turns a YAML lab file into a live Linux network: network namespaces
as nodes, wired with veth pairs, bridges, MACVLAN, VXLAN and tun/tap devices,
with addresses, routes, sysctls and nftables NAT and firewall rules. up reads
the kernel, diffs it against the file and applies only the difference; down
removes what the lab owns. Every command that takes a lab file takes it as its
first argument; with none, it uses the built-in default lab, the single-IP
container network (three containers behind a bridge that masquerades to a
server). Commands that work on a running lab also take --lab NAME instead of
a file. -o picks the output format: text, or json for scripts (and for
render svg, dot, mermaid or script); --file PATH writes it to a file.
Commands that change or read namespaces need root.

Run netlab COMMAND --help for what a command does, its flags and examples.`

const rootExample = `  # check a lab file for mistakes, with file:line:col for each
  netlab validate lab.yaml

  # draw it
  netlab render lab.yaml --file lab.svg

  # bring up the built-in default lab, prove it works, watch it, remove it
  netlab up
  netlab check
  netlab tui
  netlab down`

func newRootCmd(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:           "netlab",
		Short:         "Build throw-away Linux networks from a YAML lab file",
		Long:          rootLong,
		Example:       rootExample,
		SilenceErrors: true,
		SilenceUsage:  true,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown command %q", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}
	root.SetFlagErrorFunc(flagError)
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		if err := refuseEmpty(cmd, args); err != nil {
			return err
		}
		if forwardHere(cmd) {
			return errForward
		}
		return nil
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.AddCommand(
		newValidateCmd(e),
		newPlanCmd(e),
		newUpCmd(e),
		newDownCmd(e),
		newStatusCmd(e),
		newLsCmd(e),
		newExecCmd(e),
		newLogsCmd(e),
		newTUICmd(e),
		newCheckCmd(e),
		newPingCmd(e),
		newTraceCmd(e),
		newCaptureCmd(e),
		newConntrackCmd(e),
		newRenderCmd(e),
		newLaunchCmd(e),
		newHolderCmd(e),
	)
	return root
}
