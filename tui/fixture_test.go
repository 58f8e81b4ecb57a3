package tui

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"netlab/lab/device"
	"netlab/lab/plan"
	"netlab/lab/state"
)

// t0 is the time of the first scripted snapshot.
var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// singleIP is the default lab as the kernel has it, with counters that
// grow by step per node-interface-second: c1 has sent step*10 packets
// more at each step, say.
func singleIP(step int) *state.State {
	s := state.New("single-ip")
	k := uint64(step)
	node := func(name string) *state.Node {
		n := state.NewNode(name, state.NetNSName("single-ip", name))
		n.Links["lo"] = &state.Link{Name: "lo", Kind: "loopback", MTU: 65536, Up: true, OperState: "unknown", Index: 1,
			Addrs: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/8")}}
		s.Nodes[name] = n
		return n
	}
	link := func(n *state.Node, name string, kind device.Kind, idx int, addr string) *state.Link {
		l := &state.Link{Name: name, Kind: kind, MTU: 1500, Up: true, OperState: "up", Owned: true, Index: idx,
			MAC: fmt.Sprintf("02:00:00:00:%02x:%02x", len(s.Nodes), idx)}
		if addr != "" {
			l.Addrs = []netip.Prefix{netip.MustParsePrefix(addr), netip.MustParsePrefix("fe80::1/64")}
		}
		n.Links[name] = l
		return l
	}
	host := node("host")
	link(host, "br0", "bridge", 2, "192.168.31.1/24").Stats = state.Counters{RxPackets: 30 * k, RxBytes: 2940 * k}
	eth := link(host, "eth0", "veth", 3, "198.51.100.86/24")
	eth.Peer, eth.PeerIndex = "server:eth0", 2
	eth.Stats = state.Counters{TxPackets: 10 * k, TxBytes: 980 * k}
	for i, c := range []string{"c1", "c2", "c3"} {
		hv := link(host, fmt.Sprintf("veth%d", i+1), "veth", 4+i, "")
		hv.Master, hv.Peer, hv.PeerIndex = "br0", c+":veth0", 2
		cn := node(c)
		cv := link(cn, "veth0", "veth", 2, fmt.Sprintf("192.168.31.%d/24", 10+i))
		cv.Peer, cv.PeerIndex = fmt.Sprintf("host:veth%d", i+1), 4+i
		if i == 0 {
			// c1 sends 10 packets a second to the host.
			cv.Stats = state.Counters{TxPackets: 10 * k, TxBytes: 980 * k, RxPackets: 1, RxBytes: 70}
			hv.Stats = state.Counters{RxPackets: 10 * k, RxBytes: 980 * k, TxPackets: 1, TxBytes: 70}
		}
	}
	srv := node("server")
	se := link(srv, "eth0", "veth", 2, "198.51.100.183/24")
	se.Peer, se.PeerIndex = "host:eth0", 3
	se.Stats = state.Counters{RxPackets: 10 * k, RxBytes: 980 * k, RxDropped: 2}
	host.NFT = &state.NFTable{Chains: []*state.NFChain{
		{Name: "filter_forward", Type: "filter", Hook: "forward", Priority: state.PriorityFilter, Policy: "accept"},
		{Name: "nat_postrouting", Type: "nat", Hook: "postrouting", Priority: state.PrioritySrcNAT, Policy: "accept",
			Rules: []*state.NFRule{{
				Source: netip.MustParsePrefix("192.168.31.0/24"), Out: "eth0", Action: "masquerade",
				Tag: "netlab-0123456789ab", Packets: 10 * k, Bytes: 980 * k,
			}}},
	}}
	return s
}

// snap is the scripted snapshot of step n, taken n seconds after t0.
func snap(n int) SnapshotMsg {
	return SnapshotMsg{State: singleIP(n + 1), Processes: someProcesses(n), At: t0.Add(time.Duration(n) * time.Second)}
}

// someProcesses are the lab's processes at step n, in every state: a
// server that runs, one that ended, one never started, one started by
// hand.
func someProcesses(n int) []Process {
	up := time.Duration(n) * time.Second
	return []Process{
		{Node: "c1", Pid: 4711, State: "running", Uptime: 30*time.Second + up, Command: "sleep 1000"},
		{Node: "server", Name: "dns", State: "exited 1", Command: "dnsmasq -k --conf-file=/etc/netns/single-ip.server/dnsmasq.conf"},
		{Node: "server", Name: "http", Pid: 4242, State: "running", Uptime: 3*time.Minute + up, Command: "python3 -m http.server 80"},
		{Node: "server", Name: "ntp", State: "not started", Command: "chronyd -d"},
	}
}

// fakeSource returns scripted states, the last one again once they run
// out; it counts its calls.
type fakeSource struct {
	mu     sync.Mutex
	states []*state.State
	plan   *plan.Plan
	err    error
	calls  int
}

func (f *fakeSource) Snapshot(context.Context) (*state.State, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	i := min(f.calls, len(f.states)-1)
	f.calls++
	return f.states[i], nil
}

func (f *fakeSource) Plan(context.Context) (*plan.Plan, error) { return f.plan, nil }

// procSource is a fakeSource that lists processes too.
type procSource struct {
	fakeSource
	procs []Process
}

func (p *procSource) Processes(context.Context) ([]Process, error) { return p.procs, nil }
