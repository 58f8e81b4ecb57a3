package kernel

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Listening reads the namespace's socket tables as /proc shows them to a
// thread inside it: /proc/thread-self/net/{tcp,tcp6} or {udp,udp6}.
// Those are four small text files, read on a thread InNetNS switches,
// and need nothing but the code below (sock_diag over netlink would tell
// the same in binary). A tcp socket counts in state LISTEN (0A); a udp
// one counts once bound to the port, whatever its state.
// Equivalent to: ip netns exec NETNS ss -Hln sport = :PORT
func (k *Linux) Listening(ctx context.Context, netns, proto string, port uint16) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if proto != "tcp" && proto != "udp" {
		return false, fmt.Errorf("listening: protocol %q: not tcp or udp", proto)
	}
	c, err := k.conn(netns)
	if err != nil {
		return false, err
	}
	found := false
	err = InNetNS(c.fd, func() error {
		for _, table := range []string{proto, proto + "6"} {
			data, err := os.ReadFile("/proc/thread-self/net/" + table)
			if errors.Is(err, os.ErrNotExist) {
				continue // no IPv6 in this kernel
			}
			if err != nil {
				return err
			}
			if found, err = socketOnPort(data, proto == "tcp", port); err != nil || found {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("namespace %s: read sockets: %w", netns, err)
	}
	return found, nil
}

// tcpListen is the state of a listening tcp socket in /proc/net/tcp.
const tcpListen = "0A"

// socketOnPort reads a /proc/net/{tcp,udp}[6] table: whether a socket's
// local port is port (for tcp, in state LISTEN).
func socketOnPort(table []byte, tcp bool, port uint16) (bool, error) {
	sc := bufio.NewScanner(bytes.NewReader(table))
	first := true
	for sc.Scan() {
		if first {
			first = false // the header
			continue
		}
		f := strings.Fields(sc.Text())
		if len(f) < 4 {
			continue
		}
		_, hexPort, ok := strings.Cut(f[1], ":")
		if !ok {
			return false, fmt.Errorf("socket table: local address %q", f[1])
		}
		p, err := strconv.ParseUint(hexPort, 16, 16)
		if err != nil {
			return false, fmt.Errorf("socket table: port %q: %w", hexPort, err)
		}
		if uint16(p) == port && (!tcp || f[3] == tcpListen) {
			return true, nil
		}
	}
	return false, sc.Err()
}
