package main

import (
	"context"
	"fmt"
	"strings"

	"netlab/lab"
	"netlab/lab/reconcile"
	"netlab/lab/state"
)

// The commands that name a node or an interface of a running lab (ping,
// capture, check, status) look it up here, in what the kernel has, before
// they use it: a wrong name is answered in netlab's words, with the names
// that do exist, never in those of the system call that failed on it
// ("route ip+net: no such network interface").

// runningLab reads a lab's nodes and interfaces from the kernel, and fails
// when the lab has none.
func runningLab(ctx context.Context, labName string) (*state.State, error) {
	k := newKernel()
	defer k.Close()
	s, err := reconcile.Observe(ctx, k, labName, nil, &runDir)
	if err != nil {
		return nil, fmt.Errorf("lab %s: read the kernel: %w", labName, err)
	}
	if len(s.Nodes) == 0 {
		return nil, notRunningError(labName)
	}
	return s, nil
}

// notRunningError says that a lab has no namespace, and what to do.
func notRunningError(labName string) error {
	return fmt.Errorf("lab %s is not running: start it with netlab up", labName)
}

// runningNode is the node of a running lab, or why there is none.
func runningNode(s *state.State, node string) (*state.Node, error) {
	n := s.Nodes[node]
	if n == nil {
		return nil, fmt.Errorf("lab %s has no node %s (nodes: %s)", s.Lab, node, strings.Join(s.NodeNames(), ", "))
	}
	if n.Foreign {
		return nil, fmt.Errorf("lab %s: namespace %s of node %s was not made by netlab, which leaves it alone", s.Lab, n.NetNS, node)
	}
	return n, nil
}

// runningFileNode is runningNode for a command that has the lab's file
// too: a node the file has but the kernel does not (its namespace
// deleted by hand, an up that did not finish) is not running, and said
// so with the fix, rather than named as a node the lab lacks. A host:
// true node has no namespace of its own; the caller tells of it first.
func runningFileNode(s *state.State, file *lab.Lab, node string) (*state.Node, error) {
	if s.Nodes[node] == nil && file != nil && file.Node(node) != nil {
		return nil, fmt.Errorf("node %s of lab %s is not running: its namespace %s is gone; netlab up brings it back", node, s.Lab, state.NetNSName(s.Lab, node))
	}
	return runningNode(s, node)
}

// runningInterface checks that a node of a running lab has the interface.
func runningInterface(s *state.State, node, ifname string) error {
	n, err := runningNode(s, node)
	if err != nil {
		return err
	}
	if n.Links[ifname] == nil {
		return fmt.Errorf("node %s has no interface %s (interfaces: %s)", node, ifname, strings.Join(n.LinkNames(), ", "))
	}
	return nil
}
