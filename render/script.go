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
	lastSection, lastNode := "", ""
	for _, c := range changes {
		if s := section(c); s != lastSection {
			fmt.Fprintf(&b, "\n# --- %s\n", s)
			lastSection, lastNode = s, ""
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

// sections head the script's steps, by the plan phase of their changes:
// the order is the plan's, and only the words are the script's. A lab
// built on an empty machine has no deletes.
var sections = map[plan.Phase]string{
	plan.PhaseNetNS:             "namespaces: one per node",
	plan.PhaseBridges:           "bridges",
	plan.PhaseLinks:             "veth pairs and other links",
	plan.PhaseUpperLinks:        "links on top of other links",
	plan.PhaseLinkSettings:      "link settings",
	plan.PhaseUpperLinkSettings: "link settings",
	plan.PhaseAddrs:             "addresses",
	plan.PhaseRoutes:            "routes",
	plan.PhaseSysctls:           "sysctls",
	plan.PhaseNFTables:          "nftables: NAT and filter rules",
	plan.PhaseHosts:             "hosts files: every node by name",
	plan.PhaseProcesses:         "processes",
}

// section is the comment heading a change's step of the script.
func section(c *plan.Change) string {
	if s, ok := sections[c.Phase()]; ok {
		return s
	}
	return "other"
}

// oneLine keeps a comment on one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
