package validate

import (
	"net/netip"
	"net/url"
	"slices"

	"netlab/lab"
	"netlab/lab/state"
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
	var kinds []string
	for _, k := range checkKinds {
		if c.Has(k) {
			kinds = append(kinds, k)
		}
	}
	switch {
	case len(kinds) > 1:
		v.diags.Hintf(c.At(kinds[1]), "give one of ping: IP, to: NODE (a responder there), connect: IP:PORT or http: URL (a real service)",
			"check has both %s and %s", kinds[0], kinds[1])
	case len(kinds) == 0:
		v.diags.Hintf(c.Pos, "add ping: IP, to: NODE, connect: IP:PORT or http: URL", "check has no target")
	}
	hasPing, hasTo := c.Has("ping"), c.Has("to")
	if c.Usable("http") {
		v.httpHost(c)
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
	for _, kind := range []string{"connect", "http"} {
		if c.Has(kind) && c.Has("proto") {
			v.diags.Hintf(c.At("proto"), "leave it out: "+kind+" always uses tcp", "proto applies only to a check with to or ping")
		}
		if c.Has(kind) && c.Has("port") {
			v.diags.Hintf(c.At("port"), "leave it out: "+kind+" gives its own port", "port applies only to a check with to")
		}
	}
	if c.Has("port") && !c.Has("connect") && !c.Has("http") && c.Proto != "tcp" && c.Proto != "udp" {
		v.diags.Hintf(c.At("port"), "add proto: tcp or proto: udp", "port applies only to a tcp or udp check")
	}
	if c.Has("listen") && hasTo && c.Proto != "tcp" && c.Proto != "udp" {
		v.diags.Hintf(c.At("listen"), "add proto: tcp or proto: udp", "listen applies only to a tcp or udp check")
	}
	v.pathCheck(c)
}

// pathFields are the fields of a path check, which traces its probe.
var pathFields = []string{"via", "nat", "dropped-at"}

// pathCheck checks a path check's assertions: via names the nodes
// between from and the target, dropped-at a node of the lab, with
// expect: fail. A connect or http check talks to a real service with a
// client netlab does not drive packet by packet, so only ping and to
// checks can assert a path.
func (v *validator) pathCheck(c *lab.Check) {
	for _, f := range pathFields {
		if c.Has(f) && (c.Has("connect") || c.Has("http")) {
			v.diags.Hintf(c.At(f), "use it with ping: IP or to: NODE", "%s applies only to a check with ping or to", f)
		}
	}
	if c.Usable("via") {
		for i, name := range c.Via {
			at := c.At("via")
			if i < len(c.ViaPos) {
				at = c.ViaPos[i]
			}
			switch {
			case v.lab.Node(name) == nil:
				v.diags.Hintf(at, "name a node of the lab", "check via %q names a node that is not defined", name)
			case name == c.From || (c.Has("to") && name == c.To):
				v.diags.Hintf(at, "list only the nodes between from and the target (an empty list: none)", "check via %q is an end of the check, not a node on its way", name)
			case slices.Contains(c.Via[:i], name):
				v.diags.Hintf(at, "remove one of them", "check via %q is listed twice", name)
			}
		}
	}
	if c.Usable("dropped-at") {
		switch {
		case v.lab.Node(c.DroppedAt) == nil:
			v.diags.Hintf(c.At("dropped-at"), "name a node of the lab", "check dropped-at %q names a node that is not defined", c.DroppedAt)
		case c.Expect != lab.ExpectFail:
			v.diags.Hintf(c.At("dropped-at"), "add expect: fail", "dropped-at needs expect: fail, as a dropped probe fails")
		}
	}
}

// checkKinds are the fields that say what a check probes; a check has
// exactly one.
var checkKinds = []string{"ping", "to", "connect", "http"}

// httpHost requires an http check's host to be an IP address or a name
// of the lab's hosts files (a node, NODE-IFNAME: lab.HostNames), which
// the check reaches at the address that name stands for first: the check
// resolves a name as the node's /etc/hosts would, and has no resolver to
// ask for any other. localhost is lo's in every node: write 127.0.0.1.
func (v *validator) httpHost(c *lab.Check) {
	u, err := url.Parse(c.HTTP)
	if err != nil {
		return // reported by labfile
	}
	host := u.Hostname()
	if _, err := netip.ParseAddr(host); err == nil {
		return
	}
	if _, ok := v.lab.HostAddr(host); ok {
		return
	}
	switch n := v.lab.Node(host); {
	case slices.Contains(lab.LoopbackNames, host):
		v.diags.Hintf(c.At("http"), "write "+state.LoopbackAddrs[0].Addr().String()+" or ["+state.LoopbackAddrs[1].Addr().String()+"]", "http host %q is the node's own lo, not a name of the lab", host)
	case n == nil:
		v.diags.Hintf(c.At("http"), "write an IP address, the name of a node of the lab or NODE-IFNAME", "http host %q is neither an IP address nor a name of the lab's hosts files", host)
	case !hasAddress(n):
		v.diags.Hintf(c.At("http"), "give the node an address, or write the URL with an IP address", "http host %q: the node has no address to connect to", host)
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
