package kerneltest

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// DelLink deletes interface ifname of the namespace, as `ip link del`
// does: the packet sockets open on it fail their next read with ENETDOWN,
// as the kernel unhooks them, and ListenPacketLink no longer finds it.
func (n *Net) DelLink(netns, ifname string) {
	n.mu.Lock()
	ns := n.ns[netns]
	var lc *linkConn
	if ns != nil {
		lc = ns.links[ifname]
		delete(ns.links, ifname)
	}
	n.mu.Unlock()
	if lc == nil {
		return
	}
	for _, s := range lc.socks {
		s.mu.Lock()
		s.gone = true
		s.mu.Unlock()
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// errLinkGone is what a read on a packet socket of a deleted interface
// returns, in kernel.Linux's words.
var errLinkGone = fmt.Errorf("the interface went down or was deleted: %w", unix.ENETDOWN)
