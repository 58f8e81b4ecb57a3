package check

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"

	"netlab/lab/kernel"
)

// Reasons a probe did not get through. Each starts with what a network
// engineer would say and goes on with the detail.
const (
	ReasonNoRoute     = "no route"
	ReasonNoARP       = "no ARP reply"
	ReasonRefused     = "refused"
	ReasonTimeout     = "timed out"
	ReasonFirewall    = "blocked by a firewall"
	ReasonUnreachable = "unreachable"
	// ReasonTooBig: a packet with DF set is larger than the MTU of the
	// route (refused by the sender's own kernel) or of a link on the way
	// (an ICMP "fragmentation needed" or "packet too big" came back).
	ReasonTooBig = "too big"
	// ReasonElsewhere: the probe reached another check's responder, or
	// (ICMP) a node other than the one the check names answered it.
	ReasonElsewhere = "went elsewhere"
	// ReasonNotNetlab: something answered that is not netlab's responder.
	ReasonNotNetlab = "not netlab's responder"
	// ReasonStatus: an http check's server answered with a status that
	// is not 2xx or 3xx.
	ReasonStatus = "bad status"
)

// classify turns the error of a send, connect or read from node into a
// reason. An unreachable error may come from the node's own kernel or
// from an ICMP error a router sent back; the node's routing table and
// neighbour entry tell the two apart.
func classify(ns kernel.NetNS, labName, node string, dst netip.Addr, err error) string {
	switch {
	case errors.Is(err, syscall.ENETUNREACH):
		if hop, herr := ns.NextHop(netns(labName, node), dst); herr == nil && hop.Gateway.IsValid() {
			return fmt.Sprintf("%s to %s beyond %s (a router on the way reported network unreachable)", ReasonNoRoute, dst, hop.Gateway)
		}
		return fmt.Sprintf("%s to %s from node %s", ReasonNoRoute, dst, node)
	case errors.Is(err, syscall.EHOSTUNREACH):
		if hop, herr := ns.NextHop(netns(labName, node), dst); herr == nil && hop.Gateway.IsValid() && hop.Neigh != "incomplete" && hop.Neigh != "failed" {
			return fmt.Sprintf("%s for %s beyond %s (a router on the way reported host unreachable)", ReasonNoARP, dst, hop.Gateway)
		}
		return fmt.Sprintf("%s for %s from node %s (host unreachable)", ReasonNoARP, dst, node)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("%s by %s (nothing listens there, or a firewall rejects)", ReasonRefused, dst)
	case errors.Is(err, syscall.EPERM), errors.Is(err, syscall.EACCES):
		return fmt.Sprintf("%s in node %s (its output rules dropped the packet)", ReasonFirewall, node)
	}
	return err.Error()
}

// isTimeout reports whether err is a deadline passing.
func isTimeout(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, errTimeout) ||
		errors.Is(err, syscall.ETIMEDOUT) || errors.Is(err, context.DeadlineExceeded)
}

// timeoutReason explains a probe that got no answer within d, from what
// the source node's kernel knows: whether it still has a route, and
// whether the next hop answered ARP.
func timeoutReason(ns kernel.NetNS, labName, node string, dst netip.Addr, d time.Duration) string {
	hop, err := ns.NextHop(netns(labName, node), dst)
	if err != nil {
		if kernel.IsNoRoute(err) {
			return fmt.Sprintf("%s to %s from node %s", ReasonNoRoute, dst, node)
		}
		return fmt.Sprintf("%s after %s", ReasonTimeout, d)
	}
	next := dst
	if hop.Gateway.IsValid() {
		next = hop.Gateway
	}
	proto := "ARP"
	if next.Is6() {
		proto = "neighbour"
	}
	switch hop.Neigh {
	case "incomplete", "failed":
		return fmt.Sprintf("%s: %s for %s sent on %s from node %s, no reply (host unreachable)", ReasonNoARP, proto, next, hop.Dev, node)
	}
	via := "on-link on " + hop.Dev
	if hop.Gateway.IsValid() {
		via = "via " + hop.Gateway.String() + " dev " + hop.Dev
	}
	return fmt.Sprintf("%s after %s (node %s sends it %s; dropped further on, or no way back)", ReasonTimeout, d, node, via)
}

// icmpReason explains an ICMP error a router (or the node itself) sent
// back about the probe.
func icmpReason(from netip.Addr, m *icmpMsg) string {
	what := m.describe()
	v4, v6 := m.isUnreachable() && !m.v6, m.isUnreachable() && m.v6
	switch {
	case v4 && m.code == 4, m.isPacketTooBig():
		mtu := ""
		if m.mtu > 0 {
			mtu = fmt.Sprintf(", mtu=%d", m.mtu)
		}
		return fmt.Sprintf("%s: %s reports %s%s (a link after it has a smaller MTU than the packet, which may not be fragmented)", ReasonTooBig, from, what, mtu)
	case v4 && m.code == 0, v6 && m.code == 0:
		return fmt.Sprintf("%s at %s (%s)", ReasonNoRoute, from, what)
	case v4 && m.code == 1, v6 && m.code == 3:
		return fmt.Sprintf("%s: %s reports %s", ReasonNoARP, from, what)
	case v4 && m.code == 3, v6 && m.code == 4:
		return fmt.Sprintf("%s: %s reports %s", ReasonRefused, from, what)
	case v4 && (m.code == 9 || m.code == 10 || m.code == 13), v6 && m.code == 1:
		return fmt.Sprintf("%s: %s reports %s", ReasonFirewall, from, what)
	}
	return fmt.Sprintf("%s: %s reports %s", ReasonUnreachable, from, what)
}
