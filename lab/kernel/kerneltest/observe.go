package kerneltest

// Observe: the fake's contents read back as kernel.Linux reads a lab.

import (
	"context"
	"slices"

	"netlab/lab/device"
	"netlab/lab/kernel"
	"netlab/lab/state"
)

// Observe reads the lab's namespaces as kernel.Linux does: fresh copies,
// foreign namespaces with Foreign set and nothing else, and veth peer
// claims checked by state.ResolvePeers; a namespace with a trace table
// no live trace owns has TraceLeftover set.
func (f *Fake) Observe(ctx context.Context, lab string, want *state.State) (*state.State, error) {
	s, err := f.observe(ctx, lab, want)
	if err != nil {
		return nil, err
	}
	// The tracer takes f.mu itself (to ask whether a namespace exists),
	// so it is asked after f.mu is released.
	f.mu.Lock()
	tr := f.tracer
	f.mu.Unlock()
	if tr != nil {
		for _, n := range s.Nodes {
			n.TraceLeftover = !n.Foreign && tr.leftover(n.NetNS)
		}
	}
	return s, nil
}

func (f *Fake) observe(ctx context.Context, lab string, want *state.State) (*state.State, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.beginLocked(ctx, "Observe"); err != nil {
		return nil, err
	}
	s := state.New(lab)
	for _, name := range f.netnsNamesLocked() {
		l, node, ok := state.SplitNetNSName(name)
		if !ok || l != lab {
			continue
		}
		ns := f.netns[name]
		if !ns.marked(lab, node) {
			s.Nodes[node] = kernel.ForeignNode(node, name)
			continue
		}
		n := state.NewNode(node, name)
		for _, fl := range ns.links {
			n.Links[fl.name] = f.observeLinkLocked(ns, fl, lab)
		}
		for _, r := range ns.routes {
			if r.table != 0 && r.proto != state.RouteProtocol {
				continue // another table's routes are read only when netlab's, as kernel.Linux does
			}
			sr := state.Route{To: r.to, Via: r.via, Metric: r.metric, Table: r.table, Owned: r.proto == state.RouteProtocol}
			if dev := ns.links[r.oif]; dev != nil {
				sr.Dev = dev.name
			}
			n.Routes = append(n.Routes, sr)
		}
		state.SortRoutes(n.Routes)
		n.Rules = ns.observeRules()
		if want != nil && want.Nodes[node] != nil {
			for key := range want.Nodes[node].Sysctls {
				if v, ok := ns.sysctls[key]; ok {
					n.Sysctls[key] = v
				}
			}
		}
		n.NFT = observeNFT(ns.nft)
		n.Procs, n.Others = kernel.NodeProcesses(lab, node, f.processesLocked(ns))
		if content, ok := f.hosts[name]; ok {
			n.Hosts = kernel.ReadHostsFile(content)
			if want == nil { // as kernel.Linux: whose the file is, no more
				n.Hosts = &state.HostsFile{Foreign: n.Hosts.Foreign}
			}
		}
		s.Nodes[node] = n
	}
	if want != nil {
		for _, name := range want.NodeNames() {
			if wn := want.Nodes[name]; wn.Host {
				s.Nodes[name] = f.observeHostLocked(lab, wn)
			}
		}
		// As kernel.Linux: the hosts files of wanted nodes without a
		// namespace.
		for _, name := range want.NodeNames() {
			if want.Nodes[name].Host || s.Nodes[name] != nil {
				continue
			}
			if content, ok := f.hosts[state.NetNSName(lab, name)]; ok {
				if s.OrphanHosts == nil {
					s.OrphanHosts = make(map[string]*state.HostsFile)
				}
				s.OrphanHosts[name] = kernel.ReadHostsFile(content)
			}
		}
	}
	state.ResolvePeers(s)
	state.ResolveParents(s)
	return s, nil
}

func (f *Fake) observeLinkLocked(ns *fakeNetNS, fl *fakeLink, lab string) *state.Link {
	l := &state.Link{
		Name:       fl.name,
		Kind:       fl.kind,
		MTU:        fl.mtu,
		MAC:        fl.mac,
		Up:         fl.up,
		STP:        fl.stp,
		Addrs:      slices.Clone(fl.addrs),
		Alias:      fl.alias,
		Index:      fl.index,
		OperState:  f.operStateLocked(fl),
		Stats:      fl.stats,
		Egress:     fl.egress,
		OtherQdisc: fl.otherQdisc,
	}
	if m := ns.links[fl.master]; m != nil {
		l.Master = m.name
	}
	kernel.ReadLinkMarker(l, lab)
	if fl.kind == device.Veth {
		l.PeerIndex = fl.peer
	}
	f.observeDeviceLocked(ns, fl, l)
	observeBridge(ns, fl, l, l.OperState)
	state.SortAddrs(l.Addrs)
	return l
}

// observeDeviceLocked copies a device's settings into l as kernel.Linux
// reads them: a macvlan's parent as an ifindex and whether it is in
// another namespace, a vxlan's dev by name.
func (f *Fake) observeDeviceLocked(ns *fakeNetNS, fl *fakeLink, l *state.Link) {
	parent := l.Parent
	l.Device = fl.dev
	l.Parent, l.ParentNetNS = parent, ""
	l.SourceMACs = slices.Clone(fl.dev.SourceMACs)
	l.FDB = slices.Clone(fl.dev.FDB)
	l.TunOwner, l.TunGroup = cloneID(fl.dev.TunOwner), cloneID(fl.dev.TunGroup)
	switch fl.kind {
	case device.MACVLAN:
		l.ParentIndex, l.ParentNetNSID = fl.lower, -1
		if fl.lowerNS != ns.name {
			l.ParentNetNSID = 0
		}
	case device.VXLAN:
		l.Dev = ""
		if d := ns.links[fl.lower]; d != nil && fl.lower != 0 {
			l.Dev = d.name
		}
	}
}

func (f *Fake) operStateLocked(fl *fakeLink) string {
	switch {
	case fl.kind == device.Loopback:
		return "unknown"
	case !fl.up:
		return "down"
	case fl.kind == device.Veth:
		if p := f.peerLocked(fl); p == nil || !p.up {
			return "lowerlayerdown"
		}
	}
	return "up"
}

// observeHostLocked reads a host node as kernel.Linux does: the root
// namespace's links that carry the lab's marker or a declared name.
func (f *Fake) observeHostLocked(lab string, want *state.Node) *state.Node {
	ns := f.netns[state.HostNetNS]
	n := state.NewNode(want.Name, state.HostNetNS)
	n.Host = true
	for _, fl := range ns.links {
		l := f.observeLinkLocked(ns, fl, lab)
		if l.Owned || want.Links[l.Name] != nil {
			n.Links[l.Name] = l
		}
	}
	return n
}

// observeNFT is a table as the kernel shows it: chains, and rules known
// only by their tag (the comment netlab gives them).
func observeNFT(t *state.NFTable) *state.NFTable {
	if t == nil {
		return nil
	}
	o := &state.NFTable{}
	for _, ch := range t.Chains {
		oc := &state.NFChain{Name: ch.Name, Type: ch.Type, Hook: ch.Hook, Priority: ch.Priority, Policy: ch.Policy}
		for _, r := range ch.Rules {
			oc.Rules = append(oc.Rules, &state.NFRule{Tag: r.Tag, Packets: r.Packets, Bytes: r.Bytes})
		}
		o.Chains = append(o.Chains, oc)
	}
	state.SortChains(o.Chains)
	return o
}
