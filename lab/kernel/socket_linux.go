package kernel

import (
	"context"
	"net"
)

// A socket belongs to the namespace of the thread that created it, for its
// whole life. These helpers create sockets inside a node's namespace; the
// returned sockets may then be used from any goroutine.

// inNamed runs fn inside the named namespace.
func inNamed(netnsName string, fn func() error) error {
	fd, err := openNetNS(netnsName)
	if err != nil {
		return err
	}
	defer fd.Close()
	return InNetNS(fd, fn)
}

// ListenIn opens a stream listener (tcp) inside the named namespace.
func ListenIn(netnsName, network, address string) (net.Listener, error) {
	var l net.Listener
	err := inNamed(netnsName, func() error {
		var err error
		l, err = net.Listen(network, address)
		return err
	})
	return l, err
}

// ListenPacketIn opens a packet socket (udp, ip4:icmp, ...) inside the
// named namespace.
func ListenPacketIn(netnsName, network, address string) (net.PacketConn, error) {
	var c net.PacketConn
	err := inNamed(netnsName, func() error {
		var err error
		c, err = net.ListenPacket(network, address)
		return err
	})
	return c, err
}

// DialIn connects from inside the named namespace. The connection attempt
// itself runs on the namespace's thread, which is why ctx bounds it.
func DialIn(ctx context.Context, netnsName, network, address string) (net.Conn, error) {
	var c net.Conn
	err := inNamed(netnsName, func() error {
		var err error
		var d net.Dialer
		c, err = d.DialContext(ctx, network, address)
		return err
	})
	return c, err
}
