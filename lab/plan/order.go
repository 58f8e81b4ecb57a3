package plan

import (
	"cmp"
	"fmt"
	"slices"

	"netlab/lab/device"
)

// Phase is a step of the apply order: changes run phase by phase, in the
// order of the constants below. This is the one place that order is
// written; render's script heads its sections by it.
//
// Deletes come first, and of them first the stop of processes (which use
// every other object, and must not hold a namespace that goes) and the
// removal of hosts files; then, from the leaves up (routes, addresses,
// ports, bridges, namespaces), so that a name or address freed by one object can
// be taken by another; then creates in dependency order: namespaces,
// bridges (which ports name as master), other links, their attributes,
// addresses, routes (whose gateways need addresses) and sysctls (which may
// name an interface). Macvlans and vxlans are made, and changed, after the
// other links are changed: a new one takes its MTU from its parent or
// underlay as it is then, and one whose MTU goes up can go only as high as
// its lower device already is. Hosts files are written, and processes
// started, last of all: a process may bind its addresses, route through
// the lab and be filtered by its rules from its first instruction, and
// look up the other nodes by name.
type Phase int

const (
	PhaseDeleteProcesses   Phase = iota // stop processes
	PhaseDeleteHosts                    // remove hosts files
	PhaseDeleteRoutes                   // delete routes and nftables tables
	PhaseDeleteAddrs                    // delete addresses
	PhaseDeleteLinks                    // delete (or replace) links other than bridges
	PhaseDeleteBridges                  // delete (or replace) bridges, once their ports are gone
	PhaseDeleteNetNS                    // delete namespaces
	PhaseDeleteOther                    // a delete of no known object
	PhaseNetNS                          // create namespaces
	PhaseBridges                        // create bridges
	PhaseLinks                          // create veth pairs, tun, tap and other links
	PhaseLinkSettings                   // change links other than macvlan and vxlan (masters are bridges, made in PhaseBridges)
	PhaseUpperLinks                     // create macvlans, vxlans and vlans, on a parent or underlay made and changed by now
	PhaseUpperLinkSettings              // change macvlans and vxlans
	PhaseAddrs                          // add addresses
	PhaseRoutes                         // add or change routes
	PhaseSysctls                        // set sysctls
	PhaseNFTables                       // write nftables tables: rules name interfaces, which exist by now
	PhaseHosts                          // write hosts files
	PhaseProcesses                      // start processes, in a node made whole
	PhaseOther                          // a change of no known object
)

var phaseNames = [...]string{
	"stop processes", "remove hosts files", "delete routes and tables", "delete addresses", "delete links", "delete bridges", "delete namespaces", "delete other",
	"namespaces", "bridges", "links", "link settings", "upper links", "upper link settings",
	"addresses", "routes", "sysctls", "nftables", "hosts files", "processes", "other",
}

func (p Phase) String() string {
	if p < 0 || int(p) >= len(phaseNames) {
		return fmt.Sprintf("phase %d", int(p))
	}
	return phaseNames[p]
}

// Phase places the change in the apply order.
func (c *Change) Phase() Phase {
	if c.Action == Delete || c.Action == Replace {
		switch c.Object {
		case Route, Rule, NFTables: // rules with the routes: a rule's table may be emptied first
			return PhaseDeleteRoutes
		case Addr:
			return PhaseDeleteAddrs
		case Link:
			if c.OldLink != nil && c.OldLink.Kind == device.Bridge {
				return PhaseDeleteBridges
			}
			return PhaseDeleteLinks
		case NetNS:
			return PhaseDeleteNetNS
		case Process:
			return PhaseDeleteProcesses
		case Hosts:
			return PhaseDeleteHosts
		}
		return PhaseDeleteOther
	}
	switch c.Object {
	case NetNS:
		return PhaseNetNS
	case Link:
		upper := c.Link.Kind == device.MACVLAN || c.Link.Kind == device.VXLAN || c.Link.Kind == device.VLAN
		switch {
		case c.Action == Update && upper:
			return PhaseUpperLinkSettings
		case c.Action == Update:
			return PhaseLinkSettings
		case c.Link.Kind == device.Bridge:
			return PhaseBridges
		case upper:
			return PhaseUpperLinks
		}
		return PhaseLinks
	case Addr:
		return PhaseAddrs
	case Route, Rule: // a rule may name a table or interface not there yet: the kernel allows it
		return PhaseRoutes
	case Sysctl:
		return PhaseSysctls
	case NFTables:
		return PhaseNFTables
	case Hosts:
		return PhaseHosts
	case Process:
		return PhaseProcesses
	}
	return PhaseOther
}

// order sorts the changes by phase, then node, then name.
func order(changes []*Change) []*Change {
	slices.SortStableFunc(changes, func(a, b *Change) int {
		return cmp.Or(cmp.Compare(a.Phase(), b.Phase()), cmp.Compare(a.Node, b.Node), cmp.Compare(a.Name, b.Name))
	})
	return changes
}
