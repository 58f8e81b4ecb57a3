package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime/debug"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"netlab/lab"
	"netlab/lab/check"
	"netlab/lab/kernel"
	"netlab/lab/plan"
	"netlab/lab/reconcile"
	"netlab/lab/state"
	"netlab/tui"
)

func newTUICmd(e *env) *cobra.Command {
	var f labFlags
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "tui [FILE | --lab NAME]",
		Short: "Watch a running lab live: interfaces, links, counters, rules, processes, traces, conntrack",
		Long: `tui shows a running lab as the kernel has it, live: every node and its
interfaces (kind, veth peer, master bridge, state, MTU, addresses) with rx/tx
packets, bytes, drops and errors and their rates per second; the lab's links
(veth pairs, bridges with their ports, VXLAN, MACVLAN); each node's netfilter
rules by hook with their counters; the lab's processes (node, name, pid,
state, uptime, command), those the file declares under run: and those
started by hand; and whether the lab still matches its file (drift). Link
changes show at once; counters refresh every --interval. Between two full
reads of the lab (on a change the kernel reports or the counters show, on
r, and every 10s, or less often on a lab whose full read is slow), each
refresh reads only the state and counters of the links and rules on
screen; the title line says when the rest was read. It needs a terminal;
for a script, use netlab status (-o json).

Keys: arrows or j/k move, Tab switches pane, / filters, Enter shows detail,
p shows the plan, c runs the checks, r reads everything now, t traces a
probe from the selected row's node to a target you type (server udp 7) and
shows its way hook by hook, n shows that node's conntrack table live, ?
shows help, q quits.`,
		Example: `  netlab tui
  netlab tui lab.yaml --interval 500ms
  netlab tui --lab single-ip`,
		Args: maxArgs(1),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if interval < 100*time.Millisecond {
				return usagef("--interval %s is too short: use 100ms or more", interval)
			}
			name, l, err := labNameAndFile(args, f.labName)
			if err != nil {
				return err
			}
			// Before the kernel is read or the screen drawn: without a
			// terminal the UI would print escape codes, then fail.
			if !isTerminal(e.stdin) || !isTerminal(e.stdout) {
				return &failure{err: errors.New("netlab tui needs a terminal: run it in one, with neither its input nor its output redirected; for a script, use netlab status")}
			}
			if err := requireRoot(); err != nil {
				return err
			}
			// The file gives the rules their text, drift and the checks;
			// with --lab, the file the lab was brought up with does.
			if f.labName != "" {
				if ll, _, err := appliedLab(name); err == nil {
					l = ll
				}
			}
			checks := []*lab.Check(nil)
			if l != nil {
				if checks, err = checksOn(l, f.machine); err != nil {
					return err
				}
			}
			k := newLinuxOn(f.machine != "")
			defer k.Close()
			src := newKernelSource(k, name, l, f.machine)
			hint := "netlab up FILE"
			switch {
			case len(args) == 1:
				hint = "netlab up " + args[0]
			case f.labName == "":
				hint = "netlab up"
			}
			opts := tui.Options{Source: src, Lab: l, LabName: name, Interval: interval, StartHint: hint}
			opts.RunChecks = checkRunner(k, l, checks)
			if err := tui.Run(cmd.Context(), opts, e.stdin, e.stdout); err != nil {
				return &failure{err: fmt.Errorf("tui: %w", err)}
			}
			return nil
		}),
	}
	f.addLab(cmd)
	cmd.Flags().DurationVar(&interval, "interval", time.Second, "read the counters every `DURATION` (500ms, 2s)")
	f.addMachine(cmd)
	return cmd
}

// checkRunner runs the file's checks for the c key. The checks live in the
// lab file: with --lab, in the one the lab was brought up with, if netlab
// kept it.
// checks are those of l that run on this machine (checksOn).
func checkRunner(ns kernel.NetNS, l *lab.Lab, checks []*lab.Check) func(context.Context) ([]tui.CheckResult, error) {
	return func(ctx context.Context) ([]tui.CheckResult, error) {
		if l == nil {
			return nil, errors.New("no lab file: start netlab tui with the lab file to run its checks")
		}
		if len(checks) == 0 {
			return nil, fmt.Errorf("lab %s has no checks that start on this machine", l.Name)
		}
		var out []tui.CheckResult
		err := withProbes(ctx, nil, l.Name, func() error {
			for _, r := range check.Run(ctx, ns, l, checks) {
				out = append(out, tui.CheckResult{Name: r.Name, Pass: r.Passed, Detail: r.Detail()})
			}
			return nil
		})
		return out, err
	}
}

// watchedKernel is what the UI reads a lab through: the kernel's objects,
// and its change notifications. kernel.Linux is one, and so is
// kerneltest's fake with a watcher.
type watchedKernel interface {
	kernel.Kernel
	kernel.Watcher
	kernel.CounterReader
}

// kernelSource is the UI's view of the kernel: it observes the lab, names
// its rules from the last up's record and the file, plans against the file
// for drift, and forwards link events.
type kernelSource struct {
	k       watchedKernel
	name    string
	lab     *lab.Lab     // nil without a lab file
	desired *state.State // from lab; nil without one

	mu    sync.Mutex
	last  *state.State    // guarded by mu
	plan  *plan.Plan      // from last to desired; guarded by mu
	procs []tui.Process   // the processes of last; guarded by mu
	nodes map[string]bool // nodes of last; guarded by mu
}

// machine, for a lab with machines, is the one this is: the UI shows its
// part of the lab, and drift against that part.
func newKernelSource(k watchedKernel, name string, l *lab.Lab, machine string) *kernelSource {
	s := &kernelSource{k: k, name: name, lab: l, nodes: map[string]bool{}}
	if l != nil {
		s.desired = plan.DesiredOn(l, machine)
	}
	return s
}

// Snapshot reads the lab from the kernel.
func (s *kernelSource) Snapshot(ctx context.Context) (*state.State, error) {
	st, err := reconcile.Observe(ctx, s.k, s.name, s.desired, &runDir)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// The kernel keeps a handle on every namespace it has read, and
	// Observe never looks again at one that was deleted: let them all go
	// when a node disappears, or the deleted namespace (and the veth ends
	// it holds) would live on while the UI runs.
	gone := false
	for n := range s.nodes {
		if st.Nodes[n] == nil {
			gone = true
		}
	}
	if gone {
		s.k.Close()
	}
	s.nodes = make(map[string]bool, len(st.Nodes))
	for n := range st.Nodes {
		s.nodes[n] = true
	}
	s.last = st
	// The plan is made here, with the record read for the rules' text:
	// then neither the record nor the hosts files' content (a thousand
	// lines a node on a thousand-node lab, which only the plan compares)
	// is kept until the next full read.
	record := reconcile.NameRules(st, s.name, &runDir, s.desired)
	s.plan = nil
	if s.desired != nil {
		s.plan = reconcile.Diff(s.desired, st, record, false)
	}
	s.procs = tuiProcesses(reconcile.ProcessesIn(st, record, &runDir))
	for _, n := range st.Nodes {
		if n.Hosts != nil {
			n.Hosts = &state.HostsFile{Foreign: n.Hosts.Foreign}
		}
	}
	// A full read of a large lab leaves much garbage (on 1000 nodes,
	// over 100 MB: the record decoded, every namespace's dumps): hand it
	// back to the system now, rather than hold it as the heap's room to
	// grow until the next full read. A collection every full read (ten seconds or more apart)
	// costs little beside the read.
	if len(st.Nodes) >= freeAfterNodes {
		debug.FreeOSMemory()
	}
	return st, nil
}

// freeAfterNodes is the size of lab from which a full read's memory is
// handed back at once.
const freeAfterNodes = 100

// Plan is the diff of the last snapshot against the file; nil without a
// file.
func (s *kernelSource) Plan(ctx context.Context) (*plan.Plan, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.plan, nil
}

// Events forwards the kernel's link, address, route and namespace
// changes; nil when they cannot be watched (the UI then only polls).
func (s *kernelSource) Events(ctx context.Context) <-chan struct{} {
	ch, err := s.k.Watch(ctx, s.name)
	if err != nil {
		return nil
	}
	return ch
}

// Processes lists the lab's processes for the Processes pane, as netlab
// status does, from the snapshot just taken (Snapshot lists them): no
// second read of the kernel.
func (s *kernelSource) Processes(ctx context.Context) ([]tui.Process, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last == nil {
		return nil, errors.New("the lab has not been read yet")
	}
	return s.procs, nil
}

// Counters reads the links' states and counters of the nodes linksOf
// names, and the rule counters of those rulesOf names (the UI's rows on
// screen), and returns the last snapshot with them: one link dump for
// each such namespace (and a table's dump for each node of rulesOf),
// where Snapshot reads everything. Nodes of neither are as the snapshot
// has them. The last snapshot is left as it was: the new state shares
// what did not change with it, and copies each node, link and rule it
// updates.
func (s *kernelSource) Counters(ctx context.Context, linksOf, rulesOf []string) (*state.State, bool, error) {
	s.mu.Lock()
	last := s.last
	s.mu.Unlock()
	if last == nil {
		return nil, true, nil
	}
	// The namespaces to read: a node's own, or the machine's for a host
	// node, once.
	netnsOf := func(names []string, nft bool) []string {
		var out []string
		host := false
		for _, name := range names {
			switch n := last.Nodes[name]; {
			case n == nil || n.Foreign || nft && n.NFT == nil:
			case n.Host:
				host = !nft
			default:
				out = append(out, n.NetNS)
			}
		}
		if host {
			out = append(out, state.HostNetNS)
		}
		return out
	}
	var links map[string][]kernel.LinkCounters
	var rules map[string][]kernel.RuleCounter
	var err error
	if ns := netnsOf(linksOf, false); len(ns) > 0 {
		if links, err = s.k.LinkCounters(ctx, ns); err != nil {
			return nil, false, err
		}
	}
	if ns := netnsOf(rulesOf, true); len(ns) > 0 {
		if rules, err = s.k.RuleCounters(ctx, ns); err != nil {
			return nil, false, err
		}
	}
	next := *last
	next.Nodes = make(map[string]*state.Node, len(last.Nodes))
	maps.Copy(next.Nodes, last.Nodes)
	for _, name := range linksOf {
		n := last.Nodes[name]
		if n == nil || n.Foreign {
			continue
		}
		got, ok := links[n.NetNS]
		if !ok {
			return last, true, nil // the namespace is gone
		}
		nn, same := withCounters(n, got)
		if !same {
			return last, true, nil
		}
		next.Nodes[name] = nn
	}
	for _, name := range rulesOf {
		n := next.Nodes[name]
		if n == nil || n.Foreign || n.Host || n.NFT == nil {
			continue
		}
		rs, ok := rules[n.NetNS]
		if !ok {
			return last, true, nil // the table or the namespace is gone
		}
		t, same := withRuleCounters(n.NFT, rs)
		if !same {
			return last, true, nil
		}
		nn := *n
		nn.NFT = t
		next.Nodes[name] = &nn
	}
	return &next, false, nil
}

// withCounters is a copy of n with the state and counters of got, the
// links of its namespace as LinkCounters read them; same is false when
// they are not the links of n any more (one gone or new, renamed, set up
// or down, another master or MTU). A host node's namespace is the
// machine's: only its links that n has are looked at.
func withCounters(n *state.Node, got []kernel.LinkCounters) (nn *state.Node, same bool) {
	byIndex := make(map[int]*kernel.LinkCounters, len(got))
	for i := range got {
		byIndex[got[i].Index] = &got[i]
	}
	if !n.Host && len(got) != len(n.Links) {
		return n, false
	}
	c := *n
	c.Links = make(map[string]*state.Link, len(n.Links))
	for name, l := range n.Links {
		lc := byIndex[l.Index]
		if lc == nil || lc.Name != name || lc.MTU != l.MTU || lc.Up != l.Up {
			return n, false
		}
		master := ""
		if m := byIndex[lc.MasterIndex]; m != nil && lc.MasterIndex != 0 {
			master = m.Name
		}
		if master != l.Master {
			return n, false
		}
		cl := *l
		cl.OperState, cl.Stats = lc.OperState, lc.Stats
		c.Links[name] = &cl
	}
	return &c, true
}

// withRuleCounters is a copy of t with the counters of rs, its rules as
// RuleCounters read them; same is false when they are not t's rules any
// more (one added or removed).
func withRuleCounters(t *state.NFTable, rs []kernel.RuleCounter) (*state.NFTable, bool) {
	type key struct{ chain, tag string }
	byKey := make(map[key]kernel.RuleCounter, len(rs))
	for _, r := range rs {
		byKey[key{r.Chain, r.Tag}] = r
	}
	c := *t
	c.Chains = make([]*state.NFChain, len(t.Chains))
	n := 0
	for i, ch := range t.Chains {
		cc := *ch
		cc.Rules = make([]*state.NFRule, len(ch.Rules))
		for j, r := range ch.Rules {
			rc, ok := byKey[key{ch.Name, r.Tag}]
			if !ok {
				return t, false
			}
			cr := *r
			cr.Packets, cr.Bytes = rc.Packets, rc.Bytes
			cc.Rules[j] = &cr
			n++
		}
		c.Chains[i] = &cc
	}
	return &c, n == len(rs)
}

// tuiProcesses turns the pipeline's view of the processes into the UI's.
func tuiProcesses(procs []reconcile.ProcessStatus) []tui.Process {
	out := make([]tui.Process, 0, len(procs))
	for _, p := range procs {
		out = append(out, tui.Process{Node: p.Node, Name: p.Name, Pid: p.Pid, State: p.State, Uptime: p.Uptime, Command: p.Command})
	}
	return out
}

// The UI's Processes pane reads the kernel source's processes.
var _ tui.ProcessLister = (*kernelSource)(nil)
