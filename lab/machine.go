package lab

import (
	"hash/fnv"
	"net/netip"
)

// Machine is one host of a lab spread over several: its name, and the
// underlay address at which the other machines reach its VXLAN devices.
type Machine struct {
	Src
	Name    string
	Address netip.Addr
}

// Machine returns the machine with the given name, or nil.
func (l *Lab) Machine(name string) *Machine {
	for _, m := range l.Machines {
		if m.Name == name {
			return m
		}
	}
	return nil
}

// MachineNames lists the machines' names in file order.
func (l *Lab) MachineNames() []string {
	names := make([]string, 0, len(l.Machines))
	for _, m := range l.Machines {
		names = append(names, m.Name)
	}
	return names
}

// MachineOf returns the machine a node runs on, or "" for a node that is
// not in the lab or names none.
func (l *Lab) MachineOf(node string) string {
	if n := l.Node(node); n != nil {
		return n.Machine
	}
	return ""
}

// CrossesMachines reports whether the link's two ends are on different
// machines: at each end it is then a VXLAN device, not a veth.
func (l *Lab) CrossesMachines(lk *Link) bool {
	if len(l.Machines) == 0 {
		return false
	}
	a, b := l.MachineOf(lk.Ends[0].Node), l.MachineOf(lk.Ends[1].Node)
	return a != "" && b != "" && a != b
}

// MinVNI and MaxVNI bound a VNI: 24 bits, without 0.
const (
	MinVNI = 1
	MaxVNI = 1<<24 - 1
)

// LinkVNI is a cross-machine link's VNI: the link's vni:, or one derived
// from the lab's name and the link's two ends, the same on every machine
// that reads the file and whatever the order of its links, so that a
// link added to or removed from the file leaves the others' VNIs alone.
// Derived VNIs lie in the upper half of the range (2^23 and up), so that
// they do not meet the small numbers people write by hand; validate
// refuses a file in which two links would share one.
func LinkVNI(labName string, lk *Link) uint32 {
	if lk.VNI != 0 {
		return lk.VNI
	}
	a, b := lk.Ends[0].String(), lk.Ends[1].String()
	if b < a {
		a, b = b, a
	}
	h := fnv.New32a()
	h.Write([]byte(labName + "\x00" + a + "\x00" + b))
	const half = 1 << 23
	return half + h.Sum32()%(MaxVNI-half+1)
}

// OnMachine reports whether node n is built on machine: every node is
// when machine is "" (a lab without machines, or all of them at once).
func OnMachine(n *Node, machine string) bool { return machine == "" || n.Machine == machine }

// MachinesByAddress maps each machine's underlay address to its name:
// what names the far end of a link to another machine, which the kernel
// knows by its remote address only. Empty for a nil lab or one without
// machines.
func (l *Lab) MachinesByAddress() map[netip.Addr]string {
	out := make(map[netip.Addr]string)
	if l == nil {
		return out
	}
	for _, m := range l.Machines {
		out[m.Address] = m.Name
	}
	return out
}
