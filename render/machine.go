package render

import "netlab/lab"

// MachinePart is the part of a lab with machines that a picture of one
// machine shows: the machine's nodes, the nodes at the far end of its
// links to other machines (drawn whole, in their own machine), the links
// that have an end on the machine, and the machines of those nodes. It
// shares the lab's nodes and links and changes nothing in them. A lab
// without machines, or an empty machine, is returned as it is; it must
// otherwise only be given a machine of the lab.
func MachinePart(l *lab.Lab, machine string) *lab.Lab {
	if len(l.Machines) == 0 || machine == "" {
		return l
	}
	shown := make(map[string]bool)
	var links []*lab.Link
	for _, lk := range l.Links {
		a, b := lk.Ends[0].Node, lk.Ends[1].Node
		if l.MachineOf(a) == machine || l.MachineOf(b) == machine {
			links = append(links, lk)
			shown[a], shown[b] = true, true
		}
	}
	var nodes []*lab.Node
	machines := make(map[string]bool)
	for _, n := range l.Nodes {
		if n.Machine == machine || shown[n.Name] {
			nodes = append(nodes, n)
			machines[n.Machine] = true
		}
	}
	var ms []*lab.Machine
	for _, m := range l.Machines {
		if m.Name == machine || machines[m.Name] {
			ms = append(ms, m)
		}
	}
	// A copy of the lab: its lookups' indexes, made for the whole lab,
	// are only used while the lists have the length they had, and a
	// shorter list is scanned instead.
	part := *l
	part.Nodes, part.Links, part.Machines = nodes, links, ms
	return &part
}
