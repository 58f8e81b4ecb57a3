// Package plan compares a desired state with an observed one and orders
// the difference into operations: create in dependency order, delete in
// reverse. It is pure: no kernel, no I/O.
package plan

import (
	"fmt"
	"net/netip"

	"netlab/lab/state"
)

// Action is what a change does to its object.
type Action int

const (
	Create  Action = iota // the object is missing
	Update                // attributes differ and can change in place
	Replace               // an attribute that cannot change differs: delete, then create
	Delete                // the object should not exist
)

// Symbol is the plan's mark for the action: +, ~, -/+ or -.
func (a Action) Symbol() string {
	switch a {
	case Create:
		return "+"
	case Update:
		return "~"
	case Replace:
		return "-/+"
	default:
		return "-"
	}
}

func (a Action) String() string {
	return [...]string{"create", "update", "replace", "delete"}[a]
}

// Object is the kind of kernel object a change is about.
type Object string

const (
	NetNS  Object = "netns"
	Link   Object = "link"
	Addr   Object = "addr"
	Route  Object = "route"
	Sysctl Object = "sysctl"
)

// Change is one operation of a plan.
//
//	Create:  Link/Route/Value hold the desired object; Old* are zero.
//	Update:  Link and OldLink hold desired and observed; Attrs lists what differs.
//	Replace: as Update, but the object is deleted and created again.
//	Delete:  OldLink/OldRoute hold the observed object.
type Change struct {
	Action Action
	Object Object
	Node   string
	NetNS  string
	Name   string // link name, address, route key or sysctl key

	Link     *state.Link // desired link (create, update, replace)
	OldLink  *state.Link // observed link (update, replace, delete)
	PeerNS   string      // veth create: the namespace of the peer end
	PeerLink *state.Link // veth create: the desired peer end
	LinkName string      // addr: the link it belongs to
	Prefix   netip.Prefix
	Route    state.Route
	OldRoute state.Route
	Value    string // sysctl
	OldValue string
	NFT      *state.NFTable // nftables: the desired table
	OldNFT   *state.NFTable // nftables: the observed table
	Attrs    []AttrChange

	// Drift is set when the object was changed outside netlab since the
	// last up; Unmanaged when netlab did not create it (deleted only with
	// prune). Reason is for display only: apply decides from Action.
	Drift     bool
	Unmanaged bool
	Reason    string

	// replacing marks the create half of a replacement: the delete half
	// is a Replace change in the delete phase, and the two print as one.
	replacing bool
}

// Replacing reports whether this create is the second half of a
// replacement, printed together with its Replace half.
func (c *Change) Replacing() bool { return c.replacing }

// AttrChange is one attribute that differs, as text.
type AttrChange struct {
	Name string
	Old  string
	New  string
}

func (a AttrChange) String() string { return fmt.Sprintf("%s %s -> %s", a.Name, a.Old, a.New) }

// Plan is the ordered list of changes that takes the observed state to the
// desired one.
type Plan struct {
	Lab     string
	Changes []*Change
	// Unmanaged lists objects in the lab's namespaces that the file does
	// not declare and netlab did not create. With prune they are also in
	// Changes, as deletes.
	Unmanaged []*Change
	// Conflicts are objects in the way that netlab does not own: a
	// namespace of the lab's name without netlab's marker, a link of a
	// declared name that netlab did not create. Apply refuses to start
	// while there are any.
	Conflicts []Conflict
}

// Conflict is a foreign object where the lab wants one of its own.
type Conflict struct {
	Node   string
	Object Object
	Name   string
	Hint   string
}

func (c Conflict) Error() string {
	return fmt.Sprintf("%s %q in node %q exists and is not managed by netlab: %s", c.Object, c.Name, c.Node, c.Hint)
}

// Empty reports whether the plan changes nothing.
func (p *Plan) Empty() bool { return len(p.Changes) == 0 }

// Counts returns how many changes of each action the plan has.
func (p *Plan) Counts() (create, update, replace, del int) {
	for _, c := range p.Changes {
		switch c.Action {
		case Create:
			create++
		case Update:
			update++
		case Replace:
			replace++
		case Delete:
			del++
		}
	}
	return
}

// NFTables is the Object of a change to a node's netlab nftables table.
// The table is diffed as a whole and replaced in one atomic transaction.
const NFTables Object = "nftables"
