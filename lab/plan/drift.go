package plan

import (
	"reflect"
	"slices"

	"netlab/lab/state"
)

// labelDrift marks the ordered changes that repair drift (Change.Drift).
// causes gives each knock-on the change it follows from.
func (d *differ) labelDrift(causes map[*Change]*Change) {
	linkCreates := make(map[string]*Change) // NODE:IFNAME of both ends of a veth
	for _, c := range d.plan.Changes {
		c.Drift = d.isDrift(c)
		if c.Object == Link && c.Action == Create {
			linkCreates[c.Node+":"+c.Name] = c
			if c.PeerLink != nil {
				linkCreates[c.Link.Peer] = c
			}
		}
	}
	// A replacement prints as its delete half, in the section of its
	// create half: that is the one compared with the last up.
	for _, c := range d.plan.Changes {
		if c.Object == Link && c.Action == Replace && linkCreates[c.Node+":"+c.Name] != nil {
			c.Drift = linkCreates[c.Node+":"+c.Name].Drift
		}
	}
	// What is made again along with a link, or because of another change,
	// is drift only if that link or change is: a link replaced because the
	// file changed is an edit, and so are its addresses. So a change and
	// its knock-ons always print in one section.
	for _, c := range d.plan.Changes {
		cause := causes[c]
		if c.Object == Addr && c.Action == Create && linkCreates[c.Node+":"+c.LinkName] != nil {
			cause = linkCreates[c.Node+":"+c.LinkName]
		}
		if cause != nil && cause.Action == Replace && linkCreates[cause.Node+":"+cause.Name] != nil {
			cause = linkCreates[cause.Node+":"+cause.Name]
		}
		if cause != nil {
			c.Drift = cause.Drift
		}
	}
}

// isDrift reports whether a change repairs the kernel rather than follows
// the file: the object the file asks for is the one the last up applied,
// so the difference was made outside netlab.
func (d *differ) isDrift(c *Change) bool {
	last := d.opts.LastApplied
	if last == nil || c.Unmanaged {
		return false
	}
	ln := last.Nodes[c.Node]
	wn := d.desired.Nodes[c.Node]
	if ln == nil || wn == nil {
		return false
	}
	switch c.Object {
	case NetNS:
		return c.Action == Create
	case Link:
		if c.Action == Delete {
			// A link netlab made that neither the last up nor the file
			// names was renamed (or made) by hand; one left half-made by
			// an interrupted up says so in its Reason.
			return c.OldLink != nil && c.OldLink.Owned && c.Reason == "" && ln.Links[c.Name] == nil && wn.Links[c.Name] == nil
		}
		if c.Link == nil {
			return false // a Replace: Diff gives it its create half's
		}
		ll := ln.Links[c.Name]
		if ll != nil && c.Action == Update {
			// Only the attributes that differ count: a link whose
			// addresses were edited can still have been set down by hand.
			return slices.IndexFunc(c.Attrs, func(a AttrChange) bool { return !sameAttr(ll, c.Link, a.Link) }) < 0
		}
		return ll != nil && sameLink(ll, c.Link)
	case Addr:
		ll, wl := ln.Links[c.LinkName], wn.Links[c.LinkName]
		if ll == nil || wl == nil {
			return false
		}
		inLast, inWant := slices.Contains(ll.Addrs, c.Prefix), slices.Contains(wl.Addrs, c.Prefix)
		return inLast == inWant
	case Route:
		return c.Action != Delete && slices.Contains(ln.Routes, c.Route)
	case Rule:
		return c.Action == Create && slices.Contains(ln.Rules, c.Rule)
	case Sysctl:
		v, ok := ln.Sysctls[c.Name]
		return ok && state.SysctlValue(v) == state.SysctlValue(c.Value)
	case NFTables:
		return c.Action != Delete && ln.NFT.Signature() == c.NFT.Signature()
	case Process:
		// A process the last up started as it is declared that is not
		// running ended (or was killed) since: starting it is a repair.
		lp := ln.Procs[c.Name]
		return c.Action == Create && !c.replacing && lp != nil && lp.Hash == c.Proc.Hash
	case Hosts:
		return c.Action != Delete && ln.Hosts != nil && ln.Hosts.Holds(c.Hosts)
	}
	return false
}

// sameAttr compares one attribute, as update names it, of two desired
// links.
func sameAttr(a, b *state.Link, attr state.LinkAttr) bool {
	switch attr {
	case state.AttrMaster:
		return a.Master == b.Master
	case state.AttrMTU:
		return a.WantMTU() == b.WantMTU()
	case state.AttrMAC:
		return a.MAC == b.MAC
	case state.AttrSTP:
		return sameSTP(a, b)
	case state.AttrPort:
		return samePort(a.BridgePort, b.BridgePort)
	case state.AttrNeighbors:
		return slices.Equal(a.Neighbors, b.Neighbors)
	case state.AttrUp:
		return a.Up == b.Up
	case state.AttrSourceMACs:
		return slices.Equal(a.SourceMACs, b.SourceMACs)
	case state.AttrFDB:
		return slices.Equal(a.FDB, b.FDB)
	case state.AttrAlias:
		return a.Alias == b.Alias
	case state.AttrEgress:
		return a.Egress == b.Egress
	}
	return false
}

// sameLink compares two desired links.
func sameLink(a, b *state.Link) bool { return reflect.DeepEqual(a, b) }
