package state

import "fmt"

// LinkAttr is an attribute of a link that can change in place: what a
// plan's link update lists (plan.AttrChange.Link) and what the kernel's
// LinkSet sets from a Link. It is a number, not a string, so that a
// misspelt attribute does not compile; String gives the name the plan
// text and error messages print.
type LinkAttr uint8

// The attributes, in the order a link update lists them. The zero
// LinkAttr names none: LinkSet refuses it.
const (
	AttrMaster     LinkAttr = iota + 1 // Master: the bridge it is a port of, or none
	AttrMTU                            // MTU
	AttrMAC                            // MAC
	AttrSTP                            // STP, of a bridge
	AttrSourceMACs                     // SourceMACs, of a macvlan in source mode
	AttrFDB                            // FDB, of a vxlan
	AttrUp                             // Up
	AttrAlias                          // Alias: netlab's marker
	AttrPort                           // BridgePort: a bridge port's flags
	AttrNeighbors                      // Neighbors: permanent ARP/NDP entries
	AttrEgress                         // Egress: the impairment, netlab's root qdisc
)

var linkAttrNames = [...]string{
	AttrMaster:     "master",
	AttrMTU:        "mtu",
	AttrMAC:        "mac",
	AttrSTP:        "stp",
	AttrSourceMACs: "source-macs",
	AttrFDB:        "fdb",
	AttrUp:         "up",
	AttrAlias:      "alias",
	AttrPort:       "port",
	AttrNeighbors:  "neighbors",
	AttrEgress:     "egress",
}

// LinkAttrs lists every attribute, in order.
var LinkAttrs = []LinkAttr{AttrMaster, AttrMTU, AttrMAC, AttrSTP, AttrSourceMACs, AttrFDB, AttrUp, AttrAlias, AttrPort, AttrNeighbors, AttrEgress}

// String is the attribute's name as the plan prints it: "master", "mtu",
// "source-macs".
func (a LinkAttr) String() string {
	if int(a) < len(linkAttrNames) && linkAttrNames[a] != "" {
		return linkAttrNames[a]
	}
	return fmt.Sprintf("LinkAttr(%d)", uint8(a))
}
