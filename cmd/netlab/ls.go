package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"netlab/lab/kernel"
)

func newLsCmd(e *env) *cobra.Command {
	var f labFlags
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List the labs running on this machine",
		Long: `ls lists the labs that have namespaces on this machine, found by netlab's
marks in the kernel, with their nodes.`,
		Example: `  netlab ls
  netlab ls -o json`,
		Args: maxArgs(0),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(f.output); err != nil {
				return err
			}
			if err := requireRoot(); err != nil {
				return err
			}
			k := newKernel()
			defer k.Close()
			labs, err := k.Labs(cmd.Context())
			if err != nil {
				return err
			}
			if f.output == "json" {
				if labs == nil {
					labs = []kernel.LabInfo{}
				}
				writeJSON(e, labs)
				return nil
			}
			if len(labs) == 0 {
				fmt.Fprintln(e.stdout, "No labs are running. Start one with: netlab up [FILE]")
				return nil
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "LAB\tNODES\tNAMES")
			for _, l := range labs {
				fmt.Fprintf(tw, "%s\t%d\t%s\n", l.Name, len(l.Nodes), strings.Join(l.Nodes, " "))
			}
			return tw.Flush()
		}),
	}
	f.addOutput(cmd)
	return cmd
}
