package kernel

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"netlab/lab/state"
)

// dumpRetries bounds how often a dump the kernel marked as interrupted
// (the object list changed while it was read) is read again. A partial
// dump is never diffed: after the last retry, Observe fails.
const dumpRetries = 10

// observeParallel is how many namespaces are read at once. Reading is
// dominated by syscalls, so a few goroutines overlap the waits.
const observeParallel = 8

// Observe reads the lab's namespaces and what is in them.
func (k *Linux) Observe(ctx context.Context, lab string, want *state.State) (*state.State, error) {
	names, err := listNetNS()
	if err != nil {
		return nil, fmt.Errorf("list namespaces: %w", err)
	}
	var nodes []string
	for _, name := range names {
		if l, node, ok := state.SplitNetNSName(name); ok && l == lab {
			if path, err := netnsPath(name); err == nil && isStub(path) {
				continue // not a namespace (yet): as good as absent
			}
			nodes = append(nodes, node)
		}
	}
	k.forgetGone(lab, nodes)
	s := state.New(lab)
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, observeParallel)
	)
	for _, node := range nodes {
		var keys []string
		var wantNFT *state.NFTable
		if want != nil && want.Nodes[node] != nil {
			for key := range want.Nodes[node].Sysctls {
				keys = append(keys, key)
			}
			sort.Strings(keys)
			wantNFT = want.Nodes[node].NFT
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			n, err := k.observeNode(lab, node, keys, wantNFT)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("node %s: %w", node, err))
				return
			}
			if n != nil {
				s.Nodes[node] = n
			}
		}()
	}
	wg.Wait()
	if want != nil {
		for _, name := range want.NodeNames() {
			if wn := want.Nodes[name]; wn.Host {
				n, err := k.observeHost(lab, wn)
				if err != nil {
					errs = append(errs, fmt.Errorf("node %s: %w", name, err))
					continue
				}
				s.Nodes[name] = n
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	state.ResolvePeers(s)
	state.ResolveParents(s)
	return s, nil
}

// retryDump calls dump until the kernel reports a consistent result.
func retryDump[T any](what string, dump func() (T, error)) (T, error) {
	var zero T
	for range dumpRetries {
		v, err := dump()
		if errors.Is(err, netlink.ErrDumpInterrupted) {
			continue
		}
		if err != nil {
			return zero, fmt.Errorf("%s: %w", what, err)
		}
		return v, nil
	}
	return zero, fmt.Errorf("%s: dump interrupted %d times in a row: %w", what, dumpRetries, netlink.ErrDumpInterrupted)
}

// observeNode reads one namespace. It returns nil, nil when the namespace
// vanished since it was listed: netlab down (which status, plan and the
// TUI do not wait for) unmounts it, leaving an empty mount point for a
// moment, then removes that.
func (k *Linux) observeNode(lab, node string, sysctlKeys []string, wantNFT *state.NFTable) (*state.Node, error) {
	name := state.NetNSName(lab, node)
	path, err := netnsPath(name)
	if err != nil {
		return nil, err
	}
	// Opened first, then judged: a check of the path before the open
	// could see the namespace that the open no longer finds.
	c, err := k.conn(name)
	switch {
	case err == nil:
	case errors.Is(err, os.ErrNotExist) || errors.Is(err, errNotNetNS) && (isStub(path) || !exists(path)):
		return nil, nil // gone, or going, since it was listed
	case errors.Is(err, errNotNetNS):
		// A file of the lab's name that is no namespace: someone else's.
		return &state.Node{Name: node, NetNS: name, Foreign: true, Links: map[string]*state.Link{}, Sysctls: map[string]string{}}, nil
	default:
		return nil, err
	}
	links, err := retryDump("list links", c.h.LinkList)
	if err != nil {
		return nil, err
	}
	n := state.NewNode(node, name)
	byIndex, err := observeLinks(c, lab, links)
	if err != nil {
		return nil, err
	}
	marked := false
	for _, nl := range links {
		if a := nl.Attrs(); a.Name == "lo" && a.Alias == state.NodeMarker(lab, node) {
			marked = true
		}
		n.Links[nl.Attrs().Name] = byIndex[nl.Attrs().Index]
	}
	if !marked {
		return &state.Node{Name: node, NetNS: name, Foreign: true, Links: map[string]*state.Link{}, Sysctls: map[string]string{}}, nil
	}
	if err := observeAddrs(c, byIndex); err != nil {
		return nil, err
	}
	if n.Routes, err = observeRoutes(c, byIndex); err != nil {
		return nil, err
	}
	if err := observeLearned(c, byIndex); err != nil {
		return nil, err
	}
	if n.Sysctls, err = readSysctls(c, sysctlKeys); err != nil {
		return nil, err
	}
	if n.NFT, err = observeNFTAgainst(c, wantNFT); err != nil {
		return nil, err
	}
	return n, nil
}

// observeHost reads a host node: the links of the machine's root
// namespace that carry the lab's marker, and those of a name the node
// declares (so that one in the way is reported, never taken). Everything
// else there is the machine's, neither the lab's nor unmanaged.
func (k *Linux) observeHost(lab string, want *state.Node) (*state.Node, error) {
	c, err := k.conn(state.HostNetNS)
	if err != nil {
		return nil, err
	}
	links, err := retryDump("list links", c.h.LinkList)
	if err != nil {
		return nil, err
	}
	all, err := observeLinks(c, lab, links)
	if err != nil {
		return nil, err
	}
	n := state.NewNode(want.Name, state.HostNetNS)
	n.Host = true
	kept := make(map[int]*state.Link)
	for idx, l := range all {
		if l.Owned || want.Links[l.Name] != nil {
			n.Links[l.Name] = l
			kept[idx] = l
		}
	}
	if err := observeAddrs(c, kept); err != nil {
		return nil, err
	}
	return n, nil
}

// observeLinks reads the links of a namespace, by ifindex, with their
// masters and kind-specific settings.
func observeLinks(c *nsConn, lab string, links []netlink.Link) (map[int]*state.Link, error) {
	byIndex := make(map[int]*state.Link, len(links))
	for _, nl := range links {
		a := nl.Attrs()
		l := &state.Link{
			Name:      a.Name,
			Kind:      kindOf(nl),
			MTU:       a.MTU,
			MAC:       a.HardwareAddr.String(),
			Up:        a.Flags&net.FlagUp != 0,
			Alias:     a.Alias,
			Index:     a.Index,
			OperState: a.OperState.String(),
		}
		if markLab, peer, ok := state.ParseLinkMarker(a.Alias); ok && markLab == lab {
			l.Owned = true
			switch l.Kind {
			case "veth":
				l.Peer = peer
			case "macvlan":
				l.Parent = peer
			}
		}
		if l.Kind == "veth" {
			l.PeerIndex = a.ParentIndex
		}
		if st := a.Statistics; st != nil {
			l.Stats = state.Counters{
				RxPackets: st.RxPackets, TxPackets: st.TxPackets, RxBytes: st.RxBytes, TxBytes: st.TxBytes,
				RxDropped: st.RxDropped, TxDropped: st.TxDropped, RxErrors: st.RxErrors, TxErrors: st.TxErrors,
			}
		}
		byIndex[a.Index] = l
	}
	for _, nl := range links {
		if err := observeDevice(c, nl, byIndex[nl.Attrs().Index], byIndex); err != nil {
			return nil, fmt.Errorf("link %s: %w", nl.Attrs().Name, err)
		}
		if m := nl.Attrs().MasterIndex; m != 0 {
			if master, ok := byIndex[m]; ok {
				byIndex[nl.Attrs().Index].Master = master.Name
			}
		}
	}
	return byIndex, nil
}

// observeAddrs reads the addresses of the links of byIndex.
func observeAddrs(c *nsConn, byIndex map[int]*state.Link) error {
	addrs, err := retryDump("list addresses", func() ([]netlink.Addr, error) { return c.h.AddrList(nil, netlink.FAMILY_ALL) })
	if err != nil {
		return err
	}
	for _, a := range addrs {
		l, ok := byIndex[a.LinkIndex]
		if !ok || a.IPNet == nil {
			continue
		}
		if p, ok := prefixOf(a.IPNet); ok {
			l.Addrs = append(l.Addrs, p)
		}
	}
	for _, l := range byIndex {
		state.SortAddrs(l.Addrs)
	}
	return nil
}

// kindOf names a link's kind as the lab file does.
func kindOf(nl netlink.Link) string {
	switch t := nl.(type) {
	case *netlink.Tuntap:
		if t.Mode == netlink.TUNTAP_MODE_TAP {
			return "tap"
		}
		return "tun"
	case *netlink.Device:
		if nl.Attrs().Flags&net.FlagLoopback != 0 {
			return "loopback"
		}
	}
	return nl.Type()
}

func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(a.Unmap(), ones), true
}

// observeRoutes reads the main table's unicast routes, except those the
// kernel makes itself (connected subnets, IPv6 link-local and router
// advertisements), which are no one's to manage.
func observeRoutes(c *nsConn, byIndex map[int]*state.Link) ([]state.Route, error) {
	filter := &netlink.Route{Table: unix.RT_TABLE_MAIN}
	routes, err := retryDump("list routes", func() ([]netlink.Route, error) {
		return c.h.RouteListFiltered(netlink.FAMILY_ALL, filter, netlink.RT_FILTER_TABLE)
	})
	if err != nil {
		return nil, err
	}
	var out []state.Route
	for _, r := range routes {
		if r.Protocol == unix.RTPROT_KERNEL || r.Protocol == unix.RTPROT_RA || r.Type != unix.RTN_UNICAST {
			continue
		}
		sr := state.Route{Metric: uint32(r.Priority), Owned: int(r.Protocol) == state.RouteProtocol}
		if r.Dst != nil {
			p, ok := prefixOf(r.Dst)
			if !ok {
				continue
			}
			sr.To = p
		} else if r.Family == unix.AF_INET6 {
			sr.To = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
		} else {
			sr.To = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
		}
		if r.Gw != nil {
			if gw, ok := netip.AddrFromSlice(r.Gw); ok {
				sr.Via = gw.Unmap()
			}
		}
		if l, ok := byIndex[r.LinkIndex]; ok {
			sr.Dev = l.Name
		}
		if sr.To.Addr().Is6() && strings.HasPrefix(sr.To.String(), "ff") {
			continue
		}
		out = append(out, sr)
	}
	state.SortRoutes(out)
	return out, nil
}

// forgetGone closes the open handles of the lab's namespaces that are no
// longer mounted: a handle would keep a namespace deleted by hand alive
// for as long as this Linux lives (the TUI lives long).
func (k *Linux) forgetGone(lab string, present []string) {
	live := make(map[string]bool, len(present))
	for _, node := range present {
		live[state.NetNSName(lab, node)] = true
	}
	k.mu.Lock()
	var gone []string
	for name := range k.conns {
		if l, _, ok := state.SplitNetNSName(name); ok && l == lab && !live[name] {
			gone = append(gone, name)
		}
	}
	k.mu.Unlock()
	for _, name := range gone {
		k.forget(name)
	}
}

// observeLearned reads, when the namespace has a bridge, the MAC addresses
// each bridge port has learned (the dynamic entries of the bridge's
// forwarding database), so that status shows a bridge's MAC learning.
func observeLearned(c *nsConn, byIndex map[int]*state.Link) error {
	hasBridge := false
	for _, l := range byIndex {
		if l.Kind == "bridge" {
			hasBridge = true
		}
	}
	if !hasBridge {
		return nil
	}
	neighs, err := retryDump("list bridge fdb", func() ([]netlink.Neigh, error) { return c.h.NeighList(0, unix.AF_BRIDGE) })
	if err != nil {
		return err
	}
	for _, e := range neighs {
		port, ok := byIndex[e.LinkIndex]
		master, isPort := byIndex[e.MasterIndex]
		// Learned entries are dynamic and belong to a bridge; the ports'
		// own addresses are permanent.
		if !ok || !isPort || master.Kind != "bridge" || e.State&(unix.NUD_PERMANENT|unix.NUD_NOARP) != 0 || e.HardwareAddr == nil {
			continue
		}
		port.Learned = append(port.Learned, e.HardwareAddr.String())
	}
	for _, l := range byIndex {
		sort.Strings(l.Learned)
	}
	return nil
}
