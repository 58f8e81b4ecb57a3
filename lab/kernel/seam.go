package kernel

import (
	"context"
	"net"
	"net/netip"
	"time"

	"netlab/lab/state"
)

// The kernel seam beside Kernel. Kernel reads and changes a lab's
// objects; what probes, captures and watches a running lab needs is in
// the small interfaces below, so that lab/check, lab/capture and the TUI
// take them and run against the fake in kerneltest as well as against
// Linux, which implements them all.

// NetNS opens sockets inside a node's namespace and asks its routing
// table: what a probe (lab/check) and a capture (lab/capture) need. A
// socket belongs to the namespace it was made in for its whole life; the
// returned sockets may be used from any goroutine. Every netns is a
// namespace name, LAB.NODE (state.NetNSName).
type NetNS interface {
	// NetNSExists returns nil when the namespace exists, and otherwise
	// why not: an error for which errors.Is(err, fs.ErrNotExist) holds
	// when there is none of that name.
	NetNSExists(netns string) error
	// ListenIn opens a stream listener (tcp) inside the namespace.
	ListenIn(netns, network, address string) (net.Listener, error)
	// ListenPacketIn opens a datagram or raw socket (udp, ip4:icmp,
	// ip6:ipv6-icmp) inside the namespace.
	ListenPacketIn(netns, network, address string) (net.PacketConn, error)
	// DialIn connects from inside the namespace; ctx bounds the attempt.
	DialIn(ctx context.Context, netns, network, address string) (net.Conn, error)
	// DialFromIn is DialIn from local port localPort (0: one the kernel
	// picks), so that a trace can match the probe by its port before it
	// leaves. A port in use fails with syscall.EADDRINUSE.
	DialFromIn(ctx context.Context, netns, network string, localPort uint16, address string) (net.Conn, error)
	// NextHop returns the route the namespace would use to reach dst,
	// with the state of the next hop's neighbour entry. It fails with an
	// error for which IsNoRoute is true when there is no route.
	NextHop(netns string, dst netip.Addr) (Hop, error)
	// ListenPacketLink opens a packet socket that sees every frame the
	// interface ifname of the namespace sends and receives.
	ListenPacketLink(netns, ifname string) (PacketConn, error)
}

// PacketConn is a socket that reads the frames of one interface.
type PacketConn interface {
	// ReadPacket reads one frame into buf. A frame longer than buf is
	// truncated, and OrigLen tells its real length.
	ReadPacket(buf []byte) (PacketInfo, error)
	// SetReadDeadline makes reads fail with os.ErrDeadlineExceeded after t.
	SetReadDeadline(t time.Time) error
	// Close closes the socket; a read blocked in another goroutine
	// returns an error.
	Close() error
}

// Watcher reports changes to a running lab as they happen.
type Watcher interface {
	// Watch returns a channel that receives one value per burst of
	// changes to the lab's namespaces, links, addresses and routes, and
	// is closed once ctx ends.
	Watch(ctx context.Context, lab string) (<-chan struct{}, error)
}

// CounterReader reads what changes fast in a running lab, its counters,
// cheaply enough to do every second on a thousand nodes: what the
// terminal UI reads at each refresh, between the full Observe it makes
// far less often. It reads no address, route, sysctl, process or file.
type CounterReader interface {
	// LinkCounters reads the links of each namespace of netns (LAB.NODE,
	// or state.HostNetNS), with their state and counters: one link dump
	// per namespace, over a netlink socket that stays open between calls
	// (no thread enters a namespace once it is open). A namespace that
	// does not exist (any more) is missing from the result, not an
	// error.
	// Equivalent to: ip -n NETNS -s link show
	LinkCounters(ctx context.Context, netns []string) (map[string][]LinkCounters, error)
	// RuleCounters reads the counters of the rules of netlab's nftables
	// table in each namespace of netns, by chain and tag. A namespace
	// without the table, or gone, is missing from the result.
	// Equivalent to: ip netns exec NETNS nft list table inet netlab
	RuleCounters(ctx context.Context, netns []string) (map[string][]RuleCounter, error)
}

// LinkCounters is one link as LinkCounters reads it: what tells a link
// from another (index, name, master, MTU), its state, and its counters.
type LinkCounters struct {
	Index       int
	Name        string
	MasterIndex int // 0 for none
	MTU         int
	Up          bool   // administratively up
	OperState   string // as state.Link's
	Stats       state.Counters
}

// RuleCounter is one rule's counter, known by its chain and tag.
type RuleCounter struct {
	Chain, Tag     string
	Packets, Bytes uint64
}

var (
	_ NetNS         = (*Linux)(nil)
	_ Watcher       = (*Linux)(nil)
	_ CounterReader = (*Linux)(nil)
	_ Tracer        = (*Linux)(nil)
	_ Conntracker   = (*Linux)(nil)
)

// Tracer follows packets through the netfilter hooks of a lab's
// namespaces: what netlab trace needs (lab/trace). Linux implements it
// with nftables tracing read through netlink (NFNLGRP_NFTRACE), as `nft
// monitor trace` does, with no nft binary.
type Tracer interface {
	// TraceStart adds a trace table of its own (a name starting with
	// TraceTablePrefix, family inet, and bridge where the namespace has
	// a bridge) to each namespace of netns. It has a chain at every hook
	// at TraceFirstPriority, before raw, that sets nftrace on the packets
	// m matches, and one at TraceLastPriority, after every chain of the
	// lab, that sees them leave the hook; so every hook a matched packet
	// crosses reports, whether or not the lab has a chain there. It then
	// listens to each namespace's trace events. The tables are owned by
	// the trace's netlink sockets (NFT_TABLE_F_OWNER): the kernel
	// removes them when Close closes the sockets, or when netlab ends,
	// however it ends (kill -9 included). Tables of other names are never
	// touched.
	// Equivalent to: ip netns exec NETNS nft -f TRACE-TABLE; ip netns exec NETNS nft monitor trace
	TraceStart(ctx context.Context, netns []string, m TraceMatch) (Trace, error)
	// TraceSweep removes, in each namespace of netns, the trace tables
	// (TraceTablePrefix) that no live socket owns: what a netlab without
	// the owner flag, or a hand-made copy, left behind. It returns the
	// namespaces it removed one from. A live trace's table is left alone.
	// Equivalent to: ip netns exec NETNS nft delete table inet netlab_trace_...
	TraceSweep(ctx context.Context, netns []string) ([]string, error)
}

// Trace is a running trace of TraceStart.
type Trace interface {
	// Events delivers the trace events of the matched packets: each
	// namespace's in the order the kernel reported them, Seq giving the
	// order of arrival across namespaces. Only events of packets that
	// this trace's own table marked are delivered (another trace's, run
	// at the same time, are not). It is closed once Close has returned.
	Events() <-chan TraceEvent
	// Close removes the trace tables and stops listening. It is safe to
	// call more than once.
	Close() error
}

// Trace table names and chain priorities. The first chain of each hook
// runs before raw (state.PriorityRaw, -300) and after defragmentation
// (-400); the last after source NAT (100) and conntrack helpers (300),
// so the addresses it sees are those the packet leaves the hook with.
const (
	TraceTablePrefix   = "netlab_trace"
	TraceFirstPriority = -350
	TraceLastPriority  = 400
)

// TraceMatch says which packets a trace follows: those of protocol Proto
// ("icmp" means ICMP and ICMPv6, "tcp", "udp") with Port as their source
// or destination port (for an ICMP echo request or reply, Port is its
// identifier), and the ICMP errors that quote such a packet. With Addr
// valid, only those with Addr as source or destination (before or after
// NAT, at the hook that sees them). So the request of a probe from port
// Port and its answer match, through any NAT that keeps the port. Port 0
// means any port or identifier, taken only with Addr valid (netlab trace
// --watch --from ADDR): a match by protocol alone, which would trace all
// the lab's traffic of it, is refused.
type TraceMatch struct {
	Proto string
	Port  uint16
	Addr  netip.Addr
}

// TraceEvent is one NFNLGRP_NFTRACE event, decoded: one rule or chain
// policy a traced packet met in one namespace.
type TraceEvent struct {
	NetNS string // the namespace, LAB.NODE
	Seq   uint64 // order of arrival across the namespaces of one trace
	// ID is NFTA_TRACE_ID: the same for every event of one packet in one
	// namespace (it changes when the packet crosses to another).
	ID       uint32
	Family   string // the table's family: ip, ip6, inet, bridge, arp, netdev
	Table    string
	Chain    string
	Hook     string // the chain's hook: prerouting, input, forward, output, postrouting, ingress
	Priority int    // the chain's priority
	// Own is set for the events of the trace's own table; OwnFirst for
	// those of its chain at TraceFirstPriority (the packet enters the
	// hook), else of its chain at TraceLastPriority (it leaves it).
	Own, OwnFirst bool
	Type          string // rule, policy or return
	Rule          uint64 // NFTA_TRACE_RULE_HANDLE; 0 for a policy
	// RuleTag is the rule's comment, when it has one: for netlab's own
	// rules, their state.NFRule.Tag.
	RuleTag string
	Verdict string // accept, drop, continue, jump, goto, return, queue, stolen, break
	Target  string // the chain of a jump or goto
	IIf     string // the input interface's name in NetNS, or ""
	OIf     string // the output interface's name, or ""
	Mark    uint32
	// Network and Transport are the packet's headers as the kernel dumps
	// them (the first bytes of each: up to 40 of the network header, 20
	// of the transport header); LinkLayer its Ethernet header, when it
	// has one.
	Network, Transport, LinkLayer []byte
}

// Conntracker reads and flushes a namespace's connection-tracking table
// through ctnetlink: what netlab conntrack needs (lab/conntrack).
type Conntracker interface {
	// Conntrack lists the namespace's conntrack entries, IPv4 and IPv6,
	// in the kernel's order. It refuses state.HostNetNS with EPERM: the
	// machine's table is not a lab's to show.
	// Equivalent to: ip netns exec NETNS conntrack -L
	Conntrack(ctx context.Context, netns string) ([]ConntrackEntry, error)
	// ConntrackFlush deletes every entry of the namespace's table. It
	// refuses state.HostNetNS with EPERM.
	// Equivalent to: ip netns exec NETNS conntrack -F
	ConntrackFlush(ctx context.Context, netns string) error
}

// ConntrackEntry is one connection the kernel tracks.
type ConntrackEntry struct {
	Proto   string // tcp, udp, icmp, ipv6-icmp, or the protocol's number
	State   string // TCP's state (SYN_SENT, ESTABLISHED, TIME_WAIT...), "" for others
	Timeout time.Duration
	// Orig is the tuple of the first packet; Reply the tuple the answer
	// is expected with. When Reply is not Orig reversed, a NAT rule
	// translated the connection.
	Orig, Reply ConntrackTuple
	Assured     bool // IPS_ASSURED: seen both ways, kept under pressure
	SeenReply   bool // IPS_SEEN_REPLY: an answer came ([UNREPLIED] when false)
	SrcNAT      bool // IPS_SRC_NAT: the kernel's own flags
	DstNAT      bool // IPS_DST_NAT
	Mark        uint32
	Zone        uint16
	// Counters is set when the kernel counts (net.netfilter.nf_conntrack_acct=1).
	Counters                 bool
	OrigPackets, OrigBytes   uint64
	ReplyPackets, ReplyBytes uint64
}

// ConntrackTuple is one direction of a connection.
type ConntrackTuple struct {
	Src, Dst     netip.Addr
	SPort, DPort uint16 // tcp, udp
	// ICMP: the type and code of the request, and its identifier.
	ICMPType, ICMPCode uint8
	ICMPID             uint16
}
