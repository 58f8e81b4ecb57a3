package plan

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"netlab/lab/device"
	"netlab/lab/state"
)

// Options change what Diff plans.
type Options struct {
	// Prune also deletes objects in the lab's namespaces that the file does
	// not declare and netlab did not create.
	Prune bool
	// LastApplied is the desired state of the last successful up, if known.
	// It is used only to tell drift (the kernel changed) from edits (the
	// file changed); nil means nothing is labelled as drift.
	LastApplied *state.State
	// Exits are the ends of declared processes that netlab saw (the run
	// directory keeps them): the plan says a process it starts again
	// "exited with status 1 at 12:03:04" rather than only that it is not
	// running.
	Exits []state.Exit
}

// Diff returns the plan that takes observed to desired, in four steps,
// each in its own file: the difference object by object (diff.go), what
// the kernel undoes by itself along with those changes and must be made
// again (knockon.go), the apply order (order.go), and which changes
// repair drift rather than follow the file (drift.go).
func Diff(desired, observed *state.State, opts Options) *Plan {
	if observed == nil {
		observed = state.New(desired.Lab)
	}
	d := &differ{desired: desired, observed: observed, opts: opts, plan: &Plan{Lab: desired.Lab}}
	d.diff()
	causes := d.knockOns()
	d.plan.Changes = order(d.changes)
	d.labelDrift(causes)
	return d.plan
}

// differ holds what Diff's steps share: the two states, the options, the
// plan being made and the changes found so far, in no order until order.
type differ struct {
	desired, observed *state.State
	opts              Options
	plan              *Plan
	changes           []*Change

	// lastHosts is the last hosts file update's line changes: every
	// node of a lab has the same file, so an edit that adds a node
	// changes all of them the same way.
	lastHosts struct {
		old, new string
		attrs    []AttrChange
	}
}

func (d *differ) add(c *Change) { d.changes = append(d.changes, c) }

// diff plans what differs between the two states, node by node, then the
// veth pairs, which span two nodes.
func (d *differ) diff() {
	for _, name := range unionKeys(d.desired.Nodes, d.observed.Nodes) {
		d.node(name, d.desired.Nodes[name], d.observed.Nodes[name])
	}
	d.vethPairs()
}

func (d *differ) unmanaged(c *Change) {
	c.Unmanaged = true
	c.Reason = "not declared in the lab file"
	d.plan.Unmanaged = append(d.plan.Unmanaged, c)
	if d.opts.Prune {
		d.add(c)
	}
}

func (d *differ) node(name string, want, have *state.Node) {
	switch {
	case have != nil && have.Foreign:
		if want != nil {
			d.plan.Conflicts = append(d.plan.Conflicts, Conflict{Node: name, Object: NetNS, Name: have.NetNS,
				Hint: "it has no netlab marker: remove it (ip netns del " + have.NetNS + ") or rename the lab"})
		}
		return
	case want != nil && want.Host:
		// The machine's own namespace: always there, never created or
		// deleted, and only its links that netlab marked are observed.
		if have == nil {
			have = state.NewNode(name, want.NetNS)
		}
	case want == nil && have.Host:
		for _, lname := range have.LinkNames() {
			if h := have.Links[lname]; h.Owned {
				d.add(&Change{Action: Delete, Object: Link, Node: name, NetNS: have.NetNS, Name: lname, OldLink: h})
			}
		}
		return
	case want == nil:
		// The whole node goes. Its veth peers in other nodes are deleted
		// by their own nodes' diff, before the namespace; its processes
		// are stopped and its hosts file removed first.
		d.goneProcs(have)
		d.add(&Change{Action: Delete, Object: NetNS, Node: name, NetNS: have.NetNS, Name: have.NetNS})
		return
	case have == nil:
		d.add(&Change{Action: Create, Object: NetNS, Node: name, NetNS: want.NetNS, Name: want.NetNS})
		// A new namespace has lo, which NetNSAdd sets up, and which the
		// kernel then gives its loopback addresses: a file that lists
		// 127.0.0.1/8 has nothing to add (ip addr add would fail).
		have = state.NewNode(name, want.NetNS)
		have.Links["lo"] = &state.Link{Name: "lo", Kind: device.Loopback, Up: true, MTU: state.LoopbackMTU,
			Addrs: slices.Clone(state.LoopbackAddrs)}
		// And the sysctls NetNSAdd sets: a file that sets one the same
		// way has nothing to add.
		for _, sc := range state.NetNSSysctls {
			have.Sysctls[sc.Key] = sc.Value
		}
		// A hosts file can outlive its namespace (a down interrupted, a
		// namespace deleted by hand), or be someone else's: seen now, a
		// foreign one is a conflict before anything is made.
		have.Hosts = d.observed.OrphanHosts[name]
	}
	d.links(want, have)
	d.routes(want, have)
	d.rules(want, have)
	d.sysctls(want, have)
	d.nft(want, have)
	if !want.Host { // the machine's processes and /etc/hosts are not a lab's
		d.procs(want, have)
		d.hosts(want, have)
	}
}

func (d *differ) links(want, have *state.Node) {
	for _, name := range unionKeys(want.Links, have.Links) {
		w, h := want.Links[name], have.Links[name]
		switch {
		case w != nil && w.Kind == device.Veth:
			continue // pairs are diffed as a whole in vethPairs
		case w == nil && h != nil:
			if state.KernelDevice(name) && !h.Owned {
				continue
			}
			c := &Change{Action: Delete, Object: Link, Node: want.Name, NetNS: want.NetNS, Name: name, OldLink: h}
			switch {
			case want.Host && !h.Owned:
				// The machine's: neither the lab's nor unmanaged.
			case h.Owned:
				d.add(c)
			case strings.HasPrefix(name, state.TempLinkPrefix):
				// netlab creates each link under this reserved prefix and
				// renames it once marked: one still so named inside the
				// lab's namespace was left by an interrupted up.
				c.Reason = "left half-made by an interrupted up"
				d.add(c)
			default:
				d.unmanaged(c)
			}
		case w != nil && h == nil:
			d.add(&Change{Action: Create, Object: Link, Node: want.Name, NetNS: want.NetNS, Name: name, Link: w})
			d.addrs(want, w, nil)
		default:
			d.existingLink(want, w, h)
		}
	}
}

// existingLink diffs a declared, non-veth link that exists.
func (d *differ) existingLink(n *state.Node, w, h *state.Link) {
	if w.Kind == device.Loopback {
		d.update(n, w, h)
		d.addrs(n, w, h)
		return
	}
	if !h.Owned {
		if !d.mayPrune(n) {
			d.plan.Conflicts = append(d.plan.Conflicts, Conflict{Node: n.Name, Object: Link, Name: w.Name, Hint: conflictHint(n)})
			return
		}
		d.replace(n, w, h, "exists but netlab did not create it")
		return
	}
	if h.Kind != w.Kind {
		d.replace(n, w, h, fmt.Sprintf("kind %s -> %s cannot change in place", h.Kind, w.Kind))
		return
	}
	if reason := immutableChange(w, h); reason != "" {
		d.replace(n, w, h, reason)
		return
	}
	d.update(n, w, h)
	d.addrs(n, w, h)
}

// mayPrune reports whether a link netlab did not create may be removed
// from the node: only with prune, and never in a host node, whose links
// are the machine's.
func (d *differ) mayPrune(n *state.Node) bool { return d.opts.Prune && !n.Host }

func conflictHint(n *state.Node) string {
	if n.Host {
		return "it is the machine's own and netlab never changes it: rename yours"
	}
	return "remove it or rename yours (up --prune replaces it)"
}

// replace plans a delete of the observed link and a create of the desired
// one; the two halves are placed in their phases and printed as one line.
func (d *differ) replace(n *state.Node, w, h *state.Link, reason string) {
	d.add(&Change{Action: Replace, Object: Link, Node: n.Name, NetNS: n.NetNS, Name: h.Name, OldLink: h, Reason: reason, Unmanaged: !h.Owned})
	d.add(&Change{Action: Create, Object: Link, Node: n.Name, NetNS: n.NetNS, Name: w.Name, Link: w, Reason: reason, replacing: true})
	d.addrs(n, w, nil)
}

// update plans the in-place changes of a link's attributes.
func (d *differ) update(n *state.Node, w, h *state.Link) {
	var attrs []AttrChange
	if w.Kind != device.Loopback && w.Master != h.Master {
		attrs = append(attrs, AttrChange{Link: state.AttrMaster, Old: orNone(h.Master), New: orNone(w.Master)})
	}
	// An MTU the file does not give is the kernel's default for the link,
	// and any other is a difference too: set by hand, or left from an mtu
	// the file no longer has.
	mtu := w.WantMTU()
	if mtu != 0 && mtu != h.MTU {
		attrs = append(attrs, AttrChange{Link: state.AttrMTU, Old: fmt.Sprint(h.MTU), New: fmt.Sprint(mtu)})
		if w.MTU == 0 {
			// The change sets the default explicitly.
			wc := *w
			wc.MTU = mtu
			w = &wc
		}
	}
	if w.MAC != "" && !strings.EqualFold(w.MAC, h.MAC) {
		attrs = append(attrs, AttrChange{Link: state.AttrMAC, Old: orNone(h.MAC), New: w.MAC})
	}
	if w.Kind == device.Bridge && !sameSTP(w, h) {
		attrs = append(attrs, AttrChange{Link: state.AttrSTP, Old: stpText(h), New: stpText(w)})
	}
	if w.Kind == device.MACVLAN && !slices.Equal(w.SourceMACs, h.SourceMACs) {
		attrs = append(attrs, AttrChange{Link: state.AttrSourceMACs, Old: listOrNone(h.SourceMACs), New: listOrNone(w.SourceMACs)})
	}
	if w.Kind == device.VXLAN && !slices.Equal(w.FDB, h.FDB) {
		attrs = append(attrs, AttrChange{Link: state.AttrFDB, Old: fdbText(h.FDB), New: fdbText(w.FDB)})
	}
	if w.Kind != device.Loopback && w.Egress != h.Egress {
		attrs = append(attrs, AttrChange{Link: state.AttrEgress, Old: h.Egress.String(), New: w.Egress.String()})
	}
	if w.Up != h.Up {
		attrs = append(attrs, AttrChange{Link: state.AttrUp, Old: fmt.Sprint(h.Up), New: fmt.Sprint(w.Up)})
	}
	if w.Kind != device.Loopback && w.Alias != "" && w.Alias != h.Alias {
		attrs = append(attrs, AttrChange{Link: state.AttrAlias, Old: orNone(h.Alias), New: w.Alias})
	}
	attrs = append(attrs, bridgeAttrs(w, h)...)
	if len(attrs) > 0 {
		d.add(&Change{Action: Update, Object: Link, Node: n.Name, NetNS: n.NetNS, Name: w.Name, Link: w, OldLink: h, Attrs: attrs})
	}
}

// immutableChange returns why a link of the same kind must be replaced:
// the settings the kernel fixes when it creates a macvlan (parent, mode),
// a vxlan (vni, port, peer, local address, underlay, learning) or a tun
// or tap (owner, group). It is "" when all of them match.
func immutableChange(w, h *state.Link) string {
	var diffs []AttrChange
	add := func(name, old, new string) {
		if old != new {
			diffs = append(diffs, AttrChange{Name: name, Old: old, New: new})
		}
	}
	switch w.Kind {
	case device.MACVLAN:
		add("parent", orNone(h.Parent), w.Parent)
		add("mode", orNone(h.Mode), w.Mode)
	case device.VXLAN:
		add("vni", fmt.Sprint(h.VNI), fmt.Sprint(w.VNI))
		add("port", fmt.Sprint(h.Port), fmt.Sprint(w.Port))
		add("remote", addrOrNone(h.Remote), addrOrNone(w.Remote))
		add("group", addrOrNone(h.Group), addrOrNone(w.Group))
		add("local", addrOrNone(h.Local), addrOrNone(w.Local))
		add("dev", orNone(h.Dev), orNone(w.Dev))
		add("underlay", underlayText(h.UnderlayNetNS), underlayText(w.UnderlayNetNS))
		add("learning", fmt.Sprint(h.Learning), fmt.Sprint(w.Learning))
		add("proxy", fmt.Sprint(h.Proxy), fmt.Sprint(w.Proxy))
		add("l2miss", fmt.Sprint(h.L2Miss), fmt.Sprint(w.L2Miss))
		add("l3miss", fmt.Sprint(h.L3Miss), fmt.Sprint(w.L3Miss))
	case device.VLAN:
		add("parent", orNone(h.VLANParent), orNone(w.VLANParent))
		add("id", fmt.Sprint(h.VLANID), fmt.Sprint(w.VLANID))
	case device.Tun, device.Tap:
		add("owner", state.IDText(h.TunOwner), state.IDText(w.TunOwner))
		add("group", state.IDText(h.TunGroup), state.IDText(w.TunGroup))
	}
	if len(diffs) == 0 {
		return ""
	}
	parts := make([]string, len(diffs))
	for i, a := range diffs {
		parts[i] = a.String()
	}
	return strings.Join(parts, ", ") + " cannot change in place"
}

// underlayText names the namespace of a vxlan's socket.
func underlayText(netns string) string {
	if netns == state.HostNetNS {
		return "machine"
	}
	return "node"
}

func listOrNone(l []string) string {
	if len(l) == 0 {
		return "(none)"
	}
	return strings.Join(l, " ")
}

func fdbText(es []state.FDBEntry) string {
	if len(es) == 0 {
		return "(none)"
	}
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.String()
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// addrs plans the addresses of a link: every declared one is added, and on
// a link netlab owns every other is removed (the address list is part of
// the link's declared state), except the kernel's own (state.KernelAddr).
func (d *differ) addrs(n *state.Node, w, h *state.Link) {
	var have, kernelGives []netip.Prefix
	if h != nil {
		have = h.Addrs
		if w.Kind == device.Loopback && !h.Up && w.Up {
			// Setting lo up, the kernel gives it its own addresses
			// again: adding them as well would fail (ip addr add: File
			// exists).
			kernelGives = state.LoopbackKept(true, min(h.MTU, w.WantMTU()))
		}
	}
	for _, p := range w.Addrs {
		if !slices.Contains(have, p) && !slices.Contains(kernelGives, p) {
			d.add(&Change{Action: Create, Object: Addr, Node: n.Name, NetNS: n.NetNS, Name: p.String(), LinkName: w.Name, Prefix: p})
		}
	}
	for _, p := range have {
		if slices.Contains(w.Addrs, p) || state.KernelAddr(w.Kind, p) {
			continue
		}
		d.add(&Change{Action: Delete, Object: Addr, Node: n.Name, NetNS: n.NetNS, Name: p.String(), LinkName: w.Name, Prefix: p})
	}
}

// vethPairs diffs each declared veth pair as a unit: a pair is whole when
// both ends exist, are netlab's, and name each other as peers (which the
// observer checks against the kernel's peer indexes). Otherwise what is
// left of it is deleted and the pair created again, once, from the end
// whose NODE:IFNAME sorts first.
func (d *differ) vethPairs() {
	for _, nodeName := range d.desired.NodeNames() {
		want := d.desired.Nodes[nodeName]
		have := d.observed.Nodes[nodeName]
		if have != nil && have.Foreign {
			continue
		}
		for _, name := range want.LinkNames() {
			w := want.Links[name]
			if w.Kind != device.Veth {
				continue
			}
			ref := nodeName + ":" + name
			if ref > w.Peer {
				continue // handled from the other end
			}
			pn, pi, _ := strings.Cut(w.Peer, ":")
			peerNode := d.desired.Nodes[pn]
			d.vethPair(want, w, peerNode, peerNode.Links[pi])
		}
	}
}

func (d *differ) observedLink(node, name string) (*state.Node, *state.Link) {
	n := d.observed.Nodes[node]
	if n == nil || n.Foreign {
		return nil, nil
	}
	return n, n.Links[name]
}

func (d *differ) isForeign(node string) bool {
	n := d.observed.Nodes[node]
	return n != nil && n.Foreign
}

func (d *differ) vethPair(an *state.Node, aw *state.Link, bn *state.Node, bw *state.Link) {
	_, ah := d.observedLink(an.Name, aw.Name)
	_, bh := d.observedLink(bn.Name, bw.Name)
	whole := ah != nil && bh != nil && ah.Owned && bh.Owned && ah.Kind == device.Veth && bh.Kind == device.Veth &&
		ah.Peer == aw.Peer && bh.Peer == bw.Peer
	if whole {
		d.update(an, aw, ah)
		d.addrs(an, aw, ah)
		d.update(bn, bw, bh)
		d.addrs(bn, bw, bh)
		return
	}
	// A foreign namespace at either end is reported by node; one link in
	// the way stops the whole pair, before any half of it is planned.
	if d.isForeign(an.Name) || d.isForeign(bn.Name) {
		return
	}
	ends := []struct {
		n *state.Node
		w *state.Link
		h *state.Link
	}{{an, aw, ah}, {bn, bw, bh}}
	conflict := false
	for _, end := range ends {
		if end.h != nil && !end.h.Owned && !d.mayPrune(end.n) {
			d.plan.Conflicts = append(d.plan.Conflicts, Conflict{Node: end.n.Name, Object: Link, Name: end.w.Name, Hint: conflictHint(end.n)})
			conflict = true
		}
	}
	if conflict {
		return
	}
	replaced := false
	for _, end := range ends {
		if end.h == nil {
			continue
		}
		replaced = true
		d.add(&Change{Action: Replace, Object: Link, Node: end.n.Name, NetNS: end.n.NetNS, Name: end.w.Name, OldLink: end.h,
			Reason: vethReason(end.w, end.h), Unmanaged: !end.h.Owned})
	}
	c := &Change{Action: Create, Object: Link, Node: an.Name, NetNS: an.NetNS, Name: aw.Name, Link: aw, PeerNS: bn.NetNS, PeerLink: bw, replacing: replaced}
	if replaced {
		c.Reason = "the veth pair is broken or re-wired, and a pair cannot change in place"
	}
	d.add(c)
	d.addrs(an, aw, nil)
	d.addrs(bn, bw, nil)
}

func vethReason(w, h *state.Link) string {
	switch {
	case !h.Owned:
		return "exists but netlab did not create it"
	case h.Kind != device.Veth:
		return fmt.Sprintf("kind %s -> veth cannot change in place", h.Kind)
	case h.Peer != w.Peer:
		return fmt.Sprintf("peer %s -> %s cannot change in place", orNone(h.Peer), w.Peer)
	}
	return "its peer is missing"
}

func (d *differ) routes(want, have *state.Node) {
	haveByKey := make(map[string]state.Route, len(have.Routes))
	for _, r := range have.Routes {
		haveByKey[r.Key()] = r
	}
	wantKeys := make(map[string]bool, len(want.Routes))
	for _, w := range want.Routes {
		wantKeys[w.Key()] = true
		h, ok := haveByKey[w.Key()]
		switch {
		case !ok:
			d.add(&Change{Action: Create, Object: Route, Node: want.Name, NetNS: want.NetNS, Name: w.Key(), Route: w})
		case !h.Owned || h.Via != w.Via || (w.Dev != "" && w.Dev != h.Dev):
			var attrs []AttrChange
			if h.Via != w.Via {
				attrs = append(attrs, AttrChange{Name: "via", Old: addrOrNone(h.Via), New: addrOrNone(w.Via)})
			}
			if w.Dev != "" && w.Dev != h.Dev {
				attrs = append(attrs, AttrChange{Name: "dev", Old: orNone(h.Dev), New: w.Dev})
			}
			if !h.Owned {
				attrs = append(attrs, AttrChange{Name: "owner", Old: "(none)", New: "netlab"})
			}
			d.add(&Change{Action: Update, Object: Route, Node: want.Name, NetNS: want.NetNS, Name: w.Key(), Route: w, OldRoute: h, Attrs: attrs})
		}
	}
	for _, h := range have.Routes {
		if wantKeys[h.Key()] {
			continue
		}
		c := &Change{Action: Delete, Object: Route, Node: want.Name, NetNS: want.NetNS, Name: h.Key(), OldRoute: h}
		if h.Owned {
			d.add(c)
		} else {
			d.unmanaged(c)
		}
	}
}

func addrOrNone(a netip.Addr) string {
	if !a.IsValid() {
		return "(none)"
	}
	return a.String()
}

// sysctls plans the declared sysctls, compared as the kernel reads them
// back (state.SysctlValue): "01" is set once, then reads as 1. A sysctl
// dropped from the file is left as it is: netlab does not know the value
// it had before.
func (d *differ) sysctls(want, have *state.Node) {
	for _, key := range sortedKeys(want.Sysctls) {
		w := want.Sysctls[key]
		h, ok := have.Sysctls[key]
		switch {
		case !ok:
			d.add(&Change{Action: Create, Object: Sysctl, Node: want.Name, NetNS: want.NetNS, Name: key, Value: w})
		case state.SysctlValue(h) != state.SysctlValue(w):
			d.add(&Change{Action: Update, Object: Sysctl, Node: want.Name, NetNS: want.NetNS, Name: key, Value: w, OldValue: h,
				Attrs: []AttrChange{{Name: "value", Old: h, New: w}}})
		}
	}
}

func unionKeys[V any](a, b map[string]V) []string {
	seen := make(map[string]bool, len(a)+len(b))
	var out []string
	for k := range a {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	for k := range b {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
