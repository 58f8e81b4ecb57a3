package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
)

func newValidateCmd(e *env) *cobra.Command {
	var f labFlags
	cmd := &cobra.Command{
		Use:   "validate [FILE]",
		Short: "Check a lab file and report every problem with its position",
		Long: `validate parses a lab file and checks it against every rule of the lab
format, without touching the kernel. A valid file prints nothing and exits 0.
Otherwise every problem is printed at once, sorted, one per line to standard
error, as FILE:LINE:COL: what is wrong (how to fix it), and the exit code is 1.
With no FILE it checks the built-in default lab.`,
		Example: `  netlab validate lab.yaml
  netlab validate -o json lab.yaml | jq '.[].message'`,
		Args: maxArgs(1),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(f.output); err != nil {
				return err
			}
			_, diags := loadLab(args)
			if f.output == "json" {
				data, err := json.Marshal(diags)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "%s\n", data)
			} else if err := diags.WriteText(e.stderr); err != nil {
				return err
			}
			if diags.HasErrors() {
				return &exitCode{exitFailure}
			}
			return nil
		}),
	}
	f.addOutput(cmd)
	return cmd
}

// checkOutput rejects an unknown -o value as bad usage.
func checkOutput(output string) error {
	switch output {
	case "text", "json":
		return nil
	}
	return usagef("unknown output format %q: use text or json", output)
}
