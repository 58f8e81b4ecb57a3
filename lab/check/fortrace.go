package check

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"netlab/lab"
)

// MaxTraceTimeout bounds a traced probe's timeout, as a check's is.
const MaxTraceTimeout = time.Minute

// ForTrace is the check whose probe a trace from node from to target
// sends (netlab trace, the TUI's trace page): proto icmp, tcp or udp,
// to port (tcp, udp; 0 for icmp), waiting timeout (0: a check's
// default). A probe to a node goes to a responder there (to:), as a
// check's does, but for a TCP port a program of the node's (run:)
// listens on, as its ready: says: that program has the port, so the
// probe connects to the node's address and the program answers. A tcp
// or udp probe to an address and port that one DNAT rule of the lab
// sends to the same port of one node gets its responder there (as the
// lab's own check of a published port does), unless a program of that
// node listens there (TCP then connects, the program answers).
// Any other probe to an address is sent as is, wherever a NAT rule
// takes it: ICMP echo as a ping (answered by whichever kernel it
// reaches), TCP as a connect (answered by whatever listens there); UDP
// needs a responder, so the address must be a node's, which starts one
// (to: with address:). An address with a zone (fe80::1%eth0) is
// refused. Every error names what to give instead, with the
// lab's nodes when a name is not one.
func ForTrace(l *lab.Lab, from, target, proto string, port uint16, timeout time.Duration) (*lab.Check, error) {
	switch proto {
	case "icmp":
		if port != 0 {
			return nil, errors.New("an ICMP echo has no port: give a port with tcp or udp only")
		}
	case "tcp", "udp":
		if port == 0 {
			return nil, fmt.Errorf("a %s probe needs a port, 1 to 65535", proto)
		}
	default:
		return nil, fmt.Errorf("unknown protocol %q: use icmp, tcp or udp", proto)
	}
	switch {
	case timeout == 0:
		timeout = lab.DefaultCheckTimeout
	case timeout < 0 || timeout > MaxTraceTimeout:
		return nil, fmt.Errorf("timeout must be more than 0 and at most %s, got %s", MaxTraceTimeout, timeout)
	}
	if l.Node(from) == nil {
		return nil, fmt.Errorf("lab %s has no node %q (nodes: %s)", l.Name, from, strings.Join(l.NodeNames(), ", "))
	}
	c := &lab.Check{From: from, Proto: proto, Port: port, Expect: lab.ExpectOK, Timeout: timeout}
	a, err := netip.ParseAddr(target)
	if err != nil {
		if l.Node(target) == nil {
			return nil, fmt.Errorf("%q is neither an address nor a node of lab %s (nodes: %s)", target, l.Name, strings.Join(l.NodeNames(), ", "))
		}
		if _, ok := l.FirstAddr(target); !ok {
			return nil, fmt.Errorf("node %s has no address in the lab file: trace to an address", target)
		}
		if proto == "tcp" && listens(l.Node(target), port) {
			a, _ := l.FirstAddr(target)
			c.Connect = netip.AddrPortFrom(a, port)
			return c, nil
		}
		c.To = target
		return c, nil
	}
	if a.Zone() != "" {
		// The route in the node picks the interface, so a zone would be
		// silently ignored; a lab file's ping: refuses one too.
		return nil, fmt.Errorf("address %q must not carry a zone: leave out the %%ZONE part (the node's routes choose the interface)", target)
	}
	a = a.Unmap()
	if proto != "icmp" {
		// Only a DNAT that keeps the port: the responder stands in for
		// the service the published port names. One that changes it may
		// be the lab's fault to find (exercise 06: published to 8080,
		// the service is on 80), which a responder there would hide.
		if node, listen, ok := dnatTarget(l, proto, a, port); ok && listen == port && !(proto == "tcp" && listens(l.Node(node), port)) {
			c.To, c.Address = node, a
			return c, nil
		}
	}
	switch owner := AddrOwner(l, a); {
	case proto == "icmp":
		c.Ping = a
	case proto == "tcp":
		c.Connect = netip.AddrPortFrom(a, port)
	case owner != "":
		c.To, c.Address = owner, a
	default:
		return nil, fmt.Errorf("no node of lab %s has %s, so no responder can answer a udp probe there: trace to a node, or with icmp or tcp", l.Name, a)
	}
	return c, nil
}

// dnatTarget is the node, and its port, that a DNAT rule of the lab
// sends proto packets for a:port to: the one rule of any node that
// matches them (its proto and dport, its destination or, with none, a
// node's own address a) with a single target, which a node owns. A
// rule with several targets (spread at random) or two rules that match
// leave it unknown (ok false): the probe is then sent as is.
func dnatTarget(l *lab.Lab, proto string, a netip.Addr, port uint16) (node string, listen uint16, ok bool) {
	found := 0
	for _, n := range l.Nodes {
		for _, r := range n.NAT {
			if r.Action != "dnat" || (r.Proto != "" && r.Proto != proto) || (r.DPort != 0 && r.DPort != port) {
				continue
			}
			if r.Destination.IsValid() && !r.Destination.Contains(a) || !r.Destination.IsValid() && AddrOwner(l, a) != n.Name {
				continue
			}
			found++
			to, toPort := r.ToAddr, r.ToPort
			if len(r.Targets) == 1 {
				to, toPort = r.Targets[0].Addr(), r.Targets[0].Port()
			}
			if owner := AddrOwner(l, to); to.IsValid() && owner != "" {
				node, listen = owner, cmp.Or(toPort, port)
			} else {
				node = ""
			}
		}
	}
	return node, listen, found == 1 && node != ""
}

// listens reports whether a program the node runs listens on TCP port,
// as its ready: says.
func listens(n *lab.Node, port uint16) bool {
	for _, p := range n.Run {
		if p.Ready != nil && p.Ready.Proto == "tcp" && p.Ready.Port == port {
			return true
		}
	}
	return false
}

// AddrOwner is the node of l with address a on an interface, or "".
func AddrOwner(l *lab.Lab, a netip.Addr) string {
	for _, n := range l.Nodes {
		for _, i := range n.Interfaces {
			for _, p := range i.Addresses {
				if p.Prefix.Addr() == a {
					return n.Name
				}
			}
		}
	}
	return ""
}
