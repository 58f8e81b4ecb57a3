package render

import (
	"bytes"
	"fmt"
	"strings"

	"netlab/lab"
	"netlab/lab/plan"
)

// Script writes the lab as a bash script of the ip and nft commands that
// build it on a machine with iproute2 and nftables, as a student would type
// them: the plan of the lab against an empty machine, in the plan's
// dependency order, each step and node under a comment. The commands are
// plan.Change.Cmds, the vocabulary netlab plan prints.
func Script(l *lab.Lab) []byte {
	p := plan.Diff(plan.Desired(l), nil, plan.Options{})
	changes := p.Changes

	var b bytes.Buffer
	b.WriteString("#!/usr/bin/env bash\n")
	fmt.Fprintf(&b, "# Lab %s, built by hand: the commands netlab up runs, as ip and nft.\n", l.Name)
	for _, line := range wrap(oneLine(l.Description), 76) {
		fmt.Fprintf(&b, "# %s\n", line)
	}
	b.WriteString("# Needs root, iproute2 and nftables. Remove it with: netlab down, or ip netns del each namespace.\n")
	b.WriteString("set -euo pipefail\n")
	lastStep, lastNode := -1, ""
	for _, c := range changes {
		if s := step(c); s != lastStep {
			fmt.Fprintf(&b, "\n# --- %s\n", stepNames[s])
			lastStep, lastNode = s, ""
		}
		if c.Node != lastNode {
			fmt.Fprintf(&b, "# node %s\n", c.Node)
			lastNode = c.Node
		}
		for _, cmd := range c.Cmds() {
			b.WriteString(cmd + "\n")
		}
	}
	return b.Bytes()
}

var stepNames = []string{
	"namespaces: one per node",
	"bridges",
	"veth pairs and other links",
	"links on top of other links",
	"link settings",
	"addresses",
	"routes",
	"sysctls",
	"nftables: NAT and filter rules",
	"other",
}

// step is the section of the script a change belongs to.
func step(c *plan.Change) int {
	switch c.Object {
	case plan.NetNS:
		return 0
	case plan.Link:
		switch {
		case c.Action != plan.Create:
			return 4
		case c.Link.Kind == "bridge":
			return 1
		case c.Link.Kind == "macvlan" || c.Link.Kind == "vxlan":
			return 3
		}
		return 2
	case plan.Addr:
		return 5
	case plan.Route:
		return 6
	case plan.Sysctl:
		return 7
	case plan.NFTables:
		return 8
	}
	return 9
}

// oneLine keeps a comment on one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
