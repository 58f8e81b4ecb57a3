// Package conntrack shows a node's connection-tracking table as a course
// reads it: each connection's protocol, state, timeout, original and reply
// tuples, and whether a NAT rule translated it (the reply tuple is not the
// original reversed).
package conntrack

import "netlab/lab/kernel"

// Translation says how the kernel translates the connection: "SNAT",
// "DNAT", "SNAT+DNAT", or "" when the reply tuple mirrors the original.
func Translation(e kernel.ConntrackEntry) string { return "" }

// Tuple shows one direction as conntrack(8) does, in a course's words:
// "192.168.31.11:40001 -> 198.51.100.10:7" (icmp: "... id 4711").
func Tuple(t kernel.ConntrackTuple, proto string) string { return "" }
