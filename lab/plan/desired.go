package plan

import (
	"net/netip"
	"slices"

	"netlab/lab"
	"netlab/lab/state"
)

// ipv6DefaultMetric is the metric the kernel gives an IPv6 route added
// with none; the desired state says it too, so the diff stays empty.
const ipv6DefaultMetric = 1024

// Desired turns a validated lab into the kernel objects it asks for. It
// must only be given a lab without validation errors.
func Desired(l *lab.Lab) *state.State {
	s := state.New(l.Name)
	for _, n := range l.Nodes {
		sn := state.NewNode(n.Name, state.NetNSName(l.Name, n.Name))
		sn.Host = n.Host
		if n.Host {
			sn.NetNS = state.HostNetNS
		}
		lo := &state.Link{Name: "lo", Kind: "loopback", Up: true}
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
		for _, r := range n.Routes {
			metric := r.Metric
			if metric == 0 && r.To.Addr().Is6() {
				metric = ipv6DefaultMetric
			}
			sn.Routes = append(sn.Routes, state.Route{To: r.To, Via: r.Via, Dev: r.Dev, Metric: metric, Owned: true})
		}
		state.SortRoutes(sn.Routes)
		for _, sc := range n.Sysctls {
			sn.Sysctls[sc.Key] = sc.Value
		}
		sn.NFT = NodeNFT(n)
		s.Nodes[n.Name] = sn
	}
	return s
}

func desiredLink(l *lab.Lab, i *lab.Interface) *state.Link {
	sl := &state.Link{
		Name:   i.Name,
		Kind:   string(i.Kind),
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
	desiredDevice(l, i, sl)
	if lk := l.LinkOf(i.Node, i.Name); lk != nil {
		peer := lk.Ends[0]
		if peer.Node == i.Node && peer.IfName == i.Name {
			peer = lk.Ends[1]
		}
		sl.Peer = peer.String()
		if sl.MTU == 0 {
			sl.MTU = lk.MTU
		}
		if sl.MTU == 0 {
			// The pair shares one MTU: take the other end's if it set one.
			if pn := l.Node(peer.Node); pn != nil {
				if pi := pn.Interface(peer.IfName); pi != nil {
					sl.MTU = pi.MTU
				}
			}
		}
	}
	// A veth's marker names its peer, a macvlan's its parent: the
	// observer checks either claim against the kernel's ifindexes.
	sl.Alias = state.LinkMarker(l.Name, sl.Peer+sl.Parent)
	return sl
}

// vxlanOverhead is what VXLAN adds to a frame over IPv4 (outer IP, UDP,
// VXLAN and inner Ethernet headers): its MTU defaults to the underlay's
// minus this.
const vxlanOverhead = 50

// desiredDevice fills in the settings of a macvlan, vxlan, tun or tap.
func desiredDevice(l *lab.Lab, i *lab.Interface, sl *state.Link) {
	switch {
	case i.Kind == lab.KindMACVLAN && i.MACVLAN != nil:
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
	case i.Kind == lab.KindVXLAN && i.VXLAN != nil:
		x := i.VXLAN
		sl.VNI, sl.Port, sl.Remote, sl.Group, sl.Local, sl.Dev, sl.Learning = x.VNI, x.Port, x.Remote, x.Group, x.Local, x.Dev, x.Learning
		if sl.Port == 0 {
			sl.Port = lab.DefaultVXLANPort
		}
		for _, e := range x.FDB {
			fe := state.FDBEntry{MAC: e.MAC.String(), Dst: e.Dst}
			if !slices.Contains(sl.FDB, fe) && !isDefaultFDB(fe, sl.Remote) && !isDefaultFDB(fe, sl.Group) {
				sl.FDB = append(sl.FDB, fe)
			}
		}
		state.SortFDB(sl.FDB)
		if sl.MTU == 0 && x.Dev != "" {
			sl.MTU = underlayMTU(l, i.Node, x.Dev) - vxlanOverhead
		}
	case (i.Kind == lab.KindTun || i.Kind == lab.KindTap) && i.Tun != nil:
		if i.Tun.Owner != nil {
			sl.TunOwner = *i.Tun.Owner
		}
		if i.Tun.Group != nil {
			sl.TunGroup = *i.Tun.Group
		}
	}
}

// isDefaultFDB reports whether an entry is the one the kernel makes by
// itself for a VXLAN's remote or group: all-zero MAC to that address. Listing it is
// allowed, and changes nothing.
func isDefaultFDB(e state.FDBEntry, remote netip.Addr) bool {
	return e.MAC == "00:00:00:00:00:00" && remote.IsValid() && e.Dst == remote
}

// underlayMTU is the MTU an interface of the lab will have: its own, its
// link's, its peer's, or the kernel's default of 1500.
func underlayMTU(l *lab.Lab, node, name string) int {
	n := l.Node(node)
	if n == nil {
		return 1500
	}
	if i := n.Interface(name); i != nil {
		if i.MTU != 0 {
			return i.MTU
		}
		if lk := l.LinkOf(node, name); lk != nil {
			if lk.MTU != 0 {
				return lk.MTU
			}
			for _, e := range lk.Ends {
				if pn := l.Node(e.Node); pn != nil {
					if pi := pn.Interface(e.IfName); pi != nil && pi.MTU != 0 {
						return pi.MTU
					}
				}
			}
		}
	}
	return 1500
}

func prefixes(as []lab.Address) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(as))
	for _, a := range as {
		out = append(out, a.Prefix)
	}
	state.SortAddrs(out)
	return out
}
