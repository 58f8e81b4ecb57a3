package main

import (
	"fmt"
	"net/netip"

	"netlab/lab"
	"netlab/lab/state"
	"netlab/lab/validate"
)

// crossMachine says, for a vxlan whose socket is in the machine's own
// namespace (a link to another machine), where it goes: "vxlan to m2
// (VNI 9594391)", or the remote address when no machine of the file has
// it. It is "" for any other link.
func crossMachine(l *state.Link, machines map[netip.Addr]string) (text, machine string) {
	if !l.ToMachine() {
		return "", ""
	}
	to := l.Remote.String()
	if m, ok := machines[l.Remote]; ok {
		to, machine = m, m
	}
	return fmt.Sprintf("vxlan to %s (VNI %d)", to, l.VNI), machine
}

// checkMachine refuses, as bad usage, a --machine that the lab file
// does not have, or one given for a lab without machines. Without the
// file (--lab NAME of a lab whose copy is gone) there is nothing to
// check it against.
func checkMachine(l *lab.Lab, machine string) error {
	if machine == "" || l == nil {
		return nil
	}
	if p := validate.MachineProblem(l, machine); p != "" {
		return machineUsage(machine, p)
	}
	return nil
}

// machineUsage is bad usage for a validate.MachineProblem, p.
func machineUsage(machine, p string) error {
	if machine == "" {
		return usagef("%s", p)
	}
	return usagef("--machine %s: %s", machine, p)
}

// hasCrossMachine reports whether the observed lab has a link to another
// machine, whose far end status names from the lab file.
func hasCrossMachine(s *state.State) bool {
	for _, n := range s.Nodes {
		for _, l := range n.Links {
			if l.ToMachine() {
				return true
			}
		}
	}
	return false
}
