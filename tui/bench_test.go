package tui

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"netlab/lab/state"
)

// bigLab is a 200-node lab: a hub node with a bridge and one veth per
// spoke, each spoke with its veth end, lo and a forward rule.
func bigLab(step int) *state.State {
	const nodes = 200
	k := uint64(step)
	s := state.New("big")
	hub := state.NewNode("hub", "big.hub")
	hub.Links["br0"] = &state.Link{Name: "br0", Kind: "bridge", Up: true, OperState: "up", MTU: 1500, Owned: true, Index: 2}
	s.Nodes["hub"] = hub
	for i := 1; i < nodes; i++ {
		name := fmt.Sprintf("n%03d", i)
		n := state.NewNode(name, "big."+name)
		n.Links["lo"] = &state.Link{Name: "lo", Kind: "loopback", Up: true, OperState: "unknown", MTU: 65536, Index: 1}
		n.Links["eth0"] = &state.Link{Name: "eth0", Kind: "veth", Up: true, OperState: "up", MTU: 1500, Owned: true, Index: 2,
			Peer: "hub:p" + name, PeerIndex: 10 + i, Addrs: []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), 16)},
			Stats: state.Counters{RxPackets: k * uint64(i), TxPackets: k * uint64(i), RxBytes: 100 * k * uint64(i), TxBytes: 100 * k * uint64(i)}}
		n.NFT = &state.NFTable{Chains: []*state.NFChain{{Name: "filter_input", Type: "filter", Hook: "input", Policy: "accept",
			Rules: []*state.NFRule{{Proto: "tcp", DPort: 22, Action: "accept", Tag: fmt.Sprintf("netlab-%012d", i), Packets: k, Bytes: 60 * k}}}}}
		s.Nodes[name] = n
		hub.Links["p"+name] = &state.Link{Name: "p" + name, Kind: "veth", Up: true, OperState: "up", MTU: 1500, Owned: true,
			Index: 10 + i, Master: "br0", Peer: name + ":eth0", PeerIndex: 2, Stats: state.Counters{RxPackets: k, TxPackets: k}}
	}
	return s
}

// BenchmarkRefresh is one refresh of a 200-node lab as the UI does it:
// rates from the previous snapshot, the rows rebuilt, the screen drawn.
func BenchmarkRefresh(b *testing.B) {
	states := []*state.State{bigLab(1), bigLab(2)}
	m := New(Options{Source: &fakeSource{}})
	m.SetSize(120, 40)
	m.apply(SnapshotMsg{State: states[0], At: t0})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.apply(SnapshotMsg{State: states[(i+1)%2], At: t0.Add(time.Duration(i+1) * time.Second)})
		_ = m.View()
	}
}
