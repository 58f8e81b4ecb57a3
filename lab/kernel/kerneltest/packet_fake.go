package kerneltest

import (
	"fmt"
	"net"
	"os"
	"slices"
	"sync"
	"time"

	"netlab/lab/kernel"
)

// linkConn is an interface of a fake namespace that frames can be
// captured on: the packet sockets open on it.
type linkConn struct {
	socks []*packetSock
}

// AddLink makes interface ifname in the namespace, for ListenPacketLink.
func (n *Net) AddLink(netns, ifname string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if ns := n.ns[netns]; ns != nil && ns.links[ifname] == nil {
		ns.links[ifname] = &linkConn{}
	}
}

// SendFrame hands the frame to every packet socket open on the interface,
// as sent by it (outgoing) or received, at time at.
func (n *Net) SendFrame(netns, ifname string, frame []byte, outgoing bool, at time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	ns := n.ns[netns]
	if ns == nil || ns.links[ifname] == nil {
		return
	}
	for _, s := range ns.links[ifname].socks {
		s.push(frameInfo{data: slices.Clone(frame), outgoing: outgoing, at: at})
	}
}

// ListenPacketLink opens a packet socket on an interface made by AddLink.
// A missing interface fails as the real one does, naming it.
func (n *Net) ListenPacketLink(netns, ifname string) (kernel.PacketConn, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	ns, err := n.nsLocked(netns)
	if err != nil {
		return nil, err
	}
	lc := ns.links[ifname]
	if lc == nil {
		return nil, fmt.Errorf("no interface %s in namespace %s", ifname, netns)
	}
	s := &packetSock{n: n, link: lc, wake: make(chan struct{}, 1)}
	lc.socks = append(lc.socks, s)
	return s, nil
}

type frameInfo struct {
	data     []byte
	outgoing bool
	at       time.Time
}

// packetSock is a fake packet socket: the frames given to SendFrame.
type packetSock struct {
	n        *Net
	link     *linkConn
	mu       sync.Mutex
	q        []frameInfo
	closed   bool
	gone     bool // its interface was deleted (DelLink)
	wake     chan struct{}
	deadline deadline
	once     sync.Once
}

func (s *packetSock) push(f frameInfo) {
	s.mu.Lock()
	s.q = append(s.q, f)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// ReadPacket reads one frame into buf, truncated to it as the real
// socket's is (MSG_TRUNC: OrigLen is the frame's length).
func (s *packetSock) ReadPacket(buf []byte) (kernel.PacketInfo, error) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return kernel.PacketInfo{}, net.ErrClosed
		}
		if s.gone && len(s.q) == 0 {
			s.mu.Unlock()
			return kernel.PacketInfo{}, errLinkGone
		}
		if len(s.q) > 0 {
			f := s.q[0]
			s.q = s.q[1:]
			s.mu.Unlock()
			n := copy(buf, f.data)
			return kernel.PacketInfo{Len: n, OrigLen: len(f.data), Outgoing: f.outgoing, Time: f.at}, nil
		}
		s.mu.Unlock()
		select {
		case <-s.wake:
		case <-s.deadline.wait():
			if s.deadline.passed() {
				return kernel.PacketInfo{}, fmt.Errorf("read packet: %w", os.ErrDeadlineExceeded)
			}
		}
	}
}

func (s *packetSock) SetReadDeadline(t time.Time) error { s.deadline.set(t); return nil }

func (s *packetSock) Close() error {
	s.once.Do(func() {
		s.n.mu.Lock()
		s.link.socks = slices.DeleteFunc(s.link.socks, func(x *packetSock) bool { return x == s })
		s.n.mu.Unlock()
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.deadline.set(time.Now())
	})
	return nil
}
