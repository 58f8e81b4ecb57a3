package apply

import (
	"context"
	"fmt"

	"netlab/lab"
	"netlab/lab/device"
	"netlab/lab/diag"
	"netlab/lab/kernel"
)

// Use is one field of a lab that needs something of the kernel.
type Use struct {
	Need kernel.Need
	Pos  diag.Pos // the field that asks for it
	What string   // what asks for it, for the message: `vlan "eth0.10" of node "r"`
}

// Needs lists what a lab needs of the kernel, each need at every field
// that asks for it, in file order: each interface's kind (a link end's at
// the link), 802.1Q for a vlan, tbf for a rate alone, netem for a delay or
// a loss. lo needs nothing. Only the nodes of machine count (all of them
// for ""): a link to another machine's node needs a vxlan here.
func Needs(l *lab.Lab, machine string) []Use {
	var out []Use
	for _, n := range l.Nodes {
		if !lab.OnMachine(n, machine) {
			continue
		}
		for _, i := range n.Interfaces {
			if i.Name == "lo" {
				continue
			}
			what := fmt.Sprintf("interface %q of node %q", i.Name, n.Name)
			kind := i.Kind
			switch kind {
			case "":
				continue
			case device.VLAN:
				out = append(out, Use{kernel.NeedVLAN, i.At("kind"), what})
			default:
				at := i.At("kind")
				if !i.Has("kind") {
					if lk := l.LinkOf(n.Name, i.Name); lk != nil {
						at = lk.Pos
						if l.CrossesMachines(lk) {
							kind = device.VXLAN
						}
					}
				}
				out = append(out, Use{kernel.Need(kind), at, what})
			}
			m := i.Egress
			switch {
			case m.Delay != 0 || m.Loss != 0:
				field := "delay"
				if m.Delay == 0 {
					field = "loss"
				}
				out = append(out, Use{kernel.NeedNetem, i.At(field), what})
			case m.Rate != 0:
				out = append(out, Use{kernel.NeedTBF, i.At("rate"), what})
			}
		}
	}
	return out
}

// CheckNeeds asks the kernel about what the lab needs and returns one
// error at each field that asks for something it lacks, naming the kernel
// option; nothing is changed.
func CheckNeeds(ctx context.Context, k kernel.Kernel, l *lab.Lab, machine string) (diag.List, error) {
	uses := Needs(l, machine)
	var needs []kernel.Need
	seen := make(map[kernel.Need]bool)
	for _, u := range uses {
		if !seen[u.Need] {
			seen[u.Need] = true
			needs = append(needs, u.Need)
		}
	}
	if len(needs) == 0 {
		return nil, nil
	}
	lacks, err := k.Lacks(ctx, needs)
	if err != nil {
		return nil, fmt.Errorf("find out what the kernel has: %w", err)
	}
	var out diag.List
	for _, u := range uses {
		if _, ok := lacks[u.Need]; ok {
			out.Hintf(u.Pos, "use a kernel that has it, built in or as a module, or remove the field",
				"%s needs %s (%s), which this kernel lacks", u.What, needText(u.Need), u.Need.Option())
		}
	}
	return out, nil
}

// needText names a need for a message.
func needText(n kernel.Need) string {
	switch n {
	case kernel.NeedVLAN:
		return "802.1Q VLAN support"
	case kernel.NeedNetem:
		return "the netem qdisc"
	case kernel.NeedTBF:
		return "the tbf qdisc"
	}
	return "the " + string(n) + " device kind"
}
