package apply

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"netlab/lab"
	"netlab/lab/diag"
	"netlab/lab/kernel"
	"netlab/lab/mtu"
)

// CheckMachine finds out, before any change, whether this is machine m
// of the lab: m's address must be on an interface of the machine's own
// namespace that is up, and that interface's MTU must carry each of m's
// links to other machines, its MTU and the VXLAN encapsulation. Each
// problem is at the field it is about: the machine's address, or the
// link. A machine whose address is elsewhere is named, as the one this
// probably is.
func CheckMachine(ctx context.Context, k kernel.Kernel, l *lab.Lab, machine string) (diag.List, error) {
	m := l.Machine(machine)
	if m == nil {
		return nil, fmt.Errorf("lab %s has no machine %q", l.Name, machine)
	}
	addrs, err := k.MachineAddrs(ctx)
	if err != nil {
		return nil, fmt.Errorf("read this machine's addresses: %w", err)
	}
	var out diag.List
	i := slices.IndexFunc(addrs, func(a kernel.MachineAddr) bool { return a.Addr == m.Address })
	if i < 0 {
		hint := "run it on machine " + machine + ", or give " + machine + " the address it has"
		for _, other := range l.Machines {
			if other != m && slices.ContainsFunc(addrs, func(a kernel.MachineAddr) bool { return a.Addr == other.Address }) {
				hint = fmt.Sprintf("this machine has %s, machine %s's address: run netlab with --machine %s", other.Address, other.Name, other.Name)
				break
			}
		}
		out.Hintf(m.At("address"), hint, "machine %q: no interface of this machine has address %s (it has %s)", machine, m.Address, addrList(addrs))
		return out, nil
	}
	under := addrs[i]
	if !under.Up {
		out.Hintf(m.At("address"), "set "+under.Link+" up", "machine %q: %s, which has address %s, is down", machine, under.Link, m.Address)
	}
	for _, lk := range l.Links {
		if !l.CrossesMachines(lk) {
			continue
		}
		end := lk.Ends[0]
		if l.MachineOf(end.Node) != machine {
			end = lk.Ends[1]
		}
		if l.MachineOf(end.Node) != machine {
			continue
		}
		i := l.Node(end.Node).Interface(end.IfName)
		if i == nil {
			continue // validate has refused the file
		}
		need := mtu.Of(l, i) // the link's, the end's own, or the default
		over := mtu.CrossLinkOverhead(l, lk)
		if under.MTU != 0 && need+over > under.MTU {
			out.Hintf(lk.At("mtu"), fmt.Sprintf("give the link mtu: %d, or raise %s's", under.MTU-over, under.Link),
				"link %s - %s: its mtu %d and %d bytes of VXLAN need an underlay mtu of %d, and %s, which has %s, has %d", lk.Ends[0], lk.Ends[1], need, over, need+over, under.Link, m.Address, under.MTU)
		}
	}
	return out, nil
}

// addrList writes a machine's addresses for a message, loopback left out.
func addrList(addrs []kernel.MachineAddr) string {
	var parts []string
	for _, a := range addrs {
		if a.Addr.IsLoopback() || a.Addr.IsLinkLocalUnicast() {
			continue
		}
		parts = append(parts, a.Addr.String()+" on "+a.Link)
	}
	if len(parts) == 0 {
		return "none but loopback and link-local"
	}
	return strings.Join(parts, ", ")
}
