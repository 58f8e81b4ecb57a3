// Package validate checks the rules that relate one part of a lab to
// another: names, references between nodes, interfaces and links,
// addresses, routes, NAT and firewall rules, and checks. It works on the
// model alone, never on YAML or the kernel, and reports every problem it
// finds, each at the position of the value that breaks the rule.
//
// It is the one place a lab's content is judged: every rule that needs no
// kernel is here, so that a lab it passes is one plan, up and render
// never refuse for what the file says (only for what the kernel holds).
package validate

import (
	"netlab/lab"
	"netlab/lab/diag"
)

// Lab returns every problem of l, sorted by position. A lab may be partial
// (loaded from a file with errors): validate then checks what is there and
// does not repeat what loading already reported.
func Lab(l *lab.Lab) diag.List {
	if l == nil {
		return nil
	}
	v := &validator{lab: l}
	v.names()
	v.machines()
	v.interfaces()
	v.links()
	v.devices()
	v.bridges() // and neighbors: issue 18
	v.neighbors()
	v.macs()
	v.mtus()
	v.hostNodes()
	v.addresses()
	v.routes()
	v.rules()
	v.sysctls()
	v.nat()
	v.firewalls()
	v.processes()
	v.checks()
	v.diags.Sort()
	return v.diags
}

type validator struct {
	lab   *lab.Lab
	diags diag.List
}
