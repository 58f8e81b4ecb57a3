package plan

import (
	"net/netip"

	"netlab/lab"
	"netlab/lab/diag"
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
		lo := &state.Link{Name: "lo", Kind: "loopback", Up: true}
		sn.Links["lo"] = lo
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
	if lk := l.LinkOf(i.Node, i.Name); lk != nil {
		for _, e := range lk.Ends {
			if e.Node != i.Node || e.IfName != i.Name {
				sl.Peer = e.String()
			}
		}
		if sl.MTU == 0 {
			sl.MTU = lk.MTU
		}
		if sl.MTU == 0 {
			// The pair shares one MTU: take the other end's if it set one.
			if pn := l.Node(peerNode(sl.Peer)); pn != nil {
				if pi := pn.Interface(peerIf(sl.Peer)); pi != nil {
					sl.MTU = pi.MTU
				}
			}
		}
	}
	sl.Alias = state.LinkMarker(l.Name, sl.Peer)
	return sl
}

func prefixes(as []lab.Address) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(as))
	for _, a := range as {
		out = append(out, a.Prefix)
	}
	state.SortAddrs(out)
	return out
}

func peerNode(ref string) string {
	for i := 0; i < len(ref); i++ {
		if ref[i] == ':' {
			return ref[:i]
		}
	}
	return ref
}

func peerIf(ref string) string {
	for i := 0; i < len(ref); i++ {
		if ref[i] == ':' {
			return ref[i+1:]
		}
	}
	return ""
}

// Unsupported lists what a valid lab asks for that this version of netlab
// cannot build yet, each with its position, so that up refuses the lab
// before it changes anything.
func Unsupported(l *lab.Lab) diag.List {
	var out diag.List
	for _, n := range l.Nodes {
		if n.Host {
			out.Hintf(n.At("host"), "remove host: true", "host nodes are not supported by this version of netlab")
		}
		for _, i := range n.Interfaces {
			switch i.Kind {
			case lab.KindMACVLAN, lab.KindVXLAN, lab.KindTun, lab.KindTap:
				out.Hintf(i.At("kind"), "use veth and bridge interfaces", "kind %q is not supported by this version of netlab", i.Kind)
			}
			if i.Bridge != nil && i.Bridge.STP {
				out.Hintf(i.Bridge.At("stp"), "remove stp: true", "bridge STP is not supported by this version of netlab")
			}
		}
	}
	return out
}
