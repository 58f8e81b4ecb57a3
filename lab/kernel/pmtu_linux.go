package kernel

import (
	"errors"
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// PMTUDisc is a socket's path-MTU discovery mode, ping(8)'s -M: what it
// does with a packet larger than the path's MTU.
type PMTUDisc int

// The modes of IP_MTU_DISCOVER and IPV6_MTU_DISCOVER (the same numbers
// for both families).
const (
	// PMTUDont: DF clear, the packet is fragmented on the way as needed.
	PMTUDont PMTUDisc = unix.IP_PMTUDISC_DONT
	// PMTUWant: DF set, but fragmented locally when larger than the
	// route's MTU (Linux's default).
	PMTUWant PMTUDisc = unix.IP_PMTUDISC_WANT
	// PMTUDo: DF set and never fragmented locally: a send larger than
	// the route's MTU fails with EMSGSIZE.
	PMTUDo PMTUDisc = unix.IP_PMTUDISC_DO
)

// SetPMTUDisc sets the path-MTU discovery mode of a socket of family v6
// (IPv6) or IPv4.
// Equivalent to: ping -M do|want|dont
func SetPMTUDisc(c syscall.Conn, v6 bool, mode PMTUDisc) error {
	level, opt := unix.IPPROTO_IP, unix.IP_MTU_DISCOVER
	if v6 {
		level, opt = unix.IPPROTO_IPV6, unix.IPV6_MTU_DISCOVER
	}
	return sockopt(c, func(fd int) error { return unix.SetsockoptInt(fd, level, opt, int(mode)) })
}

// SocketMTU returns the path MTU the kernel knows for a connected socket
// of family v6 (IPv6) or IPv4: the route's MTU, or a smaller one an ICMP
// "fragmentation needed" (packet too big) has taught it.
// Equivalent to: ip route get DST (its mtu, or the device's)
func SocketMTU(c syscall.Conn, v6 bool) (int, error) {
	level, opt := unix.IPPROTO_IP, unix.IP_MTU
	if v6 {
		level, opt = unix.IPPROTO_IPV6, unix.IPV6_MTU
	}
	var mtu int
	err := sockopt(c, func(fd int) error {
		var err error
		mtu, err = unix.GetsockoptInt(fd, level, opt)
		return err
	})
	return mtu, err
}

// sockopt runs fn on the socket's descriptor.
func sockopt(c syscall.Conn, fn func(fd int) error) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var opErr error
	if err := rc.Control(func(fd uintptr) { opErr = fn(int(fd)) }); err != nil {
		return err
	}
	if opErr != nil {
		return fmt.Errorf("sockopt: %w", opErr)
	}
	return nil
}

// IsMsgSize reports whether err is a send refused for its size
// (EMSGSIZE): larger than the route's MTU with DF set and no local
// fragmentation (PMTUDo).
func IsMsgSize(err error) bool { return errors.Is(err, unix.EMSGSIZE) }
