package validate

import (
	"netlab/lab"
)

func (v *validator) checks() {
	for _, c := range v.lab.Checks {
		v.check(c)
	}
}

func (v *validator) check(c *lab.Check) {
	switch {
	case !c.Has("from"):
		v.diags.Hintf(c.Pos, "add from: NODE, the node the probe starts in", "check has no from")
	case c.Usable("from") && v.lab.Node(c.From) == nil:
		v.diags.Hintf(c.At("from"), "name a node of the lab", "check from %q names a node that is not defined", c.From)
	}
	hasPing, hasTo := c.Has("ping"), c.Has("to")
	switch {
	case hasPing && hasTo:
		v.diags.Hintf(c.At("to"), "use ping: IP for an address, or to: NODE for a node's responder", "check has both ping and to")
	case !hasPing && !hasTo:
		v.diags.Hintf(c.Pos, "add ping: IP, or to: NODE", "check has neither ping nor to")
	}
	if c.Usable("to") {
		target := v.lab.Node(c.To)
		switch {
		case target == nil:
			v.diags.Hintf(c.At("to"), "name a node of the lab", "check to %q names a node that is not defined", c.To)
		case !c.Has("address") && !hasAddress(target):
			v.diags.Hintf(c.At("to"), "give the node an address, or add address: IP", "check to %q: the node has no address to probe", c.To)
		}
	}
	for _, f := range []string{"address", "seen-source", "listen"} {
		if c.Has(f) && !hasTo {
			v.diags.Hintf(c.At(f), "use it with to: NODE", "%s applies only to a check with to", f)
		}
	}
	if hasPing && c.Has("proto") && c.Proto != "icmp" {
		v.diags.Hintf(c.At("proto"), "use to: NODE for a tcp or udp check", "ping is always icmp")
	}
	if c.Has("port") && c.Proto != "tcp" && c.Proto != "udp" {
		v.diags.Hintf(c.At("port"), "add proto: tcp or proto: udp", "port applies only to a tcp or udp check")
	}
	if c.Has("listen") && hasTo && c.Proto != "tcp" && c.Proto != "udp" {
		v.diags.Hintf(c.At("listen"), "add proto: tcp or proto: udp", "listen applies only to a tcp or udp check")
	}
}

func hasAddress(n *lab.Node) bool {
	for _, i := range n.Interfaces {
		if i.Name != "lo" && len(i.Addresses) > 0 {
			return true
		}
	}
	return false
}
