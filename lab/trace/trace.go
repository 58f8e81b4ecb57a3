// Package trace follows one probe through every netfilter hook of the lab
// namespaces it crosses, and tells its way as a course tells it: node,
// hook, table and chain with their priority, rule and verdict, interfaces,
// and the addresses before and after a NAT. The kernel reports the hooks
// (kernel.Tracer, nftables tracing); this package puts the events of every
// namespace in the order the packet met them, splits the request from
// the answer, and says how each ended (delivered, dropped by a rule or
// policy, no route, lost).
//
// # Reading the events
//
// The events of one namespace and trace ID are one packet's pass through
// that namespace (a segment), in the namespace's order. Segments chain by
// the lab's topology, never by the order of arrival across namespaces
// (each namespace's events are read on their own socket): a packet that
// leaves by a veth continues in the peer's namespace, entering by the
// peer; one that a bridge takes in continues at the bridge's own inet
// hooks; one out of a macvlan at its parent's wire or a sibling macvlan,
// one out of a vxlan device at the VTEP of the same VNI; where the
// topology says nothing, the next segment is the first elsewhere that
// starts with the packet the last one left with. At each hook, the addresses the trace's first chain saw
// (priority -350) and those its last chain saw (400) show a NAT there.
//
// # Text
//
// Result.WriteText writes one step a line in aligned columns: node, hook,
// what met the packet ("route", "bridge", a table as a course names it
// with its priority, "nat (100)", or "-" for a hook where no chain of the
// lab met it), its interfaces, the decision (the route, the verdict, the
// policy, "conntrack" for a translation no rule made), then the
// addresses the step changed ("src A -> B") and the rule's text ("rule
// ..."). A header line starts each way ("request udp A:P -> B:7",
// "answer ..."), a line ends it ("delivered to server", "dropped at host
// forward by policy drop", "no route at c2: ...", "lost after ...").
//
// # JSON
//
// json.Marshal(Result) gives, stable for graders: "lab", "from", "to"
// (omitted when no node), "target", "proto" (icmp, tcp, udp), "port"
// (tcp, udp); "request" and "answer" (omitted when none came), each a
// way: "packet" (its text, as the header line), "steps", "end". A step
// has "node", "kind" (hook, route, bridge, untraced), "hook", and when
// set "table" (raw, mangle, nat, filter for the lab's chains; "FAMILY
// NAME" for another table's), "chain", "priority", "rule" (its text, or
// "conntrack"), "verdict" (accept, drop, continue..., "policy accept"),
// "in", "out", "route" ("-> veth0 via 192.168.31.1", "no route"),
// "before" and "after" ({"src", "dst"}, ports with tcp and udp, only on a
// step that changed them). An end has "what" (delivered, dropped,
// no-route, lost) and when set "node", "hook", "rule" (the rule's text or
// "policy drop"), "reason". Last comes "path": Result.Path(), what a
// path check compares ({"from", "to", "proto", "via": [nodes], "nat":
// none|snat|dnat|both, "end", "dropped_at"}).
package trace

import (
	"context"
	"net/netip"
)

// Result is a finished trace: the request's way, and the answer's when
// one came.
type Result struct {
	Lab    string     `json:"lab"`
	From   string     `json:"from"`           // the node the probe left
	To     string     `json:"to,omitempty"`   // the target node, "" for an address no node owns
	Target netip.Addr `json:"target"`         // the address probed
	Proto  string     `json:"proto"`          // icmp, tcp, udp
	Port   uint16     `json:"port,omitempty"` // tcp, udp: the destination port
	// Request and Answer are the two ways; Answer is nil when no answer
	// came (dropped, no route, lost).
	Request *Way `json:"request"`
	Answer  *Way `json:"answer,omitempty"`
}

// Way is one packet's way, step by step, and how it ended.
type Way struct {
	// Packet is the packet as it left: "udp 192.168.31.11:40001 -> 198.51.100.10:7".
	Packet string `json:"packet"`
	Steps  []Step `json:"steps"`
	End    End    `json:"end"`
}

// Step is one thing that happened to the packet in one namespace: a hook
// it crossed (with the lab's chain there, if any), a routing decision, or
// a bridge hop.
type Step struct {
	Node string `json:"node"`
	// Kind is "hook" (a netfilter hook, Table and Chain set when a chain
	// of the lab met the packet there), "route" (a routing decision,
	// Route set), "bridge" (a bridge hook: Hook is the bridge family's),
	// or "untraced" (a node the packet crossed, entering by In, whose
	// namespace the trace does not see inside: a host: true node's).
	Kind     string `json:"kind"`
	Hook     string `json:"hook,omitempty"`     // prerouting, input, forward, output, postrouting
	Table    string `json:"table,omitempty"`    // raw, mangle, nat, filter: the iptables-style table
	Chain    string `json:"chain,omitempty"`    // the chain's name in the kernel
	Priority *int   `json:"priority,omitempty"` // the chain's priority
	Rule     string `json:"rule,omitempty"`     // the rule's text, "" for the policy, ConntrackRule
	Verdict  string `json:"verdict,omitempty"`  // accept, drop, continue...; "policy accept"
	In       string `json:"in,omitempty"`
	Out      string `json:"out,omitempty"`
	Route    string `json:"route,omitempty"` // "-> veth0 via 192.168.31.1", "local", "no route"
	// Before and After are the packet's source and destination when this
	// step changed them (a NAT), else nil.
	Before *Addrs `json:"before,omitempty"`
	After  *Addrs `json:"after,omitempty"`
}

// ConntrackRule is the Rule of a step whose translation no rule made (no
// Table either): the kernel's NAT applying conntrack's entry, as it does
// to an answer. It is not a rule's text: a reader says "conntrack" of it.
const ConntrackRule = "conntrack"

// Addrs are a packet's source and destination, with ports for tcp and udp.
type Addrs struct {
	Src string `json:"src"`
	Dst string `json:"dst"`
}

// End says how a way ended.
type End struct {
	// What is "delivered" (to a socket of the target node, or answered
	// by its kernel), "dropped" (by a rule or a policy: Node, Hook,
	// Rule), "no-route" (Node, Reason), "left-machine" (sent at Node
	// over a VXLAN link to another machine of the lab, where the trace
	// does not look), or "lost" (seen last at Node, nothing after within
	// the timeout).
	What   string `json:"what"`
	Node   string `json:"node,omitempty"`
	Hook   string `json:"hook,omitempty"`
	Rule   string `json:"rule,omitempty"` // the rule's text, or "policy drop"
	Reason string `json:"reason,omitempty"`
}

// Path is a way summed up, as a path check asserts it.
type Path struct {
	From  string   `json:"from"`
	To    string   `json:"to,omitempty"`
	Proto string   `json:"proto"`
	Via   []string `json:"via"` // the nodes crossed between From and To, in order
	NAT   string   `json:"nat"` // none, snat, dnat, both
	// End is the request's End.What; DroppedAt the node that dropped it.
	End       string `json:"end"`
	DroppedAt string `json:"dropped_at,omitempty"`
}

// Probe sends the traced probe: from local port (or ICMP identifier)
// port, which the trace's match follows. It returns once the probe has
// had its answer or given up; its error is the probe's own failure
// (refused, timed out), which ends nothing: the trace tells where the
// packet went.
type Probe func(ctx context.Context, port uint16) error
