package check

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
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
// check's does. A probe to an address is sent as is, wherever a NAT
// rule takes it: ICMP echo as a ping (answered by whichever kernel it
// reaches), TCP as a connect (answered by whatever listens there); UDP
// needs a responder, so the address must be a node's, which starts one
// (to: with address:). Every error names what to give instead, with the
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
		return nil, fmt.Errorf("lab %s has no node %q (nodes: %s)", l.Name, from, nodeNames(l))
	}
	c := &lab.Check{From: from, Proto: proto, Port: port, Expect: lab.ExpectOK, Timeout: timeout}
	a, err := netip.ParseAddr(target)
	if err != nil {
		if l.Node(target) == nil {
			return nil, fmt.Errorf("%q is neither an address nor a node of lab %s (nodes: %s)", target, l.Name, nodeNames(l))
		}
		if _, ok := l.FirstAddr(target); !ok {
			return nil, fmt.Errorf("node %s has no address in the lab file: trace to an address", target)
		}
		c.To = target
		return c, nil
	}
	a = a.Unmap()
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

// nodeNames lists l's nodes, sorted.
func nodeNames(l *lab.Lab) string {
	names := make([]string, 0, len(l.Nodes))
	for _, n := range l.Nodes {
		names = append(names, n.Name)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
