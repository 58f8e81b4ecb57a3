package main

import (
	"github.com/spf13/cobra"

	"netlab/lab/kernel"
)

// newLaunchCmd is the launcher that netlab starts itself again as to run
// a command inside a node (see kernel.Launch): hidden, since only netlab
// calls it, with arguments kernel.Launch.Command encodes. Its flags are
// the launcher's to decode, not cobra's, so that the command's own pass
// through untouched.
func newLaunchCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:                kernel.LauncherCommand + " --netns LAB.NODE --dir DIR -- CMD [ARGS...]",
		Short:              "Run a command inside a node (netlab's own; use exec)",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			// RunLauncher returns only when the command could not run.
			return &exitCode{kernel.RunLauncher(args, e.stderr)}
		},
	}
}
