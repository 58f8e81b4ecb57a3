package validate

import (
	"net/netip"

	"netlab/lab"
)

// addresses reports an address used twice anywhere in the lab (the same IP,
// whatever its prefix length): two nodes answering for one address is a
// classic lab bug that shows up only as flaky traffic.
func (v *validator) addresses() {
	type owner struct {
		iface *lab.Interface
		line  int
	}
	first := make(map[netip.Addr]owner)
	for _, n := range v.lab.Nodes {
		for _, i := range n.Interfaces {
			for _, a := range i.Addresses {
				ip := a.Prefix.Addr()
				if ip.IsLoopback() {
					continue // every node has its own loopback
				}
				if prev, ok := first[ip]; ok {
					v.diags.Hintf(a.Pos, "use another address",
						"address %s is used twice in the lab (first by %s at line %d)", ip, ref(prev.iface), prev.line)
					continue
				}
				first[ip] = owner{i, a.Pos.Line}
			}
		}
	}
}
