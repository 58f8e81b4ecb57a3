// Package plan compares a desired state with an observed one and orders
// the difference into operations: create in dependency order, delete in
// reverse. It is pure: no kernel, no I/O. One job a file:
//
//	desired.go, desired_nft.go  the kernel objects a lab asks for (Desired)
//	desired_proc.go             the processes and hosts files it asks for
//	diff.go, diff_nft.go        what differs, object by object, and what is in the way
//	diff_proc.go                the same for processes and hosts files
//	rules.go                    policy routing rules: desired and diffed
//	knockon.go                  what the kernel undoes by itself along with those changes
//	order.go                    the apply order (Phase)
//	drift.go                    which changes repair drift rather than follow the file
//	text.go                     the plan as people read it (WriteText)
//	cmd.go                      each change as the ip(8) and nft commands that do it (Cmds)
//	plan.go                     the types: Plan, Change, Conflict
//
// Diff runs the steps of diff.go, knockon.go, order.go and drift.go in
// that order; validation is lab/validate's, before Desired.
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

// Change is one operation of a plan: an Action on one kernel object.
// Which fields are set depends on the Object and the Action, as each
// field's comment says; the others are zero. A Replace holds only the
// observed object: the new one is a separate Create, placed in its own
// phase, that Replacing reports and the text prints with it.
type Change struct {
	Action Action // what happens to the object
	Object Object // the kind of object, which says which fields below are set
	Node   string // the lab node the object belongs to
	NetNS  string // the namespace the change runs in; state.HostNetNS for a host node
	// Name is the object's key within its node: the namespace name
	// (NetNS), the link name (Link), the address as text (Addr), the
	// route's key, state.Route.Key (Route), the rule's, state.Rule.Key
	// (Rule), the sysctl key (Sysctl) or
	// state.NFTableName (NFTables).
	Name string

	Link     *state.Link    // Link create or update: the desired link
	OldLink  *state.Link    // Link update, replace or delete: the observed link
	PeerNS   string         // veth create: the namespace of the peer end, made by the same change
	PeerLink *state.Link    // veth create: the desired peer end
	LinkName string         // Addr: the link the address is on
	Prefix   netip.Prefix   // Addr: the address, with its prefix length
	Route    state.Route    // Route create or update: the desired route
	OldRoute state.Route    // Route update or delete: the observed route
	Rule     state.Rule     // Rule create: the desired rule
	OldRule  state.Rule     // Rule delete: the observed rule
	Value    string         // Sysctl create or update: the value the file gives
	OldValue string         // Sysctl update: the value the kernel reads back
	NFT      *state.NFTable // NFTables create or update: the desired table
	OldNFT   *state.NFTable // NFTables update or delete: the observed table
	Proc     *state.Process // Process create or replace: the desired process
	OldProc  *state.Process // Process replace or delete: the observed (running) process
	Hosts    string         // Hosts create or update: the file's desired content
	// Attrs lists, for an update, each attribute that differs, old and new
	// as text: of a link (a state.LinkAttr: mtu, master, ...), a route
	// ("via", "dev", "owner"), a sysctl ("value") or, rule by rule, a
	// table. Creates, replaces and deletes have none.
	Attrs []AttrChange

	// Drift is set when the object was changed outside netlab since the
	// last up: the change repairs the kernel rather than follows the file.
	Drift bool
	// Unmanaged is set when netlab did not create the object: it is in
	// Plan.Unmanaged, and among the changes only with prune.
	Unmanaged bool
	// Reason says why the change is needed, for display only: apply
	// decides from Action.
	Reason string

	// replacing marks the create half of a replacement: the delete half
	// is a Replace change in the delete phase, and the two print as one.
	replacing bool
}

// Replacing reports whether this create is the second half of a
// replacement, printed together with its Replace half.
func (c *Change) Replacing() bool { return c.replacing }

// AttrChange is one attribute that differs, its values as text.
type AttrChange struct {
	// Link is, in a link update, the attribute LinkSet is to change;
	// Name is then empty. It is zero in the changes of other objects.
	Link state.LinkAttr
	// Name is the attribute of a route, sysctl or table as the plan
	// prints it ("via", "value", "chain filter_input rule"), or a setting
	// that differs in a link replace's reason ("vni").
	Name string
	Old  string // its observed value, "(none)" when it has none
	New  string // its desired value, "(none)" when it is to have none
}

// Attr is the attribute as the plan prints it: "mtu", "via",
// "chain filter_input rule".
func (a AttrChange) Attr() string {
	if a.Link != 0 {
		return a.Link.String()
	}
	return a.Name
}

func (a AttrChange) String() string { return fmt.Sprintf("%s %s -> %s", a.Attr(), a.Old, a.New) }

// LinkAttrs are the attributes a link update changes, for LinkSet.
func (c *Change) LinkAttrs() []state.LinkAttr {
	var out []state.LinkAttr
	for _, a := range c.Attrs {
		if a.Link != 0 {
			out = append(out, a.Link)
		}
	}
	return out
}

// Plan is the ordered list of changes that takes the observed state to the
// desired one.
type Plan struct {
	Lab string // the lab's name
	// Changes are the operations in apply order: by Phase, then node,
	// then name.
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
	Node   string // the lab node that wants the object
	Object Object // NetNS or Link
	Name   string // the namespace or link name in the way
	Hint   string // what the user can do about it
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

// Process is the Object of a change to a program a node runs; Name is
// the process's name. A process is never updated in place: a changed
// declaration is a Replace (stop, then start).
const Process Object = "process"

// Hosts is the Object of a change to a node's /etc/netns/LAB.NODE/hosts;
// Name is "hosts".
const Hosts Object = "hosts"
