package plan

import (
	"cmp"
	"slices"
)

// phase places a change in the apply order. Deletes come first, from the
// leaves up (routes, addresses, ports, bridges, namespaces), so that a name
// or address freed by one object can be taken by another; then creates in
// dependency order: namespaces, bridges (which ports name as master), other
// links, their attributes, addresses, routes (whose gateways need
// addresses) and sysctls (which may name an interface). Macvlans and
// vxlans are made, and changed, after the other links are changed: a new
// one takes its MTU from its parent or underlay as it is then, and one
// whose MTU goes up can go only as high as its lower device already is.
func phase(c *Change) int {
	if c.Action == Delete || c.Action == Replace {
		switch c.Object {
		case Route:
			return 0
		case Addr:
			return 1
		case Link:
			if c.OldLink != nil && c.OldLink.Kind == "bridge" {
				return 3
			}
			return 2
		case NetNS:
			return 4
		case NFTables:
			return 0
		}
		return 5
	}
	switch c.Object {
	case NetNS:
		return 10
	case Link:
		upper := c.Link.Kind == "macvlan" || c.Link.Kind == "vxlan"
		switch {
		case c.Action == Update && upper:
			return 15
		case c.Action == Update:
			return 13 // masters are bridges, made in 11
		case c.Link.Kind == "bridge":
			return 11
		case upper:
			return 14 // on a parent or underlay made in 11 or 12, changed in 13
		}
		return 12
	case Addr:
		return 16
	case Route:
		return 17
	case Sysctl:
		return 18
	case NFTables:
		return 19 // rules name interfaces, which exist by now
	}
	return 20
}

func order(changes []*Change) []*Change {
	slices.SortStableFunc(changes, func(a, b *Change) int {
		return cmp.Or(cmp.Compare(phase(a), phase(b)), cmp.Compare(a.Node, b.Node), cmp.Compare(a.Name, b.Name))
	})
	return changes
}
