package kernel

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// packetConn is an AF_PACKET socket that sees every frame one interface of
// a namespace sends and receives, as tcpdump's does: Linux's PacketConn.
// It is created inside the namespace and keeps it; it may be read from any
// goroutine, and Close (or a read deadline) ends a blocked read.
type packetConn struct {
	f  *os.File
	rc syscall.RawConn
}

// PacketInfo describes one frame read from a PacketConn.
type PacketInfo struct {
	Len      int  // bytes copied into the buffer
	OrigLen  int  // bytes of the frame, which may be more than Len
	Outgoing bool // sent by this interface (PACKET_OUTGOING), not received
	Time     time.Time
}

// ListenPacketLink opens a packet socket bound to the interface ifname
// inside the named namespace, for all protocols (ETH_P_ALL).
// Equivalent to: ip netns exec NETNS tcpdump -i IFNAME
func (k *Linux) ListenPacketLink(netnsName, ifname string) (PacketConn, error) {
	var fd int
	err := k.inNamed(netnsName, func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			// net's own wording ("route ip+net: no such network
			// interface") means nothing to a user.
			return fmt.Errorf("no interface %s in namespace %s", ifname, netnsName)
		}
		// Protocol 0 receives nothing until bind names the interface, so
		// no frame of another interface slips in between.
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("packet socket: %w", err)
		}
		sa := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}
		if err := unix.Bind(fd, sa); err != nil {
			unix.Close(fd)
			return fmt.Errorf("bind packet socket to %s: %w", ifname, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "packet:"+netnsName+":"+ifname)
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &packetConn{f: f, rc: rc}, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// ReadPacket reads one frame into buf. A frame longer than buf is
// truncated, and OrigLen tells its real length.
func (c *packetConn) ReadPacket(buf []byte) (PacketInfo, error) {
	var info PacketInfo
	var rerr error
	err := c.rc.Read(func(fd uintptr) bool {
		n, from, err := unix.Recvfrom(int(fd), buf, unix.MSG_TRUNC)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			return false // wait for the poller
		}
		info.Time = time.Now()
		if errors.Is(err, unix.ENETDOWN) {
			// The kernel's word for its unhooking the socket from an
			// interface that went down or was unregistered.
			rerr = fmt.Errorf("the interface went down or was deleted: %w", err)
			return true
		}
		if err != nil {
			rerr = err
			return true
		}
		info.OrigLen = n
		info.Len = min(n, len(buf))
		if ll, ok := from.(*unix.SockaddrLinklayer); ok {
			info.Outgoing = ll.Pkttype == unix.PACKET_OUTGOING
		}
		return true
	})
	if err != nil {
		return info, err
	}
	return info, rerr
}

// SetReadDeadline makes reads fail with os.ErrDeadlineExceeded after t.
func (c *packetConn) SetReadDeadline(t time.Time) error { return c.f.SetReadDeadline(t) }

// Close closes the socket; a read blocked in another goroutine returns
// an error.
func (c *packetConn) Close() error { return c.f.Close() }
