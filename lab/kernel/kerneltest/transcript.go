package kerneltest

// String: the fake's contents as the ip(8) and nft commands that make them.

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"netlab/lab/device"
	"netlab/lab/kernel"
	"netlab/lab/state"
)

// Route protocols as ip(8) names them; a route added by hand is "boot".
var protoNames = map[string]int{"kernel": unix.RTPROT_KERNEL, "boot": unix.RTPROT_BOOT, "static": unix.RTPROT_STATIC}

// String returns the kernel's contents as the sorted ip(8) commands that
// would build them, one a line (an nft script spans several), in the
// vocabulary of lab/state's cmd.go. The commands of each lab's marked
// namespaces are those that make its contents from nothing (labLines), so
// that after an up from empty, String equals the plan's commands. What is
// not netlab's is written in the same vocabulary: unmarked namespaces,
// links without an alias (given an empty, quoted one), routes of another
// protocol (proto boot), and veth pairs between two labs. What the kernel
// makes by itself (lo's loopback addresses, IPv6 link-local addresses,
// generated MACs, default MTUs, the device of a route given by gateway) is
// left out. Running processes are written as the commands that start
// them (state.ProcessCmd), hosts files as a here-document
// (state.HostsSetCmd).
func (f *Fake) String() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	group := make(map[string]string) // namespace -> lab ("" for an unmarked namespace)
	for name, ns := range f.netns {
		if lab, node, ok := state.SplitNetNSName(name); ok && ns.marked(lab, node) {
			group[name] = lab
		}
	}
	// A link of the root namespace is a lab's when it carries its marker.
	labOf := func(netns string, fl *fakeLink) string {
		if netns != state.HostNetNS {
			return group[netns]
		}
		if l, _, ok := state.ParseLinkMarker(fl.alias); ok {
			return l
		}
		return ""
	}
	inLab := func(ns *fakeNetNS, fl *fakeLink) bool {
		lab := labOf(ns.name, fl)
		if fl.kind != device.Veth || lab == "" {
			return lab != ""
		}
		p := f.peerLocked(fl)
		return p != nil && labOf(fl.peerNS, p) == lab
	}
	// nodeOf names the node of a namespace: a host node by the name the
	// veth ends of its lab give it ("host" if none does).
	nodeOf := func(netns, lab string) string {
		if _, node, ok := state.SplitNetNSName(netns); ok {
			return node
		}
		for _, name := range f.netnsNamesLocked() {
			for _, fl := range f.netns[name].sortedLinks() {
				if l, peer, ok := state.ParseLinkMarker(fl.alias); ok && l == lab && fl.kind == device.Veth && fl.peerNS == netns && name != netns {
					if node, _, ok := strings.Cut(peer, ":"); ok {
						return node
					}
				}
			}
		}
		return "host"
	}
	var lines []string
	labs := make(map[string]*state.State)
	for _, name := range f.netnsNamesLocked() {
		ns := f.netns[name]
		lab := group[name]
		if name == state.HostNetNS {
			for _, fl := range ns.sortedLinks() {
				lab := labOf(name, fl)
				if !inLab(ns, fl) {
					if fl.kind != device.Veth && strings.HasPrefix(fl.name, state.TempLinkPrefix) {
						// Not the machine's: left by a netlab stopped
						// between creating the link and marking it.
						l := f.transcriptLinkLocked(ns, fl)
						lines = append(lines, state.LinkAddCmds(name, l, "", nil)...)
						lines = append(lines, addrLines(name, l)...)
					}
					continue
				}
				if labs[lab] == nil {
					labs[lab] = state.New(lab)
				}
				node := nodeOf(name, lab)
				n := labs[lab].Nodes[node]
				if n == nil {
					n = state.NewNode(node, name)
					n.Host = true
					labs[lab].Nodes[node] = n
				}
				l := f.transcriptLinkLocked(ns, fl)
				if fl.kind == device.Veth {
					l.Peer = nodeOf(fl.peerNS, lab) + ":" + f.peerLocked(fl).name
				}
				n.Links[l.Name] = l
			}
			continue
		}
		if lab == "" {
			lines = append(lines, f.foreignLinesLocked(ns)...)
			continue
		}
		s := labs[lab]
		if s == nil {
			s = state.New(lab)
			labs[lab] = s
		}
		_, node, _ := state.SplitNetNSName(name)
		n := state.NewNode(node, name)
		for _, fl := range ns.sortedLinks() {
			if !inLab(ns, fl) {
				continue
			}
			l := f.transcriptLinkLocked(ns, fl)
			if fl.kind == device.Veth {
				l.Peer = nodeOf(fl.peerNS, lab) + ":" + f.peerLocked(fl).name
			}
			n.Links[l.Name] = l
		}
		for _, r := range ns.routes {
			if r.proto == state.RouteProtocol {
				n.Routes = append(n.Routes, state.Route{To: r.to, Via: r.via, Dev: r.dev, Metric: r.metric, Table: r.table, Owned: true})
			} else {
				lines = append(lines, routeLine(name, r))
			}
		}
		state.SortRoutes(n.Routes)
		for _, r := range ns.rules {
			if r.proto == state.RouteProtocol {
				n.Rules = append(n.Rules, r.Rule)
			} else {
				lines = append(lines, ruleLine(name, r))
			}
		}
		maps.Copy(n.Sysctls, ns.sysctls)
		n.NFT = cloneNFT(ns.nft)
		s.Nodes[node] = n
	}
	for _, s := range labs {
		lines = append(lines, labLines(s)...)
	}
	// Veth pairs that are not inside one lab, once, from the end whose
	// namespace and name sort first.
	for _, name := range f.netnsNamesLocked() {
		ns := f.netns[name]
		for _, fl := range ns.sortedLinks() {
			if fl.kind != device.Veth || inLab(ns, fl) {
				continue
			}
			p := f.peerLocked(fl)
			if fl.peerNS < name || (fl.peerNS == name && p.name < fl.name) {
				continue
			}
			pns := f.netns[fl.peerNS]
			a, b := f.transcriptLinkLocked(ns, fl), f.transcriptLinkLocked(pns, p)
			lines = append(lines, state.LinkAddCmds(name, a, pns.name, b)...)
			lines = append(lines, addrLines(name, a)...)
			lines = append(lines, addrLines(pns.name, b)...)
		}
	}
	lines = append(lines, f.processLinesLocked()...)
	for netns, content := range f.hosts {
		lines = append(lines, state.HostsSetCmd(kernel.EtcNetNSDir, netns, content))
	}
	// A stub is a file, not a namespace.
	for name := range f.stubs {
		lines = append(lines, stubLine(name))
	}
	sort.Strings(lines)
	if len(lines) == 0 {
		return ""
	}
	return strings.Join(lines, "\n") + "\n"
}

// labLines writes a lab's marked contents as the commands that make them
// from nothing, in the order of nothing in particular (String sorts
// them): each namespace (its lo as NetNSAdd leaves it, changed only where
// it differs), each link with its addresses (a veth pair once, from the
// end whose NODE:IFNAME sorts first), the routes, sysctls and nftables
// table. It is written here, not taken from plan, so that a test that
// compares the transcript with a plan's commands compares two
// independent accounts of the same kernel.
func labLines(s *state.State) []string {
	var lines []string
	for _, name := range s.NodeNames() {
		n := s.Nodes[name]
		if !n.Host {
			lines = append(lines, state.NetNSAddCmds(n.NetNS)...)
		}
		for _, lname := range n.LinkNames() {
			l := n.Links[lname]
			switch l.Kind {
			case device.Loopback:
				lines = append(lines, loLines(n.NetNS, l)...)
			case device.Veth:
				if name+":"+lname > l.Peer {
					continue // written from the other end
				}
				pnode, pname, _ := strings.Cut(l.Peer, ":")
				pn := s.Nodes[pnode]
				p := pn.Links[pname]
				lines = append(lines, state.LinkAddCmds(n.NetNS, l, pn.NetNS, p)...)
				lines = append(lines, addrLines(n.NetNS, l)...)
				lines = append(lines, addrLines(pn.NetNS, p)...)
			default:
				lines = append(lines, state.LinkAddCmds(n.NetNS, l, "", nil)...)
				lines = append(lines, addrLines(n.NetNS, l)...)
			}
		}
		for _, r := range n.Routes {
			lines = append(lines, state.RouteReplaceCmd(n.NetNS, r))
		}
		for _, r := range n.Rules {
			lines = append(lines, state.RuleAddCmd(n.NetNS, r))
		}
		for _, key := range slices.Sorted(maps.Keys(n.Sysctls)) {
			if !n.Host && setByNetNSAdd(key, n.Sysctls[key]) {
				continue // NetNSAddCmds wrote it
			}
			lines = append(lines, state.SysctlSetCmd(n.NetNS, key, n.Sysctls[key]))
		}
		if n.NFT != nil {
			lines = append(lines, state.NFTableSetCmd(n.NetNS, n.NFT, false))
		}
	}
	return lines
}

// processLinesLocked writes the running processes as the commands that
// start them (state.ProcessCmd), but not the children of one (those whose
// parent carries the same marker), which it starts itself. A process of
// a namespace deleted under it is written behind a comment: it runs on in
// a namespace that has no name any more.
func (f *Fake) processLinesLocked() []string {
	markerOf := make(map[int]string)
	for _, p := range f.procs {
		if p.running {
			markerOf[p.pid] = p.marker
		}
	}
	var lines []string
	for _, p := range f.procs {
		if !p.running || p.marker != "" && markerOf[p.ppid] == p.marker {
			continue
		}
		line := state.ProcessCmd(p.ns.name, p.marker, p.declEnv, p.dir, p.argv)
		if f.netns[p.ns.name] != p.ns {
			line = "# lingering in deleted namespace: " + line
		}
		lines = append(lines, line)
	}
	return lines
}

// loLines writes how a marked namespace's lo differs from the lo NetNSAdd
// leaves (up, with the kernel's MTU and MAC), and its addresses.
func loLines(netns string, l *state.Link) []string {
	var attrs []state.LinkAttr
	if l.MTU != 0 && l.MTU != state.LoopbackMTU {
		attrs = append(attrs, state.AttrMTU)
	}
	if l.MAC != "" {
		attrs = append(attrs, state.AttrMAC)
	}
	if !l.Up {
		attrs = append(attrs, state.AttrUp)
	}
	var lines []string
	if len(attrs) > 0 {
		lines = state.LinkSetCmds(netns, l, nil, attrs)
	}
	return append(lines, addrLines(netns, l)...)
}

// stubLine writes the empty mount point an interrupted NetNSAdd leaves.
func stubLine(name string) string { return "touch " + kernel.NetNSDir + "/" + name }

// transcriptLinkLocked is a link as a desired state would declare it.
func (f *Fake) transcriptLinkLocked(ns *fakeNetNS, fl *fakeLink) *state.Link {
	l := &state.Link{Name: fl.name, Kind: fl.kind, Up: fl.up, STP: fl.stp, Alias: fl.alias, Owned: true, Device: fl.dev, Egress: fl.egress}
	if fl.kind == device.MACVLAN {
		l.Parent, l.ParentNetNS = "", ""
		if pns := f.netns[fl.lowerNS]; pns != nil && pns.links[fl.lower] != nil {
			l.ParentNetNS = pns.name
			l.Parent = fl.dev.Parent
		}
	}
	// An MTU set to what the kernel gives anyway reads as unset, as in
	// a dump, except a vxlan's on a dev, which netlab always sets.
	if fl.mtuSet && (fl.mtu != f.unsetMTULocked(ns, fl) || fl.kind == device.VXLAN && fl.lower != 0) {
		l.MTU = fl.mtu
	}
	if fl.macSet {
		l.MAC = fl.mac
	}
	if m := ns.links[fl.master]; m != nil {
		l.Master = m.name
	}
	for _, p := range fl.addrs {
		if !state.KernelAddr(fl.kind, p) {
			l.Addrs = append(l.Addrs, p)
		}
	}
	return l
}

// foreignLinesLocked writes an unmarked namespace and what is in it,
// except the veths that leave it.
func (f *Fake) foreignLinesLocked(ns *fakeNetNS) []string {
	lines := []string{"ip netns add " + ns.name}
	for _, fl := range ns.sortedLinks() {
		l := f.transcriptLinkLocked(ns, fl)
		switch {
		case fl.kind == device.Loopback:
			var attrs []state.LinkAttr
			if fl.alias != "" {
				attrs = append(attrs, state.AttrAlias)
			}
			if l.MTU != 0 {
				attrs = append(attrs, state.AttrMTU)
			}
			if l.MAC != "" {
				attrs = append(attrs, state.AttrMAC)
			}
			if fl.up {
				attrs = append(attrs, state.AttrUp)
			}
			if len(attrs) > 0 {
				lines = append(lines, state.LinkSetCmds(ns.name, l, nil, attrs)...)
			}
			lines = append(lines, addrLines(ns.name, l)...)
		case fl.kind == device.Veth:
			// with the pairs that leave a lab
		default:
			lines = append(lines, state.LinkAddCmds(ns.name, l, "", nil)...)
			lines = append(lines, addrLines(ns.name, l)...)
		}
	}
	for _, r := range ns.routes {
		lines = append(lines, routeLine(ns.name, r))
	}
	for _, r := range ns.rules {
		lines = append(lines, ruleLine(ns.name, r))
	}
	for _, key := range slices.Sorted(maps.Keys(ns.sysctls)) {
		lines = append(lines, state.SysctlSetCmd(ns.name, key, ns.sysctls[key]))
	}
	if ns.nft != nil {
		lines = append(lines, state.NFTableSetCmd(ns.name, ns.nft, false))
	}
	return lines
}

func addrLines(netns string, l *state.Link) []string {
	var lines []string
	for _, p := range l.Addrs {
		lines = append(lines, state.AddrAddCmd(netns, l.Name, p))
	}
	return lines
}

// routeLine writes a route with its own protocol.
func routeLine(netns string, r *fakeRoute) string {
	sr := state.Route{To: r.to, Via: r.via, Dev: r.dev, Metric: r.metric, Table: r.table}
	line := strings.TrimSuffix(state.RouteReplaceCmd(netns, sr), fmt.Sprintf(" proto %d", state.RouteProtocol))
	return line + " proto " + protoName(r.proto)
}

func protoName(proto int) string {
	for name, p := range protoNames {
		if p == proto {
			return name
		}
	}
	return fmt.Sprint(proto)
}

// setByNetNSAdd reports whether a sysctl holds what NetNSAdd sets in every
// new namespace (state.NetNSSysctls), which the namespace's own line of
// the transcript, state.NetNSAddCmds, already says.
func setByNetNSAdd(key, value string) bool {
	for _, sc := range state.NetNSSysctls {
		if sc.Key == key && sc.Value == value {
			return true
		}
	}
	return false
}
