package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"netlab/lab/labfile"
	"netlab/lab/reconcile"
)

func newDownCmd(e *env) *cobra.Command {
	var f labFlags
	var allowHost bool
	cmd := &cobra.Command{
		Use:   "down [FILE | --lab NAME]",
		Short: "Remove everything a lab owns",
		Long: `down removes every namespace the lab owns, and with it every link, address
and route inside. It finds them in the kernel by netlab's marks, not in the
file, so it works after a half-finished up, after the file was edited or
deleted (use --lab NAME), and twice in a row. Namespaces or links that carry
no netlab mark are never touched, whatever their names. A lab with a host:
true node also made links in this machine's root namespace: down removes
those (and only those, found by their mark) when given --allow-host, and
refuses to start without it.`,
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
				opts := reconcile.DownOptions{AllowHost: allowHost, DeclaresHost: !allowHost && fileHasHost(args), RunDir: &runDir}
				var status *statusLine // progress, on a terminal only
				if f.output != "json" && isTerminal(e.stderr) {
					status = newStatusLine(e.stderr)
					opts.Progress = func(i, total int, netns string) {
						status.Show(fmt.Sprintf("[%d/%d] - netns %s", i, total, netns))
					}
				}
				res, err := reconcile.Down(ctx, k, name, opts)
				status.Clear()
				if err != nil {
					return err
				}
				if res.ForgetErr != nil {
					fmt.Fprintf(e.stderr, "netlab: warning: could not remove the last-applied record: %v\n", res.ForgetErr)
				}
				deleted, hostDeleted := res.Deleted, res.HostDeleted
				if f.output == "json" {
					if deleted == nil {
						deleted = []string{}
					}
					out := map[string]any{"lab": name, "deleted": deleted}
					if allowHost {
						if hostDeleted == nil {
							hostDeleted = []string{}
						}
						out["host_links_deleted"] = hostDeleted
					}
					writeJSON(e, out)
					return nil
				}
				if len(hostDeleted) > 0 {
					fmt.Fprintf(e.stdout, "Removed %d link(s) of lab %s from this machine's root namespace: %s.\n", len(hostDeleted), name, strings.Join(hostDeleted, ", "))
				}
				if len(deleted) == 0 {
					if len(hostDeleted) == 0 {
						fmt.Fprintf(e.stdout, "Lab %s is not running: nothing to remove.\n", name)
					}
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
	addAllowHost(cmd, &allowHost)
	return cmd
}

// fileHasHost reports whether the lab file of args (if one is given, and
// however broken the rest of it is) declares a host: true node.
func fileHasHost(args []string) bool {
	if len(args) == 0 {
		return false
	}
	l, _ := labfile.Load(args[0], displayPath(args[0]))
	return l != nil && len(hostNodes(l)) > 0
}
