package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"netlab/lab"
	"netlab/lab/conntrack"
	"netlab/lab/kernel"
	"netlab/lab/state"
)

func newConntrackCmd(e *env) *cobra.Command {
	var f labFlags
	var flush bool
	cmd := &cobra.Command{
		Use:   "conntrack [FILE | --lab NAME] NODE [--flush]",
		Short: "Show a node's connection-tracking table, and the NAT in it",
		Long: `conntrack lists the connections the kernel tracks in a node of a running lab:
its connection-tracking table, read through ctnetlink (no conntrack tool is
needed), one connection a line, sorted by protocol, then original tuple:

  PROTO  STATE      TIMEOUT  ORIGINAL                                 REPLY                                    NAT
  udp    UNREPLIED  29s      192.168.31.11:40001 -> 198.51.100.183:7  198.51.100.183:7 -> 198.51.100.86:40001  SNAT

ORIGINAL is the first packet's tuple, as it came in (or left the node
itself); REPLY is the tuple the kernel expects the answer with. When the
reply is not the original reversed, a NAT rule translated the connection,
and NAT says how: SNAT when the answer goes back to another address or port
than the first packet came from (masquerade, snat: above, host rewrote c2's
192.168.31.11:40001 to its own 198.51.100.86:40001), DNAT when it comes from
another than the packet was sent to (dnat, a published port), SNAT+DNAT for
both. Every later packet of the connection is translated by this entry, the
answer back too, with no rule looked at again. A NAT marked * is one the
kernel's own status flags name otherwise (an entry made or changed by hand);
a note under the table says what they name.

STATE is TCP's state (SYN_SENT, ESTABLISHED, TIME_WAIT...); for other
protocols UNREPLIED until an answer came, then REPLIED, and ASSURED once the
kernel keeps the entry under pressure. TIMEOUT is the time left before the
entry expires, unless more packets come.

The kernel tracks connections in a node only once one of its rules needs
it (a nat: rule, or one that matches ct state); the table of a node with
none stays empty. PACKETS and BYTES (original/reply) appear when the kernel
counts, which it does when the node's sysctls set
net.netfilter.nf_conntrack_acct: 1 before the connections start.

--flush empties the node's table, and says how many entries it removed.
An exercise needs it to test NAT again after a change: a translation is
chosen once, at a connection's first packet, so a nat rule added, changed
or removed does not apply to a connection already tracked (a ping that
keeps running, a UDP flow that keeps being used, a check run again from the
same port) until its entry is gone.

-o json prints {"lab": ..., "node": ..., "entries": [...]} (each entry's
fields are in docs/cli.md), or with --flush {"lab": ..., "node": ...,
"flushed": N}. A host: true node is the machine's own namespace, whose
table netlab neither reads nor flushes.`,
		Example: `  netlab conntrack host                       # the default lab's host, after netlab check
  netlab conntrack --lab single-ip host -o json
  netlab conntrack lab.yaml router --flush     # forget every translation, then test again`,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(f.output); err != nil {
				return err
			}
			fileArgs, rest, err := splitFileArgs(args, f.labName, 1)
			if err != nil {
				return err
			}
			node := rest[0]
			if err := nodeArg(node); err != nil {
				return err
			}
			name, file, err := labNameAndFile(fileArgs, f.labName)
			if err != nil {
				return err
			}
			if err := requireRoot(); err != nil {
				return err
			}
			ctx, cancel := signalContext()
			defer cancel()
			s, err := runningLab(ctx, name)
			if err != nil {
				return err
			}
			if err := conntrackNode(s, file, name, node); err != nil {
				return err
			}
			k := newKernel()
			defer k.Close()
			ct, ok := k.(kernel.Conntracker)
			if !ok {
				return fmt.Errorf("this kernel cannot read conntrack tables")
			}
			netns := state.NetNSName(name, node)
			out := conntrackOut{w: e.stdout, json: f.output == "json", lab: name, node: node}
			if flush {
				n, err := conntrack.Flush(ctx, ct, netns)
				if err != nil {
					return fmt.Errorf("node %s: flush its conntrack table: %w", node, err)
				}
				return out.flushed(n)
			}
			entries, err := conntrack.List(ctx, ct, netns)
			if err != nil {
				return fmt.Errorf("node %s: read its conntrack table: %w", node, err)
			}
			return out.list(entries)
		}),
	}
	f.addLab(cmd)
	f.addOutput(cmd)
	cmd.Flags().BoolVar(&flush, "flush", false, "empty the node's conntrack table and say how many entries it removed")
	return cmd
}

// conntrackNode checks that node is a node of the running lab with a
// namespace of its own. A name the lab does not have is bad usage, with
// the names it does have; a host: true node, which the kernel shows no
// namespace for, is named as the machine's, and another node of the file
// with no namespace as not running (from the lab file, or with --lab from
// the file up was given).
func conntrackNode(s *state.State, file *lab.Lab, labName, node string) error {
	if s.Nodes[node] != nil {
		_, err := runningNode(s, node) // a foreign namespace is refused
		return err
	}
	if file == nil {
		file, _, _ = appliedLab(labName) // for its host: true nodes only
	}
	if file != nil {
		if n := file.Node(node); n != nil && n.Host {
			return fmt.Errorf("node %s has host: true: it is this machine's own namespace, whose conntrack table netlab neither reads nor flushes (conntrack -L shows it)", node)
		}
		if file.Node(node) != nil {
			_, err := runningFileNode(s, file, node) // its namespace is gone
			return err
		}
	}
	return usagef("lab %s has no node %s (nodes: %s)", labName, node, strings.Join(s.NodeNames(), ", "))
}

// conntrackOut prints what conntrack found, as text or JSON.
type conntrackOut struct {
	w         io.Writer
	json      bool
	lab, node string
}

// conntrackJSON is -o json of a listing; conntrackFlushJSON of --flush.
type conntrackJSON struct {
	Lab     string            `json:"lab"`
	Node    string            `json:"node"`
	Entries []conntrack.Entry `json:"entries"`
}

type conntrackFlushJSON struct {
	Lab     string `json:"lab"`
	Node    string `json:"node"`
	Flushed int    `json:"flushed"`
}

func (o conntrackOut) list(entries []kernel.ConntrackEntry) error {
	if o.json {
		return o.writeJSON(conntrackJSON{Lab: o.lab, Node: o.node, Entries: conntrack.JSON(entries)})
	}
	if len(entries) == 0 {
		_, err := fmt.Fprintf(o.w, "Node %s tracks no connections (the kernel tracks them once a rule of the node needs it: a nat: rule, or one that matches ct state).\n", o.node)
		return err
	}
	return conntrack.WriteText(o.w, entries)
}

func (o conntrackOut) flushed(n int) error {
	if o.json {
		return o.writeJSON(conntrackFlushJSON{Lab: o.lab, Node: o.node, Flushed: n})
	}
	_, err := fmt.Fprintf(o.w, "Flushed node %s's conntrack table: %d entr%s removed.\n", o.node, n, plural(n, "y", "ies"))
	return err
}

func (o conntrackOut) writeJSON(v any) error {
	enc := json.NewEncoder(o.w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
