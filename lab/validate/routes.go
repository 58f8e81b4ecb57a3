package validate

import (
	"fmt"
	"net/netip"

	"netlab/lab"
)

func (v *validator) routes() {
	for _, n := range v.lab.Nodes {
		type key struct {
			to     netip.Prefix
			metric uint32
			table  uint32
		}
		seen := make(map[key]int)
		for _, r := range n.Routes {
			v.route(n, r)
			if !r.To.IsValid() || r.Broken("table") {
				continue
			}
			k := key{r.To, r.Metric, r.Table}
			if k.table == lab.TableMain {
				k.table = 0 // table: main and no table are one table
			}
			if line, dup := seen[k]; dup {
				v.diags.Hintf(r.At("to"), fmt.Sprintf("the route at line %d has the same destination, metric and table: remove one or give them different metrics", line),
					"route to %s is declared twice in node %q", r.To, n.Name)
				continue
			}
			seen[k] = r.Pos.Line
		}
	}
}

func (v *validator) route(n *lab.Node, r *lab.Route) {
	if !r.Has("to") {
		v.diags.Hintf(r.Pos, "add to: CIDR or to: default", "route of node %q has no destination", n.Name)
	}
	if !r.Has("via") && !r.Has("dev") {
		v.diags.Hintf(r.Pos, "add via: GATEWAY or dev: IFNAME", "route of node %q needs via or dev", n.Name)
	}
	if r.Usable("dev") && n.Interface(r.Dev) == nil && r.Dev != "lo" {
		v.diags.Hintf(r.At("dev"), "name an interface of the node", "route dev %q is not an interface of node %q", r.Dev, n.Name)
	}
	if i := n.Interface(r.Dev); r.Usable("dev") && i != nil && !i.Up {
		v.diags.Hintf(r.At("dev"), "set the interface up, or route through another one",
			"route dev %q is down (up: false), and Linux adds no route through a device that is down", r.Dev)
		return
	}
	if !r.Via.IsValid() {
		return
	}
	if r.To.IsValid() && r.To.Addr().Is4() != r.Via.Is4() {
		v.diags.Hintf(r.At("via"), "use a gateway of the same IP family as the destination", "route to %s via %s mixes IPv4 and IPv6", r.To, r.Via)
		return
	}
	if r.Via.Is6() && r.Via.IsLinkLocalUnicast() {
		if !r.Has("dev") {
			v.diags.Hintf(r.At("via"), "add dev: the interface the gateway is on", "link-local gateway %s needs dev", r.Via)
		}
		return
	}
	if v.nodeHasAddr(n, r.Via) {
		v.diags.Hintf(r.At("via"), "use the address of a neighbour, such as the router on that subnet",
			"route via %s goes through an address of node %q itself", r.Via, n.Name)
		return
	}
	if up, down := v.reachesVia(n, r); up == nil && down != nil {
		v.diags.Hintf(r.At("via"), "set the interface up, or route through another one",
			"route via %s can only go through %q, which is down (up: false)", r.Via, down.Name)
		return
	}
	if !v.reaches(n, r) {
		where := fmt.Sprintf("node %q", n.Name)
		if r.Usable("dev") {
			where = fmt.Sprintf("interface %q of node %q", r.Dev, n.Name)
		}
		v.diags.Hintf(r.At("via"), "add an address in the gateway's subnet, or fix the gateway",
			"route via %s cannot be reached: no address of %s is in its subnet", r.Via, where)
	}
}

// reachesVia returns an interface that is up and one that is down whose
// subnets hold the route's gateway, or nil for none.
func (v *validator) reachesVia(n *lab.Node, r *lab.Route) (up, down *lab.Interface) {
	for _, i := range n.Interfaces {
		if r.Usable("dev") && i.Name != r.Dev {
			continue
		}
		for _, a := range i.Addresses {
			if a.Prefix.Masked().Contains(r.Via) && a.Prefix.Addr() != r.Via {
				if i.Up {
					up = i
				} else {
					down = i
				}
			}
		}
	}
	return up, down
}

// reaches reports whether the route's gateway lies in a subnet of one of the
// node's addresses (of its dev, when it names one), so the kernel can
// resolve it on a link.
func (v *validator) reaches(n *lab.Node, r *lab.Route) bool {
	for _, i := range n.Interfaces {
		if r.Usable("dev") && i.Name != r.Dev {
			continue
		}
		for _, a := range i.Addresses {
			if a.Prefix.Masked().Contains(r.Via) && a.Prefix.Addr() != r.Via {
				return true
			}
		}
	}
	return false
}
