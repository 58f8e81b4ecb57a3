package validate

import (
	"netlab/lab"
	"netlab/lab/device"
	"netlab/lab/diag"
)

// Rootless judges what of a valid lab a user who is not root cannot
// have, in a user namespace of that user's own (lab/rootless), before
// anything is changed: a host node (the machine's own namespace, which
// only root may change), a MACVLAN whose parent is in a host node (so
// outside the lab), and a tun or tap owned by another user or group
// than uid and gid, which the namespace maps no other.
func Rootless(l *lab.Lab, uid, gid uint32) diag.List {
	var out diag.List
	const why = "a netlab run without root cannot change the machine's own namespace"
	for _, n := range l.Nodes {
		if n.Host {
			out.Hintf(n.At("host"), "run the lab as root (sudo netlab up), or give the node a namespace of its own",
				"node %q: host: true: %s", n.Name, why)
		}
		for _, i := range n.Interfaces {
			if m := i.MACVLAN; m != nil {
				if p := l.Node(m.ParentNode); p != nil && p.Host {
					out.Hintf(m.At("parent"), "run the lab as root, or put the parent in a node of the lab",
						"node %q: interface %q: a MACVLAN on %s:%s, an interface of the machine's: %s", n.Name, i.Name, m.ParentNode, m.Parent, why)
				}
			}
			if t := i.Tun; t != nil {
				if t.Owner != nil && *t.Owner != uid {
					out.Hintf(t.At("owner"), "give your own uid, or run the lab as root",
						"node %q: interface %q: owner %d: a netlab run without root maps only your own user (uid %d)", n.Name, i.Name, *t.Owner, uid)
				}
				if t.Group != nil && *t.Group != gid {
					out.Hintf(t.At("group"), "give your own gid, or run the lab as root",
						"node %q: interface %q: group %d: a netlab run without root maps only your own group (gid %d)", n.Name, i.Name, *t.Group, gid)
				}
			}
		}
	}
	return out
}

// NoTunDevice refuses every tun and tap of a lab, for a machine whose
// /dev/net/tun the user may not open (mode 0600, root's alone, as some
// distributions ship it): a rootless netlab could not make them.
func NoTunDevice(l *lab.Lab) diag.List {
	var out diag.List
	for _, n := range l.Nodes {
		for _, i := range n.Interfaces {
			if i.Kind == device.Tun || i.Kind == device.Tap {
				out.Hintf(i.At("kind"), "run the lab as root, or ask for /dev/net/tun to be opened to users (mode 0666, as most distributions have it)",
					"node %q: interface %q: a %s needs /dev/net/tun, which only root may open on this machine", n.Name, i.Name, i.Kind)
			}
		}
	}
	return out
}
