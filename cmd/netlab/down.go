package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"netlab/lab/apply"
)

func newDownCmd(e *env) *cobra.Command {
	var f labFlags
	cmd := &cobra.Command{
		Use:   "down [FILE | --lab NAME]",
		Short: "Remove everything a lab owns",
		Long: `down removes every namespace the lab owns, and with it every link, address
and route inside. It finds them in the kernel by netlab's marks, not in the
file, so it works after a half-finished up, after the file was edited or
deleted (use --lab NAME), and twice in a row. Namespaces or links that carry
no netlab mark are never touched, whatever their names.`,
		Example: `  sudo netlab down lab.yaml
  sudo netlab down --lab single-ip
  sudo netlab down                 # the built-in default lab`,
		Args: maxArgs(1),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(f.output); err != nil {
				return err
			}
			name, err := labNameOnly(args, f.labName)
			if err != nil {
				return err
			}
			if err := requireRoot(); err != nil {
				return err
			}
			ctx, cancel := signalContext()
			defer cancel()
			return withLock(ctx, e, name, f.wait, func() error {
				k := newKernel()
				defer k.Close()
				var progress func(i, total int, netns string)
				if f.output != "json" && isTerminal(e.stderr) {
					progress = func(i, total int, netns string) {
						fmt.Fprintf(e.stderr, "\r\033[K[%d/%d] - netns %s", i, total, netns)
					}
				}
				deleted, err := apply.Down(ctx, k, name, progress)
				if progress != nil {
					fmt.Fprint(e.stderr, "\r\033[K")
				}
				if err != nil {
					return fmt.Errorf("lab %s: %w", name, err)
				}
				if err := apply.DeleteRecord(name); err != nil {
					fmt.Fprintf(e.stderr, "netlab: warning: could not remove the last-applied record: %v\n", err)
				}
				if f.output == "json" {
					if deleted == nil {
						deleted = []string{}
					}
					writeJSON(e, map[string]any{"lab": name, "deleted": deleted})
					return nil
				}
				if len(deleted) == 0 {
					fmt.Fprintf(e.stdout, "Lab %s is not running: nothing to remove.\n", name)
					return nil
				}
				fmt.Fprintf(e.stdout, "Lab %s is down: %d namespace(s) removed.\n", name, len(deleted))
				return nil
			})
		}),
	}
	f.addLab(cmd)
	f.addWait(cmd)
	f.addOutput(cmd)
	return cmd
}
