package kernel

import (
	"context"

	"netlab/lab/state"
)

// RuleKernel adds and deletes policy routing rules. Observe reads a
// namespace's rules into state.Node.Rules, every rule but the kernel's
// own (protocol kernel: 0 local, 32766 main, 32767 default), with Owned
// set on those that carry state.RouteProtocol.
type RuleKernel interface {
	// RuleAdd adds a rule marked with state.RouteProtocol (FRA_PROTOCOL);
	// one of netlab's that is already there is not an error.
	// Equivalent to: ip -n NETNS -4|-6 rule add priority N [from P] [to P] [iif I] [oif O] [fwmark M/K] table T proto 78
	RuleAdd(ctx context.Context, netns string, r state.Rule) error
	// RuleDel deletes one of netlab's rules: the request carries
	// state.RouteProtocol, which the kernel matches, so a person's rule
	// with the same fields stays. One already gone is not an error.
	// Equivalent to: ip -n NETNS -4|-6 rule del ... proto 78
	RuleDel(ctx context.Context, netns string, r state.Rule) error
}
