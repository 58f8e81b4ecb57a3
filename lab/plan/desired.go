package plan

import (
	"net/netip"
	"slices"

	"netlab/lab"
	"netlab/lab/device"
	"netlab/lab/mtu"
	"netlab/lab/state"
)

// Desired turns a validated lab into the kernel objects it asks for. It
// must only be given a lab without validation errors. For a lab with
// machines, it is every machine's objects: the union of DesiredOn of
// each.
func Desired(l *lab.Lab) *state.State { return DesiredOn(l, "") }

// DesiredOn is the part of Desired that machine builds: its nodes, with
// each link to a node of another machine as a VXLAN to that machine. An
// empty machine means every machine's (and is a lab without machines
// whole).
func DesiredOn(l *lab.Lab, machine string) *state.State {
	s := state.New(l.Name)
	hosts := "" // made at the first node that has a hosts file, shared by all
	for _, n := range l.Nodes {
		if !lab.OnMachine(n, machine) {
			continue
		}
		sn := state.NewNode(n.Name, state.NetNSName(l.Name, n.Name))
		sn.Host = n.Host
		if n.Host {
			sn.NetNS = state.HostNetNS
		}
		lo := &state.Link{Name: "lo", Kind: device.Loopback, Up: true, DefaultMTU: state.LoopbackMTU}
		if !n.Host { // the machine's lo is not netlab's
			sn.Links["lo"] = lo
		}
		for _, i := range n.Interfaces {
			if i.Name == "lo" {
				lo.Up = i.Up
				lo.MTU = i.MTU
				lo.Addrs = prefixes(i.Addresses)
				continue
			}
			sn.Links[i.Name] = desiredLink(l, i)
		}
		// The kernel's own addresses of lo are expected too: deleted by
		// hand, or dropped by the kernel with an MTU set too low for
		// IPv6, they are drift, and up adds them back.
		for _, p := range state.LoopbackKept(lo.Up, lo.WantMTU()) {
			if p.Addr().Is6() && n.IPv6Off("lo") {
				continue // the kernel drops ::1 when IPv6 is off
			}
			if !slices.Contains(lo.Addrs, p) {
				lo.Addrs = append(lo.Addrs, p)
			}
		}
		state.SortAddrs(lo.Addrs)
		for _, r := range n.Routes {
			// The metric the kernel will give it, so that the diff stays empty.
			metric := state.RouteMetric(r.To, r.Metric)
			table := r.Table
			if table == lab.TableMain {
				table = 0 // main is 0 in a state.Route
			}
			sn.Routes = append(sn.Routes, state.Route{To: r.To, Via: r.Via, Dev: r.Dev, Metric: metric, Table: table, Owned: true})
		}
		state.SortRoutes(sn.Routes)
		sn.Rules = desiredRules(n)
		for _, sc := range n.Sysctls {
			sn.Sysctls[sc.Key] = sc.Value
		}
		sn.NFT = NodeNFT(n)
		sn.Procs = desiredProcs(n)
		if !n.Host { // the machine's /etc/hosts is not netlab's
			if hosts == "" {
				hosts = HostsContent(l)
			}
			sn.Hosts = &state.HostsFile{Content: hosts}
		}
		s.Nodes[n.Name] = sn
	}
	return s
}

func desiredLink(l *lab.Lab, i *lab.Interface) *state.Link {
	sl := &state.Link{
		Name:   i.Name,
		Kind:   i.Kind,
		Master: i.Master,
		MTU:    i.MTU,
		Up:     i.Up,
		Addrs:  prefixes(i.Addresses),
		Owned:  true,
	}
	if i.MAC != nil {
		sl.MAC = i.MAC.String()
	}
	if i.Bridge != nil {
		sl.STP = i.Bridge.STP
	}
	sl.Egress = state.Impairment{Rate: i.Egress.Rate, Delay: i.Egress.Delay, Loss: i.Egress.Loss}.Normal()
	desiredDevice(l, i, sl)
	desiredBridge(i, sl)
	if lk := l.LinkOf(i.Node, i.Name); lk != nil && l.CrossesMachines(lk) {
		crossLink(l, lk, i, sl)
	} else if lk != nil {
		sl.Peer = lk.Far(i.Node, i.Name).String()
		// The pair shares one MTU: the link's, or either end's.
		sl.MTU = mtu.Declared(l, i)
	}
	if sl.MTU == 0 {
		sl.DefaultMTU = mtu.Default(l, i)
	}
	// A veth's marker names its peer, a macvlan's its parent: the
	// observer checks either claim against the kernel's ifindexes.
	sl.Alias = state.LinkMarker(l.Name, sl.Peer+sl.Parent)
	return sl
}

// crossLink makes sl, the end i of a link between two machines, the
// VXLAN that carries it: made in the machine's own namespace straight
// into the node's, so that its UDP socket stays in the machine's, and
// unicast to the other end's machine with the link's VNI. Learning is
// off: the one far end is the kernel's own entry for the remote.
func crossLink(l *lab.Lab, lk *lab.Link, i *lab.Interface, sl *state.Link) {
	far := lk.Far(i.Node, i.Name)
	sl.Kind = device.VXLAN
	sl.VNI = lab.LinkVNI(l.Name, lk)
	sl.Port = lab.DefaultVXLANPort
	if m := l.Machine(l.MachineOf(far.Node)); m != nil {
		sl.Remote = m.Address
	}
	if m := l.Machine(l.MachineOf(i.Node)); m != nil {
		sl.Local = m.Address
	}
	sl.UnderlayNetNS = state.HostNetNS
	if e, ok := sl.KernelFDB(); ok {
		sl.FDB = []state.FDBEntry{e}
	}
	// Declared, so that both ends carry the same MTU and it is repaired
	// like any other.
	sl.MTU = mtu.Of(l, i)
}

// desiredDevice fills in the settings of a macvlan, vxlan, tun or tap.
func desiredDevice(l *lab.Lab, i *lab.Interface, sl *state.Link) {
	switch {
	case i.Kind == device.MACVLAN && i.MACVLAN != nil:
		m := i.MACVLAN
		sl.Parent = m.ParentNode + ":" + m.Parent
		sl.ParentNetNS = state.NetNSName(l.Name, m.ParentNode)
		if pn := l.Node(m.ParentNode); pn != nil && pn.Host {
			sl.ParentNetNS = state.HostNetNS
		}
		sl.Mode = m.Mode
		if sl.Mode == "" {
			sl.Mode = lab.MACVLANBridge
		}
		for _, mac := range m.SourceMACs {
			sl.SourceMACs = append(sl.SourceMACs, mac.String())
		}
		slices.Sort(sl.SourceMACs)
		sl.SourceMACs = slices.Compact(sl.SourceMACs)
	case i.Kind == device.VXLAN && i.VXLAN != nil:
		x := i.VXLAN
		sl.VNI, sl.Port, sl.Remote, sl.Group, sl.Local, sl.Dev, sl.Learning = x.VNI, x.Port, x.Remote, x.Group, x.Local, x.Dev, x.Learning
		sl.Proxy, sl.L2Miss, sl.L3Miss = x.Proxy, x.L2Miss, x.L3Miss
		if sl.Port == 0 {
			sl.Port = lab.DefaultVXLANPort
		}
		// The kernel's own entry for the remote or group is netlab's too:
		// it is made with the vxlan, and put back if deleted by hand.
		// Listing it in the file changes nothing.
		if e, ok := sl.KernelFDB(); ok {
			sl.FDB = append(sl.FDB, e)
		}
		for _, e := range x.FDB {
			fe := state.FDBEntry{MAC: e.MAC.String(), Dst: e.Dst}
			if !slices.Contains(sl.FDB, fe) {
				sl.FDB = append(sl.FDB, fe)
			}
		}
		state.SortFDB(sl.FDB)
		if sl.MTU == 0 && x.Dev != "" {
			// Declared, rather than left to the kernel, so that it is
			// planned and repaired like any MTU the file gives.
			sl.MTU = mtu.Default(l, i)
		}
	case i.Kind == device.VLAN && i.VLAN != nil:
		sl.VLANParent, sl.VLANID = i.VLAN.Parent, i.VLAN.ID
	case (i.Kind == device.Tun || i.Kind == device.Tap) && i.Tun != nil:
		sl.TunOwner, sl.TunGroup = copyID(i.Tun.Owner), copyID(i.Tun.Group)
	}
}

// copyID copies a tun or tap owner or group, so that the desired state
// shares nothing with the lab.
func copyID(id *uint32) *uint32 {
	if id == nil {
		return nil
	}
	v := *id
	return &v
}

func prefixes(as []lab.Address) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(as))
	for _, a := range as {
		out = append(out, a.Prefix)
	}
	state.SortAddrs(out)
	return out
}
