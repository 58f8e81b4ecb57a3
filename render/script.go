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
// plan.Change.Cmds, the vocabulary netlab plan prints. A lab with machines
// is one part per machine, each headed by the machine it is run on: the
// plan of plan.DesiredOn that machine.
func Script(l *lab.Lab) []byte { return ScriptOn(l, "") }

// ScriptOn is Script of one machine's part of a lab with machines: the
// header, then that machine's part only. An empty machine is every
// machine's part, one after the other (and a lab without machines whole).
// It must only be given a machine of the lab, or "".
func ScriptOn(l *lab.Lab, machine string) []byte {
	var b bytes.Buffer
	b.WriteString("#!/usr/bin/env bash\n")
	fmt.Fprintf(&b, "# Lab %s, built by hand: the commands netlab up runs, as ip and nft.\n", l.Name)
	for _, line := range wrap(oneLine(l.Description), 76) {
		fmt.Fprintf(&b, "# %s\n", line)
	}
	b.WriteString("# Needs root, iproute2 and nftables. Remove it with: netlab down, or ip netns del each namespace.\n")
	if len(l.Machines) > 0 && machine == "" {
		b.WriteString("# The lab is spread over machines: run each machine's part on that machine.\n")
	}
	b.WriteString("set -euo pipefail\n")
	if len(l.Machines) == 0 {
		scriptChanges(&b, plan.Diff(plan.Desired(l), nil, plan.Options{}).Changes)
		return b.Bytes()
	}
	for _, m := range l.Machines {
		if machine != "" && m.Name != machine {
			continue
		}
		fmt.Fprintf(&b, "\n# machine %s (%s): run this part on %s\n", m.Name, m.Address, m.Name)
		scriptChanges(&b, plan.Diff(plan.DesiredOn(l, m.Name), nil, plan.Options{}).Changes)
	}
	return b.Bytes()
}

// scriptChanges writes the commands of changes, each step and node under
// a comment.
func scriptChanges(b *bytes.Buffer, changes []*plan.Change) {
	lastSection, lastNode := "", ""
	for _, c := range changes {
		if s := section(c); s != lastSection {
			fmt.Fprintf(b, "\n# --- %s\n", s)
			lastSection, lastNode = s, ""
		}
		if c.Node != lastNode {
			fmt.Fprintf(b, "# node %s\n", c.Node)
			lastNode = c.Node
		}
		for _, cmd := range c.Cmds() {
			b.WriteString(cmd + "\n")
		}
	}
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
