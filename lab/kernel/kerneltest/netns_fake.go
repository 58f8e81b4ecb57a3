package kerneltest

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"netlab/lab/kernel"
	"netlab/lab/state"
)

// Net is a kernel.NetNS that lives in memory: a network of namespaces,
// each with its addresses and routes, whose sockets reach each other as
// the real ones would across a routed lab. It is what lab/check, ping and
// lab/capture run against in tests without root.
//
// What it simulates:
//
//   - A namespace owns the addresses given to AddNetNS; each address's
//     prefix is an on-link route on dev eth0. Each also has lo, up, with
//     127.0.0.1/8 and ::1: what it sends to its own addresses or to
//     loopback stays inside it. AddRoute adds routes via a
//     gateway. A packet goes out by the longest matching route (none:
//     ENETUNREACH, as sendto and connect fail), from the first address of
//     the namespace of the destination's family (or the route's Src).
//   - The next hop (the gateway, or the destination when on-link) answers
//     ARP when some namespace owns it: NextHop's Neigh is "reachable",
//     else "failed". A packet whose next hop does not answer is lost; a
//     TCP connect to it fails with EHOSTUNREACH at once (the real one
//     after the kernel's ARP retries).
//   - The packet is delivered to the namespace that owns its destination
//     address, wherever it is: one flat network, every owner of an
//     address reachable from every router (no links, bridges or
//     per-hop routing tables).
//   - TCP: a listener of ListenIn accepts; no listener on the port is
//     ECONNREFUSED. UDP: a socket of ListenPacketIn receives, and a
//     datagram to a port nobody listens on makes the sender's next read
//     fail with ECONNREFUSED (the ICMP port unreachable the real kernel
//     sends back). A connected UDP socket (DialIn) reads only what comes
//     from the address it dialled.
//   - ICMP: an echo request is copied to every raw ICMP socket of its
//     family in the destination namespace (as the real kernel does),
//     which then answers it with an echo reply, copied to every raw ICMP
//     socket of the source namespace.
//   - NAT and filters, as rules given by hand (DNAT, SNAT, Drop, Reject),
//     not read from nftables: a DNAT rewrites a destination, an SNAT the
//     source of what leaves a namespace through a gateway, and replies are translated back
//     as conntrack does. Drop loses packets silently (a probe times out);
//     Reject fails the send with EPERM, as an output rule of the source
//     node does. Rules apply in the order given; the first filter or
//     DNAT that matches wins, as the first matching rule of a chain does.
//   - ListenPacketLink reads the frames given to SendFrame, on interfaces
//     made with AddLink: a packet source for capture, not a tap on the
//     traffic above (which has no frames).
//
// What it does not simulate: links, bridges, MTUs and anything below IP;
// the routing tables of routers on the way (a packet that leaves its
// namespace arrives); ICMP errors from routers (unreachable, time
// exceeded); return routes (a reply always finds its way back); nftables
// rules of the lab (only the rules given here); TCP's handshake, windows
// and resets (a connection is two unbounded byte buffers); timing (everything arrives at
// once). A test that needs any of those runs against the real kernel.
//
// Net is safe for concurrent use; its sockets may be used from any
// goroutine, with deadlines, as the real ones.
type Net struct {
	mu     sync.Mutex
	ns     map[string]*netNS
	rules  []natRule
	flows  map[flowKey]*flow // UDP replies to translate back, by the server's view
	nextPt int               // the next ephemeral port
	onSend func(SentPacket)  // OnSend's hook, or nil
}

// OnSend makes n call f with every packet a socket of n sends, before it
// is routed: what a Tracer attached to n follows. f is called with n's
// lock held and must not call n.
func (n *Net) OnSend(f func(SentPacket)) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.onSend = f
}

var _ kernel.NetNS = (*Net)(nil)

type netNS struct {
	name   string
	addrs  []netip.Prefix
	routes []fakeRouteEntry
	tcp    map[uint16]*tcpListener
	udp    map[uint16]*udpSock
	raw    []*rawSock
	links  map[string]*linkConn
}

type fakeRouteEntry struct {
	to  netip.Prefix
	gw  netip.Addr // invalid when on-link
	dev string
	src netip.Addr
}

type natRule struct {
	kind   string // "dnat", "snat", "drop", "reject", "lose"
	from   string // the source namespace, "" for any
	dst    netip.AddrPort
	to     netip.AddrPort // dnat: the new destination; snat: the new source (port 0)
	anyPrt bool           // dst's port is 0: every port, and ICMP
	left   int            // lose: how many packets are still to be lost
}

// NewNet returns an empty fake network.
func NewNet() *Net {
	return &Net{ns: make(map[string]*netNS), flows: make(map[flowKey]*flow), nextPt: 40000}
}

// AddNetNS makes the namespace netns (LAB.NODE) with the given addresses,
// each an on-link route on eth0. A namespace added again gets the
// addresses added.
func (n *Net) AddNetNS(netns string, addrs ...netip.Prefix) {
	n.mu.Lock()
	defer n.mu.Unlock()
	ns := n.ns[netns]
	if ns == nil {
		ns = &netNS{name: netns, tcp: map[uint16]*tcpListener{}, udp: map[uint16]*udpSock{}, links: map[string]*linkConn{}}
		n.ns[netns] = ns
		for _, p := range state.LoopbackAddrs {
			ns.addrs = append(ns.addrs, p)
			ns.routes = append(ns.routes, fakeRouteEntry{to: p.Masked(), dev: "lo", src: p.Addr()})
		}
	}
	for _, p := range addrs {
		ns.addrs = append(ns.addrs, p)
		ns.routes = append(ns.routes, fakeRouteEntry{to: p.Masked(), dev: "eth0", src: p.Addr()})
	}
}

// DelNetNS removes a namespace, as netlab down does; its sockets stay
// open but reach nothing.
func (n *Net) DelNetNS(netns string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.ns, netns)
}

// AddRoute adds a route to the namespace: to reach prefix to, send via gw
// on dev.
func (n *Net) AddRoute(netns string, to netip.Prefix, gw netip.Addr, dev string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if ns := n.ns[netns]; ns != nil {
		ns.routes = append(ns.routes, fakeRouteEntry{to: to, gw: gw, dev: dev})
	}
}

// DNAT sends what any namespace sends to dst (port 0: every port, and
// ICMP) on to `to`, as a prerouting DNAT rule does.
func (n *Net) DNAT(dst, to netip.AddrPort) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.rules = append(n.rules, natRule{kind: "dnat", dst: dst, to: to, anyPrt: dst.Port() == 0})
}

// SNAT makes what namespace from sends through a gateway (not on-link)
// appear from src, as the masquerade of the router on its way out does.
func (n *Net) SNAT(from string, src netip.Addr) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.rules = append(n.rules, natRule{kind: "snat", from: from, to: netip.AddrPortFrom(src, 0)})
}

// Drop loses every packet that namespace from ("" for any) sends to dst
// (port 0: every port, and ICMP).
func (n *Net) Drop(from string, dst netip.AddrPort) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.rules = append(n.rules, natRule{kind: "drop", from: from, dst: dst, anyPrt: dst.Port() == 0})
}

// LoseNext loses the next count packets that namespace from sends to dst
// (any port, and ICMP), as a full backlog on a busy machine or a lossy
// link does, and lets the ones after through.
func (n *Net) LoseNext(from string, dst netip.Addr, count int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.rules = append(n.rules, natRule{kind: "lose", from: from, dst: netip.AddrPortFrom(dst, 0), anyPrt: true, left: count})
}

// Reject makes namespace from's sends to dst fail with EPERM, as an
// output rule that drops does.
func (n *Net) Reject(from string, dst netip.AddrPort) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.rules = append(n.rules, natRule{kind: "reject", from: from, dst: dst, anyPrt: dst.Port() == 0})
}

// NetNSExists returns nil when the namespace exists, and otherwise an
// error for which errors.Is(err, fs.ErrNotExist) holds, as a stat of its
// file gives.
func (n *Net) NetNSExists(netns string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ns[netns] == nil {
		return fmt.Errorf("stat namespace %s: %w", netns, syscall.ENOENT)
	}
	return nil
}

// nsLocked returns the namespace, or the error opening a missing one gives.
func (n *Net) nsLocked(netns string) (*netNS, error) {
	ns := n.ns[netns]
	if ns == nil {
		return nil, fmt.Errorf("open namespace %s: %w", netns, syscall.ENOENT)
	}
	return ns, nil
}

// route is the result of a lookup: the route, the source address, and
// the namespace that answers for the next hop (nil: no ARP reply).
type route struct {
	r       fakeRouteEntry
	src     netip.Addr
	nextHop *netNS
}

func (n *Net) routeLocked(ns *netNS, dst netip.Addr) (route, error) {
	if ns.owns(dst) {
		return route{r: fakeRouteEntry{to: netip.PrefixFrom(dst, dst.BitLen()), dev: "lo"}, src: dst, nextHop: ns}, nil
	}
	best := -1
	for i, r := range ns.routes {
		if r.to.Addr().Is4() == dst.Is4() && r.to.Contains(dst) && (best < 0 || r.to.Bits() > ns.routes[best].to.Bits()) {
			best = i
		}
	}
	if best < 0 {
		return route{}, fmt.Errorf("route to %s: %w", dst, syscall.ENETUNREACH)
	}
	rt := route{r: ns.routes[best], src: ns.routes[best].src}
	if !rt.src.IsValid() {
		for _, p := range ns.addrs {
			if p.Addr().Is4() == dst.Is4() && !p.Addr().IsLoopback() {
				rt.src = p.Addr()
				break
			}
		}
	}
	next := dst
	if rt.r.gw.IsValid() {
		next = rt.r.gw
	}
	rt.nextHop = n.ownerLocked(ns, next)
	return rt, nil
}

// owns reports whether the namespace holds address a (every loopback
// address is its own).
func (ns *netNS) owns(a netip.Addr) bool {
	if a.IsLoopback() {
		return true
	}
	for _, p := range ns.addrs {
		if p.Addr() == a {
			return true
		}
	}
	return false
}

// ownerLocked is the namespace that owns address a, as seen from
// namespace from (which owns its own addresses and loopback), or nil.
func (n *Net) ownerLocked(from *netNS, a netip.Addr) *netNS {
	if from.owns(a) {
		return from
	}
	if a.IsLoopback() {
		return nil
	}
	for _, name := range n.sortedNamesLocked() {
		if ns := n.ns[name]; ns.owns(a) {
			return ns
		}
	}
	return nil
}

func (n *Net) sortedNamesLocked() []string {
	names := make([]string, 0, len(n.ns))
	for name := range n.ns {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// NextHop returns the route netns would use to reach dst.
func (n *Net) NextHop(netns string, dst netip.Addr) (kernel.Hop, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	ns, err := n.nsLocked(netns)
	if err != nil {
		return kernel.Hop{}, err
	}
	rt, err := n.routeLocked(ns, dst.Unmap())
	if err != nil {
		return kernel.Hop{}, err
	}
	hop := kernel.Hop{Dev: rt.r.dev, Gateway: rt.r.gw, Src: rt.src, Neigh: "failed"}
	if rt.nextHop != nil {
		hop.Neigh = "reachable"
	}
	return hop, nil
}

// sent is one packet on its way: where it goes after the rules, and
// from where it seems to come.
type sent struct {
	to     *netNS
	dst    netip.AddrPort // after DNAT
	src    netip.AddrPort // after SNAT
	origin netip.AddrPort // the sender's own address, before SNAT
	asked  netip.AddrPort // the destination the sender gave, before DNAT
}

// sendLocked routes a packet of proto (icmp, tcp, udp) from ns to dst
// (port 0 for ICMP; icmpID is an echo request's identifier) through the
// rules. A nil sent with a nil error is a packet lost on the way.
func (n *Net) sendLocked(ns *netNS, proto string, srcPort, icmpID uint16, dst netip.AddrPort) (*sent, error) {
	icmpMsg := proto == "icmp"
	rt, err := n.routeLocked(ns, dst.Addr())
	if err != nil {
		return nil, err
	}
	if n.onSend != nil {
		n.onSend(SentPacket{NetNS: ns.name, Proto: proto, Src: netip.AddrPortFrom(rt.src, srcPort), Dst: dst, ICMPID: icmpID})
	}
	s := &sent{dst: dst, asked: dst, origin: netip.AddrPortFrom(rt.src, srcPort)}
	s.src = s.origin
	for i := range n.rules {
		r := &n.rules[i]
		if r.from != "" && r.from != ns.name {
			continue
		}
		switch r.kind {
		case "snat":
			if rt.r.gw.IsValid() { // forwarded by a router, not on-link
				s.src = netip.AddrPortFrom(r.to.Addr(), srcPort)
			}
			continue
		}
		if r.dst.Addr() != s.dst.Addr() || (!r.anyPrt && (icmpMsg || r.dst.Port() != s.dst.Port())) {
			continue
		}
		switch r.kind {
		case "reject":
			return nil, fmt.Errorf("sendmsg: %w", syscall.EPERM)
		case "drop":
			return nil, nil
		case "lose":
			if r.left > 0 {
				r.left--
				return nil, nil
			}
		case "dnat":
			port := r.to.Port()
			if port == 0 {
				port = s.dst.Port()
			}
			s.dst = netip.AddrPortFrom(r.to.Addr(), port)
		}
	}
	if rt.nextHop == nil {
		return nil, nil // no ARP reply: lost
	}
	s.to = n.ownerLocked(ns, s.dst.Addr())
	if s.to == nil {
		return nil, nil
	}
	return s, nil
}

func (n *Net) ephemeralLocked() uint16 {
	n.nextPt++
	if n.nextPt > 60999 {
		n.nextPt = 40001
	}
	return uint16(n.nextPt)
}

// bindPort is the port of a listen address ":8080", "0.0.0.0:53".
func bindPort(address string) (uint16, error) {
	_, p, err := net.SplitHostPort(address)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseUint(p, 10, 16)
	return uint16(v), err
}

func opError(op, network string, addr net.Addr, err error) error {
	return &net.OpError{Op: op, Net: network, Addr: addr, Err: os.NewSyscallError(op, err)}
}

// ListenIn opens a TCP listener in the namespace.
func (n *Net) ListenIn(netns, network, address string) (net.Listener, error) {
	if network != "tcp" && network != "tcp4" && network != "tcp6" {
		return nil, fmt.Errorf("fake net: listen %s: unsupported network", network)
	}
	port, err := bindPort(address)
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	ns, err := n.nsLocked(netns)
	if err != nil {
		return nil, err
	}
	if port == 0 {
		port = n.ephemeralLocked()
	}
	if ns.tcp[port] != nil {
		return nil, opError("listen", network, nil, syscall.EADDRINUSE)
	}
	l := &tcpListener{n: n, ns: ns, port: port, conns: make(chan net.Conn, 16), done: make(chan struct{})}
	ns.tcp[port] = l
	return l, nil
}

// DialIn connects from the namespace: tcp or udp.
func (n *Net) DialIn(ctx context.Context, netns, network, address string) (net.Conn, error) {
	return n.DialFromIn(ctx, netns, network, 0, address)
}

// DialFromIn connects from the namespace from local port localPort (0: an
// ephemeral one); a UDP port in use fails with EADDRINUSE.
func (n *Net) DialFromIn(ctx context.Context, netns, network string, localPort uint16, address string) (net.Conn, error) {
	dst, err := netip.ParseAddrPort(address)
	if err != nil {
		return nil, err
	}
	dst = netip.AddrPortFrom(dst.Addr().Unmap(), dst.Port())
	raddr := net.TCPAddrFromAddrPort(dst)
	n.mu.Lock()
	ns, err := n.nsLocked(netns)
	if err != nil {
		n.mu.Unlock()
		return nil, err
	}
	port := localPort
	if port == 0 {
		port = n.ephemeralLocked()
	}
	switch network {
	case "udp", "udp4", "udp6":
		if ns.udp[port] != nil {
			n.mu.Unlock()
			return nil, opError("dial", network, nil, syscall.EADDRINUSE)
		}
		s := newUDPSock(n, ns, port)
		ns.udp[port] = s
		rt, err := n.routeLocked(ns, dst.Addr())
		n.mu.Unlock()
		if err != nil {
			s.Close()
			return nil, opError("dial", network, net.UDPAddrFromAddrPort(dst), err)
		}
		return &udpConn{s: s, peer: dst, local: netip.AddrPortFrom(rt.src, port)}, nil
	case "tcp", "tcp4", "tcp6":
	default:
		n.mu.Unlock()
		return nil, fmt.Errorf("fake net: dial %s: unsupported network", network)
	}
	s, err := n.sendLocked(ns, "tcp", port, 0, dst)
	switch {
	case err != nil:
		n.mu.Unlock()
		return nil, opError("dial", network, raddr, err)
	case s == nil:
		if rt, err := n.routeLocked(ns, dst.Addr()); err == nil && rt.nextHop == nil {
			n.mu.Unlock()
			return nil, opError("dial", network, raddr, syscall.EHOSTUNREACH)
		}
		n.mu.Unlock()
		<-ctx.Done() // lost: no SYN-ACK ever comes
		return nil, opError("dial", network, raddr, ctx.Err())
	}
	l := s.to.tcp[s.dst.Port()]
	n.mu.Unlock()
	if l == nil {
		return nil, opError("dial", network, raddr, syscall.ECONNREFUSED)
	}
	// The client sees the address it dialled, the server the source
	// after SNAT; each end its own address.
	cs, ss := streamPair(net.TCPAddrFromAddrPort(s.origin), raddr)
	ss.local, ss.remote = net.TCPAddrFromAddrPort(s.dst), net.TCPAddrFromAddrPort(s.src)
	select {
	case l.conns <- ss:
		return cs, nil
	case <-l.done:
		cs.Close()
		return nil, opError("dial", network, raddr, syscall.ECONNREFUSED)
	case <-ctx.Done():
		cs.Close()
		return nil, opError("dial", network, raddr, ctx.Err())
	}
}

type tcpListener struct {
	n     *Net
	ns    *netNS
	port  uint16
	conns chan net.Conn
	once  sync.Once
	done  chan struct{}
}

func (l *tcpListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, opError("accept", "tcp", l.Addr(), net.ErrClosed)
	}
}

func (l *tcpListener) Close() error {
	l.once.Do(func() {
		l.n.mu.Lock()
		if l.ns.tcp[l.port] == l {
			delete(l.ns.tcp, l.port)
		}
		l.n.mu.Unlock()
		close(l.done)
	})
	return nil
}

func (l *tcpListener) Addr() net.Addr { return &net.TCPAddr{Port: int(l.port)} }

// ListenPacketIn opens a UDP socket, or a raw ICMP one (ip4:icmp,
// ip6:ipv6-icmp), in the namespace.
func (n *Net) ListenPacketIn(netns, network, address string) (net.PacketConn, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	ns, err := n.nsLocked(netns)
	if err != nil {
		return nil, err
	}
	switch network {
	case "ip4:icmp", "ip4:1":
		r := newRawSock(n, ns, false)
		ns.raw = append(ns.raw, r)
		return r, nil
	case "ip6:ipv6-icmp", "ip6:58":
		r := newRawSock(n, ns, true)
		ns.raw = append(ns.raw, r)
		return r, nil
	case "udp", "udp4", "udp6":
	default:
		return nil, fmt.Errorf("fake net: listen %s: unsupported network", network)
	}
	port, err := bindPort(address)
	if err != nil {
		return nil, err
	}
	if port == 0 {
		port = n.ephemeralLocked()
	}
	if ns.udp[port] != nil {
		return nil, opError("listen", network, nil, syscall.EADDRINUSE)
	}
	s := newUDPSock(n, ns, port)
	ns.udp[port] = s
	return s, nil
}

// datagram is what a packet socket reads: the bytes, from where, or an
// error the kernel queued (ECONNREFUSED after a port unreachable).
type datagram struct {
	data []byte
	from netip.AddrPort
	err  error
}

// queue is the receive queue of a socket, with a read deadline.
type queue struct {
	mu       sync.Mutex
	q        []datagram
	wake     chan struct{}
	closed   bool
	deadline deadline
}

func newQueue() *queue { return &queue{wake: make(chan struct{}, 1)} }

func (q *queue) push(d datagram) {
	q.mu.Lock()
	if !q.closed {
		q.q = append(q.q, d)
	}
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// pop waits for a datagram that accept takes, until the deadline or close.
func (q *queue) pop(accept func(datagram) bool) (datagram, error) {
	for {
		q.mu.Lock()
		if q.closed {
			q.mu.Unlock()
			return datagram{}, net.ErrClosed
		}
		for len(q.q) > 0 {
			d := q.q[0]
			q.q = q.q[1:]
			if accept(d) {
				q.mu.Unlock()
				return d, nil
			}
		}
		q.mu.Unlock()
		select {
		case <-q.wake:
		case <-q.deadline.wait():
			if q.deadline.passed() {
				return datagram{}, os.ErrDeadlineExceeded
			}
		}
	}
}

func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.deadline.set(time.Now())
}

type udpSock struct {
	n    *Net
	ns   *netNS
	port uint16
	*queue
	once sync.Once
}

func newUDPSock(n *Net, ns *netNS, port uint16) *udpSock {
	return &udpSock{n: n, ns: ns, port: port, queue: newQueue()}
}

func (s *udpSock) ReadFrom(b []byte) (int, net.Addr, error) {
	d, err := s.pop(func(datagram) bool { return true })
	if err != nil {
		return 0, nil, opError("read", "udp", nil, err)
	}
	if d.err != nil {
		return 0, nil, opError("read", "udp", nil, d.err)
	}
	return copy(b, d.data), net.UDPAddrFromAddrPort(d.from), nil
}

func (s *udpSock) WriteTo(b []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, fmt.Errorf("fake net: write to %v: not a UDP address", addr)
	}
	ap := ua.AddrPort()
	return len(b), s.n.sendUDP(s, netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), b)
}

// flowKey is a UDP flow as its server sees it.
type flowKey struct {
	ns     string
	port   uint16 // the server's port
	remote netip.AddrPort
}

// flow is where a server's reply goes back to: the client's socket,
// and the address the client sent to (before DNAT).
type flow struct {
	client *udpSock
	from   netip.AddrPort
}

// sendUDP delivers a datagram from socket s to dst.
func (n *Net) sendUDP(s *udpSock, dst netip.AddrPort, b []byte) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if f := n.flows[flowKey{s.ns.name, s.port, dst}]; f != nil {
		f.client.push(datagram{data: slices.Clone(b), from: f.from}) // a reply, translated back
		return nil
	}
	sn, err := n.sendLocked(s.ns, "udp", s.port, 0, dst)
	if err != nil || sn == nil {
		return err
	}
	srv := sn.to.udp[sn.dst.Port()]
	if srv == nil {
		s.push(datagram{err: syscall.ECONNREFUSED, from: dst})
		return nil
	}
	n.flows[flowKey{sn.to.name, srv.port, sn.src}] = &flow{client: s, from: sn.asked}
	srv.push(datagram{data: slices.Clone(b), from: sn.src})
	return nil
}

func (s *udpSock) Close() error {
	s.once.Do(func() {
		s.n.mu.Lock()
		if s.ns.udp[s.port] == s {
			delete(s.ns.udp, s.port)
		}
		for k, f := range s.n.flows {
			if f.client == s {
				delete(s.n.flows, k)
			}
		}
		s.n.mu.Unlock()
		s.close()
	})
	return nil
}

func (s *udpSock) LocalAddr() net.Addr { return &net.UDPAddr{Port: int(s.port)} }

func (s *udpSock) SetDeadline(t time.Time) error      { s.deadline.set(t); return nil }
func (s *udpSock) SetReadDeadline(t time.Time) error  { s.deadline.set(t); return nil }
func (s *udpSock) SetWriteDeadline(t time.Time) error { return nil }

// udpConn is a connected UDP socket: it reads only from its peer.
type udpConn struct {
	s     *udpSock
	peer  netip.AddrPort
	local netip.AddrPort
}

func (c *udpConn) Read(b []byte) (int, error) {
	d, err := c.s.pop(func(d datagram) bool { return d.from == c.peer })
	if err != nil {
		return 0, opError("read", "udp", c.RemoteAddr(), err)
	}
	if d.err != nil {
		return 0, opError("read", "udp", c.RemoteAddr(), d.err)
	}
	return copy(b, d.data), nil
}

func (c *udpConn) Write(b []byte) (int, error) {
	if err := c.s.n.sendUDP(c.s, c.peer, b); err != nil {
		return 0, opError("write", "udp", c.RemoteAddr(), err)
	}
	return len(b), nil
}

func (c *udpConn) Close() error                       { return c.s.Close() }
func (c *udpConn) LocalAddr() net.Addr                { return net.UDPAddrFromAddrPort(c.local) }
func (c *udpConn) RemoteAddr() net.Addr               { return net.UDPAddrFromAddrPort(c.peer) }
func (c *udpConn) SetDeadline(t time.Time) error      { return c.s.SetDeadline(t) }
func (c *udpConn) SetReadDeadline(t time.Time) error  { return c.s.SetReadDeadline(t) }
func (c *udpConn) SetWriteDeadline(t time.Time) error { return nil }

// rawSock is a raw ICMP socket: it reads every ICMP message of its family
// that reaches its namespace, without the IP header.
type rawSock struct {
	n  *Net
	ns *netNS
	v6 bool
	*queue
	once sync.Once
}

func newRawSock(n *Net, ns *netNS, v6 bool) *rawSock {
	return &rawSock{n: n, ns: ns, v6: v6, queue: newQueue()}
}

func (r *rawSock) ReadFrom(b []byte) (int, net.Addr, error) {
	d, err := r.pop(func(datagram) bool { return true })
	if err != nil {
		return 0, nil, opError("read", "ip", nil, err)
	}
	return copy(b, d.data), &net.IPAddr{IP: d.from.Addr().AsSlice()}, nil
}

// WriteTo sends an ICMP message; an echo request is answered by the
// kernel of the namespace it reaches.
func (r *rawSock) WriteTo(b []byte, addr net.Addr) (int, error) {
	ia, ok := addr.(*net.IPAddr)
	if !ok {
		return 0, fmt.Errorf("fake net: write to %v: not an IP address", addr)
	}
	dst, ok := netip.AddrFromSlice(ia.IP)
	if !ok {
		return 0, fmt.Errorf("fake net: write to %v: bad address", addr)
	}
	dst = dst.Unmap()
	n := r.n
	n.mu.Lock()
	defer n.mu.Unlock()
	var id uint16
	if len(b) >= 6 && (b[0] == byte(ipv4.ICMPTypeEcho) || b[0] == byte(ipv6.ICMPTypeEchoRequest)) {
		id = uint16(b[4])<<8 | uint16(b[5])
	}
	s, err := n.sendLocked(r.ns, "icmp", 0, id, netip.AddrPortFrom(dst, 0))
	if err != nil {
		return 0, opError("sendto", "ip", addr, err)
	}
	if s == nil {
		return len(b), nil // lost
	}
	msg := slices.Clone(b)
	for _, w := range s.to.raw {
		if w.v6 == r.v6 {
			w.push(datagram{data: msg, from: s.src})
		}
	}
	if reply := echoReply(r.v6, b); reply != nil {
		for _, w := range r.ns.raw {
			if w.v6 == r.v6 {
				w.push(datagram{data: reply, from: s.asked})
			}
		}
	}
	return len(b), nil
}

// echoReply is the reply a kernel sends to the ICMP message b, when it is
// an echo request, or nil.
func echoReply(v6 bool, b []byte) []byte {
	proto, reqType, replyType := 1, icmp.Type(ipv4.ICMPTypeEcho), icmp.Type(ipv4.ICMPTypeEchoReply)
	if v6 {
		proto, reqType, replyType = 58, ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply
	}
	m, err := icmp.ParseMessage(proto, b)
	if err != nil || m.Type != reqType {
		return nil
	}
	m.Type = replyType
	out, err := m.Marshal(nil)
	if err != nil {
		return nil
	}
	return out
}

func (r *rawSock) Close() error {
	r.once.Do(func() {
		r.n.mu.Lock()
		r.ns.raw = slices.DeleteFunc(r.ns.raw, func(x *rawSock) bool { return x == r })
		r.n.mu.Unlock()
		r.close()
	})
	return nil
}

func (r *rawSock) LocalAddr() net.Addr                { return &net.IPAddr{} }
func (r *rawSock) SetDeadline(t time.Time) error      { r.deadline.set(t); return nil }
func (r *rawSock) SetReadDeadline(t time.Time) error  { r.deadline.set(t); return nil }
func (r *rawSock) SetWriteDeadline(t time.Time) error { return nil }
