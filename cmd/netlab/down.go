package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"netlab/lab/apply"
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
refuses to start without it.

Before it deletes a node's namespace, down stops every process running in
it, those the lab file declares and those started by hand with netlab exec:
SIGTERM, then SIGKILL for any still running after a grace period. It says
which it stopped, and which needed SIGKILL. Before each signal it checks
that the pid is still the same process, in the lab's namespace, so a pid
the kernel has given to another process since is never signalled. Then it
removes the nodes' /etc/netns hosts files while it deletes the namespaces,
and the processes' logs. It returns once the names are gone and nothing
of the lab holds a namespace; the kernel frees what was inside them in the
background, a moment later, as it does for ip netns del.

For a lab spread over several machines, down removes what the lab has on
the machine it runs on, and nothing on the others: run it on each, with
--machine naming this one (checked against the file).`,
		Example: `  netlab down lab.yaml
  netlab down --lab single-ip
  netlab down                 # the built-in default lab`,
		Args: maxArgs(1),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(f.output); err != nil {
				return err
			}
			// The file is parsed once, for the name and for whether it
			// declares a host node: at 100 nodes a second parse was a
			// third of down's time.
			name, parsed, _, err := labNameParsed(args, f.labName)
			if err != nil {
				return err
			}
			declaresHost := len(args) > 0 && parsed != nil && len(hostNodes(parsed)) > 0
			if err := requireRoot(); err != nil {
				return err
			}
			if f.machine != "" {
				known := parsed
				if known == nil {
					known, _, _ = appliedLab(name)
				}
				if err := checkMachine(known, f.machine); err != nil {
					return err
				}
			}
			ctx, cancel := signalContext()
			defer cancel()
			// On a machine of a lab over several, the links to other
			// machines are deleted before their namespaces (see
			// kernel.WithStartAsMachine), with --machine or without.
			onMachine := f.machine != "" || (parsed != nil && len(parsed.Machines) > 0)
			if !onMachine {
				_, onMachine = apply.LoadMachine(runDir, name)
			}
			return withLock(ctx, e, name, f.wait, func() error {
				k := newKernelOn(onMachine)
				defer k.Close()
				opts := reconcile.DownOptions{AllowHost: allowHost, DeclaresHost: !allowHost && declaresHost, RunDir: &runDir}
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
					// The record, source, logs and exits record: each
					// that stays is said, on one line.
					fmt.Fprintf(e.stderr, "netlab: warning: the lab is down, but not all of its files in the run directory could be removed: %s\n",
						strings.ReplaceAll(res.ForgetErr.Error(), "\n", "; "))
				}
				deleted, hostDeleted := res.Deleted, res.HostDeleted
				if f.output == "json" {
					if deleted == nil {
						deleted = []string{}
					}
					out := map[string]any{"lab": name, "deleted": deleted, "stopped": stoppedJSON(res.Stopped)}
					if allowHost {
						if hostDeleted == nil {
							hostDeleted = []string{}
						}
						out["host_links_deleted"] = hostDeleted
					}
					writeJSON(e, out)
					return nil
				}
				if len(res.Stopped) > 0 {
					fmt.Fprintln(e.stdout, stoppedText(res.Stopped))
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
	f.addMachine(cmd)
	return cmd
}

// stoppedText is the line down prints about the processes it stopped:
// "Stopped 3 process(es): web/http (pid 1234), web/db (pid 1235, needed
// SIGKILL), c1 pid 1240 (sleep 100, started by hand); 1 needed SIGKILL."
func stoppedText(stopped []reconcile.StoppedProcess) string {
	parts := make([]string, 0, len(stopped))
	killed := 0
	for _, p := range stopped {
		kill := ""
		if p.Killed {
			killed++
			kill = ", needed SIGKILL"
		}
		if p.Name == "" {
			parts = append(parts, fmt.Sprintf("%s pid %d (%s, started by hand%s)", p.Node, p.Pid, cut(strings.Join(p.Command, " "), 40), kill))
			continue
		}
		parts = append(parts, fmt.Sprintf("%s/%s (pid %d%s)", p.Node, p.Name, p.Pid, kill))
	}
	text := fmt.Sprintf("Stopped %d process(es): %s", len(stopped), strings.Join(parts, ", "))
	if killed > 0 {
		text += fmt.Sprintf("; %d needed SIGKILL (SIGTERM did not end it in time)", killed)
	}
	return text + "."
}

// stoppedProcess is a process down stopped, in down -o json.
type stoppedProcess struct {
	Node    string   `json:"node"`
	Name    string   `json:"name"`    // "" for a process started by hand
	ByHand  bool     `json:"by_hand"` // started by hand (netlab exec), not declared
	Pid     int      `json:"pid"`
	Command []string `json:"command"`
	Killed  bool     `json:"killed"` // needed SIGKILL
}

func stoppedJSON(stopped []reconcile.StoppedProcess) []stoppedProcess {
	out := []stoppedProcess{}
	for _, p := range stopped {
		cmd := p.Command
		if cmd == nil {
			cmd = []string{}
		}
		out = append(out, stoppedProcess{Node: p.Node, Name: p.Name, ByHand: p.Name == "", Pid: p.Pid, Command: cmd, Killed: p.Killed})
	}
	return out
}
