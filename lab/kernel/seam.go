package kernel

import (
	"context"
	"net"
	"net/netip"
	"time"
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

var (
	_ NetNS   = (*Linux)(nil)
	_ Watcher = (*Linux)(nil)
)
