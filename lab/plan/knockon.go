package plan

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"

	"netlab/lab/device"
	"netlab/lab/state"
)

// knockOns is the plan's model of the kernel: it adds to the diff's
// changes what the kernel will undo by itself when they are made, so that
// the first up after an edit leaves what verify expects. It runs after the
// diff and before the order, and returns each change it adds with the
// change that causes it, so that the drift labels follow the cause.
func (d *differ) knockOns() map[*Change]*Change {
	lowerCauses := d.dependents()
	causes := d.kernelRemovals()
	maps.Copy(causes, lowerCauses)
	return causes
}

// dependents plans the replacement of each macvlan whose parent, and each
// vxlan whose underlay dev, the plan deletes or replaces: the kernel
// deletes such a device along with its lower device, so it must be made
// again once the new one exists. It returns each change it adds with the
// change of the lower device that causes it.
func (d *differ) dependents() map[*Change]*Change {
	causes := make(map[*Change]*Change)
	gone := make(map[string]string)    // NODE:IFNAME -> what happens to it
	goneBy := make(map[string]*Change) // NODE:IFNAME -> the change that does it
	for _, c := range d.changes {
		if c.Object == Link && (c.Action == Delete || c.Action == Replace) {
			gone[c.Node+":"+c.Name] = "replaced"
			if c.Action == Delete {
				gone[c.Node+":"+c.Name] = "deleted"
			}
			goneBy[c.Node+":"+c.Name] = c
		}
	}
	for changed := true; changed; {
		changed = false
		for _, nodeName := range d.desired.NodeNames() {
			want := d.desired.Nodes[nodeName]
			for _, name := range want.LinkNames() {
				w := want.Links[name]
				lower := w.Parent
				if w.Kind == device.VXLAN && w.Dev != "" {
					lower = nodeName + ":" + w.Dev
				}
				what, ok := gone[lower]
				if lower == "" || !ok {
					continue
				}
				if _, done := gone[nodeName+":"+name]; done {
					continue
				}
				_, h := d.observedLink(nodeName, name)
				if h == nil || !h.Owned {
					continue
				}
				d.changes = slices.DeleteFunc(d.changes, func(c *Change) bool {
					return c.Node == nodeName && ((c.Object == Link && c.Name == name) || (c.Object == Addr && c.LinkName == name))
				})
				first := len(d.changes)
				d.replace(want, w, h, fmt.Sprintf("its lower device %s is %s, and the kernel deletes it along", lower, what))
				for _, c := range d.changes[first:] {
					causes[c] = goneBy[lower]
				}
				gone[nodeName+":"+name] = "replaced"
				goneBy[nodeName+":"+name] = d.changes[first]
				changed = true
			}
		}
	}
	return causes
}

// kernelRemovals plans again what the kernel removes by itself when other
// changes of the plan are made, though the diff found it in place: the
// routes through a device that is deleted, replaced or set down, and the
// IPv4 routes through one that loses its last IPv4 address (deletes run
// before adds); the IPv6 addresses of a device set down (keep_addr_on_down
// is 0 by default); and the ports of a bridge that is replaced. Without
// them, the first up after such an edit fails its verify. It returns each
// added change with the change that causes it.
func (d *differ) kernelRemovals() map[*Change]*Change {
	type linkKey struct{ node, link string }
	gone := make(map[linkKey]*Change)   // every route through the link goes
	noIPv4 := make(map[linkKey]*Change) // its IPv4 routes go
	down := make(map[linkKey]*Change)   // its IPv6 addresses go
	planned := make(map[string]bool)    // NODE OBJECT NAME of changes made anyway
	var updates []*Change
	for _, c := range d.changes {
		k := linkKey{c.Node, c.Name}
		switch {
		case c.Object == Link && (c.Action == Delete || c.Action == Replace):
			gone[k] = c
		case c.Object == Link && c.Action == Update:
			updates = append(updates, c)
			if c.OldLink.Up && !c.Link.Up {
				gone[k], down[k] = c, c
			}
		case c.Object == Addr && c.Action == Delete:
			k.link = c.LinkName
			if h := d.observed.Nodes[c.Node].Links[c.LinkName]; h != nil && !hasIPv4(h.Addrs, d.changes, c) {
				noIPv4[k] = c
			}
		}
		if c.Action != Delete {
			planned[c.Node+" "+string(c.Object)+" "+c.Name+" "+c.LinkName] = true
		}
	}
	causes := make(map[*Change]*Change)
	again := func(c, cause *Change) {
		if !planned[c.Node+" "+string(c.Object)+" "+c.Name+" "+c.LinkName] {
			planned[c.Node+" "+string(c.Object)+" "+c.Name+" "+c.LinkName] = true
			d.add(c)
			causes[c] = cause
		}
	}
	for _, name := range d.desired.NodeNames() {
		want, have := d.desired.Nodes[name], d.observed.Nodes[name]
		if have == nil || have.Foreign {
			continue
		}
		for _, h := range have.Routes {
			k := linkKey{name, h.Dev}
			cause := gone[k]
			if cause == nil && h.To.Addr().Is4() {
				cause = noIPv4[k]
			}
			if cause == nil {
				continue
			}
			for _, w := range want.Routes {
				if w.Key() == h.Key() {
					again(&Change{Action: Create, Object: Route, Node: name, NetNS: want.NetNS, Name: w.Key(), Route: w,
						Reason: "the kernel removes it along with a change to dev " + h.Dev}, cause)
				}
			}
		}
		for _, lname := range want.LinkNames() {
			w, h := want.Links[lname], have.Links[lname]
			if cause := down[linkKey{name, lname}]; cause != nil {
				for _, p := range w.Addrs {
					if p.Addr().Is6() && !state.KernelAddr(w.Kind, p) && slices.Contains(h.Addrs, p) {
						again(&Change{Action: Create, Object: Addr, Node: name, NetNS: want.NetNS, Name: p.String(), LinkName: lname, Prefix: p,
							Reason: "the kernel removes IPv6 addresses from a link set down"}, cause)
					}
				}
			}
			cause := gone[linkKey{name, w.Master}]
			if cause == nil || cause.Action != Replace || h == nil || h.Master != w.Master || planned[name+" "+string(Link)+" "+lname+" "] {
				continue
			}
			attr := AttrChange{Link: state.AttrMaster, Old: "(none)", New: w.Master}
			if i := slices.IndexFunc(updates, func(u *Change) bool { return u.Node == name && u.Name == lname }); i >= 0 {
				updates[i].Attrs = append(updates[i].Attrs, attr)
				continue
			}
			again(&Change{Action: Update, Object: Link, Node: name, NetNS: want.NetNS, Name: lname, Link: w, OldLink: h,
				Attrs: []AttrChange{attr}, Reason: "the kernel releases the ports of a bridge it deletes"}, cause)
		}
	}
	return causes
}

// hasIPv4 reports whether a link keeps an IPv4 address once the address
// deletes of the plan are made, del among them.
func hasIPv4(addrs []netip.Prefix, changes []*Change, del *Change) bool {
	for _, p := range addrs {
		if !p.Addr().Is4() {
			continue
		}
		deleted := slices.ContainsFunc(changes, func(c *Change) bool {
			return c.Object == Addr && c.Action == Delete && c.Node == del.Node && c.LinkName == del.LinkName && c.Prefix == p
		})
		if !deleted {
			return true
		}
	}
	return false
}
