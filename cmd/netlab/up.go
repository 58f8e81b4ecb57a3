package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"netlab/lab"
	"netlab/lab/plan"
	"netlab/lab/reconcile"
)

// reconcileOptions are the pipeline's options for the CLI: netlab's run
// directory, the machine (--machine, "" for none), and fault injection
// when asked for.
func reconcileOptions(prune bool, machine string) reconcile.Options {
	return reconcile.Options{Prune: prune, Machine: machine, RunDir: &runDir, AfterChange: faultHook()}
}

// refused prints the diagnostics of a lab the pipeline refused before
// changing anything, and ends the command; other errors pass through.
func refused(e *env, err error) error {
	var r *reconcile.RefusedError
	if errors.As(err, &r) {
		_ = r.Diags.WriteText(e.stderr)
		return &exitCode{exitFailure}
	}
	return err
}

func newPlanCmd(e *env) *cobra.Command {
	var f labFlags
	var prune, detailed, allowHost bool
	cmd := &cobra.Command{
		Use:   "plan [FILE]",
		Short: "Show what up would change, without changing anything",
		Long: `plan reads the live kernel state, diffs it against the lab file and prints
what up would do, grouped by node, one object a line with the ip commands
that do it (each after a #, the others under the first): + create, ~ change
(old -> new), -/+ replace, - delete. Objects changed outside netlab since the
last up (drift) are listed first. Objects in the lab's namespaces that the
file does not declare are listed as unmanaged; up --prune removes them. plan changes nothing, but reading the kernel's
namespaces needs root. With no FILE it plans the built-in default lab. For
a lab with machines:, --machine NAME plans that machine's part, this one.`,
		Example: `  netlab plan lab.yaml
  netlab plan --detailed-exitcode lab.yaml || echo "exit 2: something to do"
  netlab plan -o json lab.yaml`,
		Args: maxArgs(1),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			l, _, err := labToChange(e, args, f.output, allowHost)
			if err != nil {
				return err
			}
			k := newKernelOn(f.machine != "")
			defer k.Close()
			planned, err := reconcile.Plan(cmd.Context(), k, l, reconcileOptions(prune, f.machine))
			if err != nil {
				return refused(e, err)
			}
			p := planned.Plan
			if f.output == "json" {
				writeJSON(e, planJSON(p))
			} else {
				p.WriteText(e.stdout)
			}
			if detailed && (!p.Empty() || len(p.Conflicts) > 0) {
				return &exitCode{exitChanges}
			}
			return nil
		}),
	}
	f.addOutput(cmd)
	cmd.Flags().BoolVar(&prune, "prune", false, "also plan to remove objects the file does not declare")
	cmd.Flags().BoolVar(&detailed, "detailed-exitcode", false, "exit 2 when the plan is not empty, 0 when it is")
	addAllowHost(cmd, &allowHost)
	f.addMachine(cmd)
	return cmd
}

func newUpCmd(e *env) *cobra.Command {
	var f labFlags
	var prune, allowHost bool
	cmd := &cobra.Command{
		Use:   "up [FILE]",
		Short: "Create the lab, or bring a running lab in line with its file",
		Long: `up reads the live kernel state, diffs it against the lab file and applies only
the difference: it creates what is missing, changes what differs, repairs
what was changed by hand, and removes what the file no longer declares. It
then reads the kernel again and succeeds only when nothing differs. A second
up of the same file changes nothing. With no FILE it brings up the built-in
default lab. If up is interrupted, running up again finishes it, and down
removes whatever it had made. On a terminal, up shows its progress on one
line; two netlab commands on the same lab never run at once: the second
waits (--wait sets how long).

A lab file with machines: runs on several machines. Run up on each, with
the same file and --machine naming the machine it runs on: up builds that
machine's nodes, and makes each link to a node of another machine a VXLAN
unicast to that machine's address, whose socket stays in this machine's
namespace. Before any change it checks that this machine has its address
(see docs/machines.md).`,
		Example: `  netlab up                 # the built-in default lab
  netlab up lab.yaml
  netlab up --prune lab.yaml  # also remove what the file does not declare
  netlab up --wait 30s lab.yaml
  netlab up lab.yaml --machine m1  # m1's part of a lab spread over machines`,
		Args: maxArgs(1),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			l, text, err := labToChange(e, args, f.output, allowHost)
			if err != nil {
				return err
			}
			ctx, cancel := signalContext()
			defer cancel()
			return withLock(ctx, e, l.Name, f.wait, func() error {
				return runUp(ctx, e, l, text, prune, f.output, f.machine)
			})
		}),
	}
	f.addOutput(cmd)
	f.addWait(cmd)
	cmd.Flags().BoolVar(&prune, "prune", false, "also remove objects in the lab's namespaces that the file does not declare")
	addAllowHost(cmd, &allowHost)
	f.addMachine(cmd)
	return cmd
}

// runUp applies the lab through the pipeline and says what it did.
func runUp(ctx context.Context, e *env, l *lab.Lab, text []byte, prune bool, output, machine string) error {
	start := time.Now()
	k := newKernelOn(machine != "")
	defer k.Close()
	opts := reconcileOptions(prune, machine)
	opts.Source = text
	var status *statusLine // progress, on a terminal only
	if output != "json" && isTerminal(e.stderr) {
		status = newStatusLine(e.stderr)
		opts.Progress = func(i, total int, c *plan.Change) {
			status.Show(fmt.Sprintf("[%d/%d] %s", i, total, c.Line()))
		}
		opts.Settling = status.Show
	}
	res, err := reconcile.Up(ctx, k, l, opts)
	status.Clear()
	if err != nil {
		return refused(e, err)
	}
	p := res.Plan
	if p.Empty() && len(p.Conflicts) == 0 {
		if output == "json" {
			writeJSON(e, upJSON{Lab: l.Name, Changed: 0, Unmanaged: len(p.Unmanaged)})
		} else {
			fmt.Fprintln(e.stdout, p.Summary())
		}
		return res.SaveErr
	}
	if res.SaveErr != nil {
		fmt.Fprintf(e.stderr, "netlab: warning: could not save the last-applied record: %v\n", res.SaveErr)
	}
	if output == "json" {
		writeJSON(e, upJSON{Lab: l.Name, Changed: res.Applied, Unmanaged: len(p.Unmanaged), Seconds: time.Since(start).Seconds()})
		return nil
	}
	fmt.Fprintf(e.stdout, "Lab %s is up: %d change(s) applied in %.2fs, and the kernel matches the file.\n", l.Name, res.Applied, time.Since(start).Seconds())
	return nil
}

type upJSON struct {
	Lab       string  `json:"lab"`
	Changed   int     `json:"changed"`
	Unmanaged int     `json:"unmanaged"`
	Seconds   float64 `json:"seconds,omitempty"`
}

// changeJSON is one change of a plan, for scripts.
type changeJSON struct {
	Action    string   `json:"action"`
	Node      string   `json:"node"`
	Object    string   `json:"object"`
	Name      string   `json:"name"`
	Text      string   `json:"text"`
	Drift     bool     `json:"drift,omitempty"`
	Unmanaged bool     `json:"unmanaged,omitempty"`
	Reason    string   `json:"reason,omitempty"`
	Commands  []string `json:"commands"`
}

type planOut struct {
	Lab       string       `json:"lab"`
	Changes   []changeJSON `json:"changes"`
	Unmanaged []changeJSON `json:"unmanaged"`
	Conflicts []string     `json:"conflicts"`
	Summary   string       `json:"summary"`
}

func planJSON(p *plan.Plan) planOut {
	out := planOut{Lab: p.Lab, Changes: []changeJSON{}, Unmanaged: []changeJSON{}, Conflicts: []string{}, Summary: p.Summary()}
	conv := func(c *plan.Change) changeJSON {
		return changeJSON{Action: c.Action.String(), Node: c.Node, Object: string(c.Object), Name: c.Name, Text: c.Describe(),
			Drift: c.Drift, Unmanaged: c.Unmanaged, Reason: c.Reason, Commands: c.Cmds()}
	}
	for _, c := range p.Changes {
		out.Changes = append(out.Changes, conv(c))
	}
	for _, c := range p.Unmanaged {
		out.Unmanaged = append(out.Unmanaged, conv(c))
	}
	for _, c := range p.Conflicts {
		out.Conflicts = append(out.Conflicts, c.Error())
	}
	return out
}

func writeJSON(e *env, v any) {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // "a -> b" stays readable; the output is not HTML
	_ = enc.Encode(v)
}

// faultHook returns, when NETLAB_FAULT_KILL_AFTER=N is set, a hook that
// kills this process with SIGKILL right after the N-th change: the fault
// tests use it to prove that up and down converge from any point. It is
// nil otherwise.
func faultHook() func(int) {
	n, err := strconv.Atoi(os.Getenv("NETLAB_FAULT_KILL_AFTER"))
	if err != nil || n <= 0 {
		return nil
	}
	return func(i int) {
		if i == n {
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // the signal is on its way
		}
	}
}
