package validate

import (
	"fmt"
	"net/netip"
	"strings"

	"netlab/lab"
)

// machines checks a lab spread over several machines: the machines
// themselves, that every node names one, and that what crosses two
// machines can: a link (as a VXLAN at each end), never a macvlan's
// parent, a responder or a traced path.
func (v *validator) machines() {
	l := v.lab
	if len(l.Machines) == 0 {
		for _, n := range l.Nodes {
			if n.Has("machine") {
				v.diags.Hintf(n.At("machine"), "add machines: with each machine's underlay address, or drop machine:", "node %q names machine %q, but the lab has no machines", n.Name, n.Machine)
			}
		}
		for _, lk := range l.Links {
			if lk.Has("vni") {
				v.diags.Hintf(lk.At("vni"), "drop vni: a link on one machine is a veth pair", "link has a vni, but the lab has no machines")
			}
		}
		return
	}
	v.machineList()
	for _, n := range l.Nodes {
		v.nodeMachine(n)
	}
	v.crossLinks()
	v.crossParents()
	v.crossChecks()
}

func (v *validator) machineList() {
	byAddr := make(map[string]*lab.Machine)
	for _, m := range v.lab.Machines {
		if p := NameProblem(m.Name); p != "" {
			v.diags.Hintf(m.Pos, "use 1 to 12 characters of a-z, 0-9 and -, starting with a letter", "machine name %q %s", clip(m.Name), p)
		}
		switch {
		case !m.Has("address"):
			v.diags.Hintf(m.Pos, "add address: the machine's own underlay address, which the other machines reach", "machine %q has no address", m.Name)
			continue
		case !m.Usable("address"):
			continue
		}
		a := m.Address
		if why := underlayProblem(a); why != "" {
			v.diags.Hintf(m.At("address"), "give the address of one of the machine's own interfaces, the one the other machines reach it at", "machine %q: address %s %s", m.Name, a, why)
			continue
		}
		if prev, dup := byAddr[a.String()]; dup {
			v.diags.Hintf(m.At("address"), "each machine has an address of its own", "machine %q has address %s, as machine %q has (line %d)", m.Name, a, prev.Name, prev.Pos.Line)
			continue
		}
		byAddr[a.String()] = m
	}
}

// underlayProblem says why an address cannot be a machine's underlay
// address, or "".
func underlayProblem(a netip.Addr) string {
	switch {
	case a.IsUnspecified():
		return "is unspecified, which no machine can be reached at"
	case a.IsLoopback():
		return "is a loopback address, which never leaves its machine"
	case a.IsMulticast():
		return "is a multicast group, not one machine"
	case a == broadcast4:
		return "is the broadcast address, not one machine"
	case a.IsLinkLocalUnicast():
		return "is link-local, which needs an interface to say which link"
	}
	return ""
}

func (v *validator) nodeMachine(n *lab.Node) {
	switch {
	case n.Broken("machine"):
	case !n.Has("machine"):
		v.diags.Hintf(n.Pos, "add machine: one of "+strings.Join(v.lab.MachineNames(), ", "), "node %q has no machine, and every node of a lab with machines needs one", n.Name)
	case v.lab.Machine(n.Machine) == nil:
		v.diags.Hintf(n.At("machine"), "name one of "+strings.Join(v.lab.MachineNames(), ", "), "node %q names machine %q, which is not under machines", n.Name, n.Machine)
	}
}

// crossLinks checks the links whose ends are on two machines, and that
// no VNI is given to a link on one machine or shared by two links.
func (v *validator) crossLinks() {
	l := v.lab
	vnis := make(map[uint32]*lab.Link)
	for _, lk := range l.Links {
		if !l.CrossesMachines(lk) {
			ma, mb := l.MachineOf(lk.Ends[0].Node), l.MachineOf(lk.Ends[1].Node)
			if lk.Has("vni") && ma != "" && ma == mb {
				v.diags.Hintf(lk.At("vni"), "drop vni: a link on one machine is a veth pair", "link %s - %s has a vni, but both its ends are on machine %q", lk.Ends[0], lk.Ends[1], ma)
			}
			continue
		}
		ma, mb := l.Machine(l.MachineOf(lk.Ends[0].Node)), l.Machine(l.MachineOf(lk.Ends[1].Node))
		if ma.Address.IsValid() && mb.Address.IsValid() && ma.Address.Is4() != mb.Address.Is4() {
			v.diags.Hintf(lk.Pos, "give the two machines addresses of one family", "link %s - %s joins machine %q (%s) to machine %q (%s): a VXLAN's underlay is IPv4 or IPv6, not both", lk.Ends[0], lk.Ends[1], ma.Name, ma.Address, mb.Name, mb.Address)
		}
		for _, e := range lk.Ends {
			if n := l.Node(e.Node); n != nil && n.Host {
				v.diags.Hintf(e.Pos, "put the link's end on a node that is not host: true", "link end %s is on a host: true node, and a link to another machine would put a VXLAN in the machine's own namespace", e)
			}
		}
		if lk.Broken("vni") {
			continue
		}
		vni := lab.LinkVNI(l.Name, lk)
		if prev, dup := vnis[vni]; dup {
			hint := "give one of them another vni:"
			v.diags.Hintf(lk.At("vni"), hint, "link %s - %s has VNI %d, as link %s - %s has (line %d)", lk.Ends[0], lk.Ends[1], vni, prev.Ends[0], prev.Ends[1], prev.Pos.Line)
			continue
		}
		vnis[vni] = lk
	}
}

// crossParents refuses a macvlan whose parent is on another machine.
func (v *validator) crossParents() {
	l := v.lab
	for _, n := range l.Nodes {
		for _, i := range n.Interfaces {
			if i.MACVLAN == nil || i.MACVLAN.ParentNode == "" || i.MACVLAN.ParentNode == n.Name {
				continue
			}
			if pm := l.MachineOf(i.MACVLAN.ParentNode); pm != "" && n.Machine != "" && pm != n.Machine {
				v.diags.Hintf(i.MACVLAN.At("parent"), "give it a parent on machine "+n.Machine+", or link the nodes", "macvlan %s has its parent on machine %q, and node %q is on machine %q", ref(i), pm, n.Name, n.Machine)
			}
		}
	}
}

// crossChecks refuses what a check cannot do across machines: a check
// runs on the machine of its from, where netlab can start no responder
// in a node of another machine and trace no packet beyond it.
func (v *validator) crossChecks() {
	l := v.lab
	for _, c := range l.Checks {
		from := l.MachineOf(c.From)
		if from == "" {
			continue
		}
		if c.Usable("to") {
			if m := l.MachineOf(c.To); m != "" && m != from {
				v.diags.Hintf(c.At("to"), "probe an address of it with ping: or connect: instead", "check to %q starts a responder in node %q, which is on machine %q; the check runs on machine %q, where its from is", c.To, c.To, m, from)
			}
		}
		for i, node := range c.Via {
			if m := l.MachineOf(node); m != "" && m != from && i < len(c.ViaPos) {
				v.diags.Hintf(c.ViaPos[i], "assert the path on one machine only, or drop via:", "check via %q: node %q is on machine %q, and netlab traces a probe only on the machine of its from (%q)", node, node, m, from)
			}
		}
		if c.Usable("dropped-at") {
			if m := l.MachineOf(c.DroppedAt); m != "" && m != from {
				v.diags.Hintf(c.At("dropped-at"), "assert the drop on one machine only", "check dropped-at %q: node %q is on machine %q, and netlab traces a probe only on the machine of its from (%q)", c.DroppedAt, c.DroppedAt, m, from)
			}
		}
	}
}

// MachineProblem says what is wrong with the machine a command is to
// work on (--machine; "" for none) for a lab, or "" if nothing: a lab
// with machines needs one of them, and a lab without takes none.
func MachineProblem(l *lab.Lab, name string) string {
	switch {
	case name == "" && len(l.Machines) > 0:
		return fmt.Sprintf("lab %s runs on machines %s: say which one this is with --machine", l.Name, strings.Join(l.MachineNames(), ", "))
	case name == "":
		return ""
	case len(l.Machines) == 0:
		return fmt.Sprintf("lab %s has no machines: leave out --machine", l.Name)
	case l.Machine(name) == nil:
		return fmt.Sprintf("lab %s has no machine %q: its machines are %s", l.Name, name, strings.Join(l.MachineNames(), ", "))
	}
	return ""
}
