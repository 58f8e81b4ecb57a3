package main

import (
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"netlab/lab/device"
	"netlab/lab/plan"
	"netlab/lab/reconcile"
	"netlab/lab/state"
)

func newStatusCmd(e *env) *cobra.Command {
	var f labFlags
	cmd := &cobra.Command{
		Use:   "status [FILE | --lab NAME]",
		Short: "Show a running lab: nodes, interfaces and packet counters",
		Long: `status reads a running lab from the kernel and prints a table of its nodes
and interfaces: kind, veth peer, master bridge, state, MTU, addresses, and
rx/tx packet and byte counters; then each node's processes: those the lab
file declares under run: (by name) and those started by hand with netlab
exec (named "(by hand)"), with their pid, state (running; exited N when
netlab saw it end with status N; exited when it ended while no netlab was
watching; restarting while an up stops and starts it again; not started),
uptime and command; then the MAC addresses each
bridge has learned on each port, each node's policy routing rules (ip
rule: netlab's and any added by hand) and the routes of its tables other
than main, and each node's nftables rules by hook
with their counters. Interfaces netlab did not create are marked "unmanaged". With no
FILE it shows the built-in default lab; --lab NAME shows any running lab
(netlab ls lists them). For a lab spread over machines, each link to a
node of another machine shows as "vxlan to m2 (VNI 9594391)"; --machine
names this machine, as for up.`,
		Example: `  netlab status
  netlab status --lab single-ip -o json | jq '.nodes[].links[].stats'
  netlab status -o json | jq -r '.processes[] | "\(.node)/\(.name) \(.state)"'`,
		Args: maxArgs(1),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(f.output); err != nil {
				return err
			}
			name, l, err := labNameAndFile(args, f.labName)
			if err != nil {
				return err
			}
			if err := requireRoot(); err != nil {
				return err
			}
			// With --lab, the file up kept is parsed only when needed: to
			// check --machine against it, or to name the machines of the
			// links to them (a 1000-node file takes a tenth of a second).
			applied := l
			if applied == nil && f.labName != "" && f.machine != "" {
				applied, _, _ = appliedLab(name)
			}
			if err := checkMachine(applied, f.machine); err != nil {
				return err
			}
			k := newKernelOn(f.machine != "")
			defer k.Close()
			s, err := reconcile.Observe(cmd.Context(), k, name, nil, &runDir)
			if err != nil {
				return fmt.Errorf("lab %s: %w", name, err)
			}
			// The kernel knows rules by tag only; their text comes from
			// the last up's record, or from the lab file.
			var desired *state.State
			if l != nil {
				desired = plan.DesiredOn(l, f.machine)
			}
			record := reconcile.NameRules(s, name, &runDir, desired)
			var procs []reconcile.ProcessStatus
			if len(s.Nodes) > 0 {
				procs = reconcile.ProcessesIn(s, record, &runDir)
			}
			if applied == nil && f.labName != "" && hasCrossMachine(s) {
				applied, _, _ = appliedLab(name)
			}
			machines := applied.MachinesByAddress()
			if f.output == "json" {
				writeJSON(e, statusJSON(s, procs, machines))
				return nil
			}
			if len(s.Nodes) == 0 {
				return notRunningError(name)
			}
			writeStatus(e.stdout, s, procs, machines)
			return nil
		}),
	}
	f.addLab(cmd)
	f.addOutput(cmd)
	f.addMachine(cmd)
	return cmd
}

func writeStatus(w io.Writer, s *state.State, procs []reconcile.ProcessStatus, machines map[netip.Addr]string) {
	fmt.Fprintf(w, "lab %s: %d node(s)\n\n", s.Lab, len(s.Nodes))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tIFACE\tKIND\tPEER\tMASTER\tSTATE\tMTU\tADDRESSES\tRX PKTS\tTX PKTS\tRX BYTES\tTX BYTES")
	for _, nodeName := range s.NodeNames() {
		n := s.Nodes[nodeName]
		if n.Foreign {
			fmt.Fprintf(tw, "%s\t(namespace %s has no netlab marker)\t\t\t\t\t\t\t\t\t\t\n", nodeName, n.NetNS)
			continue
		}
		for _, ln := range n.LinkNames() {
			l := n.Links[ln]
			kind := string(l.Kind)
			if !l.Owned && l.Kind != device.Loopback {
				kind += " (unmanaged)"
			}
			st := "down"
			if l.Up {
				st = "up"
				if l.OperState != "" && l.OperState != "up" && l.OperState != "unknown" {
					st = "up/" + l.OperState
				}
			}
			addrs := make([]string, 0, len(l.Addrs))
			for _, a := range l.Addrs {
				if a.Addr().IsLoopback() || (a.Addr().Is6() && a.Addr().IsLinkLocalUnicast()) {
					continue
				}
				addrs = append(addrs, a.String())
			}
			peer := l.Peer
			if to, _ := crossMachine(l, machines); to != "" {
				peer = to
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%d\t%d\t%d\t%d\n", nodeName, ln, kind, dash(peer), dash(l.Master), st, l.MTU,
				dash(strings.Join(addrs, ",")), l.Stats.RxPackets, l.Stats.TxPackets, l.Stats.RxBytes, l.Stats.TxBytes)
		}
	}
	tw.Flush()
	writeProcesses(w, procs)
	writeLearned(w, s)
	writePolicy(w, s)
	writeEgress(w, s)
	writeRules(w, s)
}

// byHand is how status and down name a process started by hand, which
// has no name of the lab file's.
const byHand = "(by hand)"

// commandWidth is where status cuts a long command line (-o json has it
// whole).
const commandWidth = 60

// writeProcesses prints the lab's processes, one a line; nothing for a
// lab that runs none.
func writeProcesses(w io.Writer, procs []reconcile.ProcessStatus) {
	if len(procs) == 0 {
		return
	}
	fmt.Fprintf(w, "\nprocesses\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  NODE\tPROCESS\tPID\tSTATE\tUPTIME\tCOMMAND")
	for _, p := range procs {
		pid, uptime := "-", "-"
		if p.Pid != 0 {
			pid, uptime = strconv.Itoa(p.Pid), state.Uptime(p.Uptime)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", p.Node, processName(p.Name), pid, p.State, uptime, cut(p.Command, commandWidth))
	}
	tw.Flush()
}

// processName is a process's name as status and down print it.
func processName(name string) string {
	if name == "" {
		return byHand
	}
	return name
}

// cut shortens s to at most n characters, marking the cut with "...".
func cut(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-3]) + "..."
}

// writeLearned prints, per bridge, the MAC addresses it has learned on
// each port: layer-2 learning as a student can watch it happen.
func writeLearned(w io.Writer, s *state.State) {
	for _, nodeName := range s.NodeNames() {
		n := s.Nodes[nodeName]
		for _, bridge := range n.LinkNames() {
			if n.Links[bridge].Kind != device.Bridge {
				continue
			}
			br := n.Links[bridge]
			fmt.Fprintf(w, "\nnode %s: bridge %s%s learned\n", nodeName, bridge, stpNote(br))
			any := false
			for _, port := range n.LinkNames() {
				l := n.Links[port]
				if l.Master != bridge {
					continue
				}
				any = true
				macs := strings.Join(l.Learned, " ")
				if macs == "" {
					macs = "(nothing yet: no frame has come in on this port)"
				}
				fmt.Fprintf(w, "  port %-15s %s%s\n", port, portNote(br, l), macs)
			}
			if !any {
				fmt.Fprintln(w, "  (no ports)")
			}
		}
	}
}

// writeRules prints each node's netlab nftables rules grouped by hook, in
// the order a packet meets the hooks, with their counters: a student sees
// which hook a packet went through.
func writeRules(w io.Writer, s *state.State) {
	for _, nodeName := range s.NodeNames() {
		n := s.Nodes[nodeName]
		if n.NFT == nil {
			continue
		}
		fmt.Fprintf(w, "\nnode %s: nftables table inet %s\n", nodeName, state.NFTableName)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  HOOK\tCHAIN\tPRIORITY\tPOLICY\tPACKETS\tBYTES\tRULE")
		for _, c := range n.NFT.Chains {
			if len(c.Rules) == 0 {
				fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\t-\t-\t(no rules)\n", c.Hook, c.Name, c.Priority, c.Policy)
			}
			for _, r := range c.Rules {
				fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\t%d\t%d\t%s\n", c.Hook, c.Name, c.Priority, c.Policy, r.Packets, r.Bytes, r.Label())
			}
		}
		tw.Flush()
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

type linkStatus struct {
	Name      string           `json:"name"`
	Kind      device.Kind      `json:"kind"`
	Managed   bool             `json:"managed"`
	Peer      string           `json:"peer,omitempty"`
	Master    string           `json:"master,omitempty"`
	Up        bool             `json:"up"`
	OperState string           `json:"oper_state"`
	MTU       int              `json:"mtu"`
	MAC       string           `json:"mac,omitempty"`
	Addresses []string         `json:"addresses"`
	Stats     state.Counters   `json:"stats"`
	Learned   []string         `json:"learned,omitempty"`   // MACs a bridge learned on this port
	STP       bool             `json:"stp,omitempty"`       // a bridge running the spanning tree
	STPState  string           `json:"stp_state,omitempty"` // a bridge port's: forwarding, blocking, listening, ...
	Port      *state.PortFlags `json:"port,omitempty"`      // a bridge port's flags
	Neighbors []string         `json:"neighbors,omitempty"` // netlab's permanent neighbour entries, IP lladdr MAC
	// Egress is netlab's impairment ("rate 10mbit"), OtherQdisc a root
	// qdisc someone else added, VLAN a vlan's id on VLANParent.
	Egress     string `json:"egress,omitempty"`
	OtherQdisc string `json:"other_qdisc,omitempty"`
	VLAN       uint16 `json:"vlan,omitempty"`
	VLANParent string `json:"vlan_parent,omitempty"`
	// A link to another machine: its VNI, the other machine's address
	// and name (when the lab file has it); Peer says "vxlan to m2 (VNI n)".
	VNI     uint32 `json:"vni,omitempty"`
	Remote  string `json:"remote,omitempty"`
	Machine string `json:"machine,omitempty"`
}

type nodeStatus struct {
	Name    string       `json:"name"`
	NetNS   string       `json:"netns"`
	Foreign bool         `json:"foreign,omitempty"`
	Links   []linkStatus `json:"links"`
	Routes  []string     `json:"routes"`
	Rules   []ruleStatus `json:"rules"`
	// PolicyRules are the policy routing rules (status_rules.go).
	PolicyRules []policyRuleStatus `json:"policy_rules"`
}

type ruleStatus struct {
	Hook     string `json:"hook"`
	Chain    string `json:"chain"`
	Priority int    `json:"priority"`
	Policy   string `json:"policy"`
	Rule     string `json:"rule"`
	Tag      string `json:"tag"`
	Packets  uint64 `json:"packets"`
	Bytes    uint64 `json:"bytes"`
}

type labStatus struct {
	Lab       string          `json:"lab"`
	Nodes     []nodeStatus    `json:"nodes"`
	Processes []processStatus `json:"processes"`
}

// processStatus is a process in status -o json.
type processStatus struct {
	Node    string `json:"node"`
	Name    string `json:"name"`    // "" for a process started by hand
	ByHand  bool   `json:"by_hand"` // started by hand (netlab exec), not declared
	Pid     int    `json:"pid"`     // 0 when not running
	State   string `json:"state"`   // "running", "exited N", "exited", "not started"
	Exit    *int   `json:"exit,omitempty"`
	Uptime  int64  `json:"uptime_s"` // whole seconds; 0 when not running
	Command string `json:"command"`
}

func statusJSON(s *state.State, procs []reconcile.ProcessStatus, machines map[netip.Addr]string) labStatus {
	out := labStatus{Lab: s.Lab, Nodes: []nodeStatus{}, Processes: []processStatus{}}
	for _, p := range procs {
		out.Processes = append(out.Processes, processStatus{Node: p.Node, Name: p.Name, ByHand: p.Name == "", Pid: p.Pid,
			State: p.State, Exit: p.Exit, Uptime: int64(p.Uptime / time.Second), Command: p.Command})
	}
	for _, nodeName := range s.NodeNames() {
		n := s.Nodes[nodeName]
		ns := nodeStatus{Name: nodeName, NetNS: n.NetNS, Foreign: n.Foreign, Links: []linkStatus{}, Routes: []string{}}
		for _, ln := range n.LinkNames() {
			l := n.Links[ln]
			ls := linkStatus{Name: ln, Kind: l.Kind, Managed: l.Owned, Peer: l.Peer, Master: l.Master, Up: l.Up,
				OperState: l.OperState, MTU: l.MTU, MAC: l.MAC, Addresses: []string{}, Stats: l.Stats, Learned: l.Learned,
				STP: l.STP, STPState: l.PortState, Port: l.BridgePort,
				Egress: egressJSON(l), OtherQdisc: l.OtherQdisc, VLAN: l.VLANID, VLANParent: l.VLANParent}
			for _, nb := range l.Neighbors {
				ls.Neighbors = append(ls.Neighbors, nb.String())
			}
			if to, m := crossMachine(l, machines); to != "" {
				ls.Peer, ls.VNI, ls.Remote, ls.Machine = to, l.VNI, l.Remote.String(), m
			}
			for _, a := range l.Addrs {
				ls.Addresses = append(ls.Addresses, a.String())
			}
			ns.Links = append(ns.Links, ls)
		}
		for _, r := range n.Routes {
			ns.Routes = append(ns.Routes, state.RouteText(r))
		}
		ns.PolicyRules = policyRulesJSON(n)
		ns.Rules = []ruleStatus{}
		if n.NFT != nil {
			for _, c := range n.NFT.Chains {
				for _, r := range c.Rules {
					ns.Rules = append(ns.Rules, ruleStatus{Hook: c.Hook, Chain: c.Name, Priority: c.Priority, Policy: c.Policy,
						Rule: r.Label(), Tag: r.Tag, Packets: r.Packets, Bytes: r.Bytes})
				}
			}
		}
		out.Nodes = append(out.Nodes, ns)
	}
	return out
}

// stpNote says, after a bridge's name, that it runs the spanning tree.
func stpNote(br *state.Link) string {
	if !br.STP {
		return ""
	}
	if s := br.STPSettings; s != nil {
		return fmt.Sprintf(" (stp, priority %d, forward delay %s)", s.Priority, s.ForwardDelay)
	}
	return " (stp)"
}

// portNote is a port's STP state, on a bridge running STP, and the flags
// it has that a new port has not (hairpin on, learning off, ...).
func portNote(br, l *state.Link) string {
	var notes []string
	if br.STP && l.PortState != "" {
		notes = append(notes, l.PortState)
	}
	if p := l.BridgePort; p != nil && *p != state.DefaultPortFlags {
		d := state.DefaultPortFlags
		flag := func(name string, v, def bool) {
			if v != def {
				if v {
					notes = append(notes, name+" on")
				} else {
					notes = append(notes, name+" off")
				}
			}
		}
		flag("hairpin", p.Hairpin, d.Hairpin)
		flag("isolated", p.Isolated, d.Isolated)
		flag("learning", p.Learning, d.Learning)
		flag("flood", p.Flood, d.Flood)
		flag("mcast-flood", p.McastFlood, d.McastFlood)
		flag("bcast-flood", p.BcastFlood, d.BcastFlood)
	}
	if len(notes) == 0 {
		return ""
	}
	return "[" + strings.Join(notes, ", ") + "] "
}
