package kerneltest

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"netlab/lab/device"
	"netlab/lab/state"
)

// Seed's vocabulary for issue 18, as lab/state's cmd_bridge.go writes it:
//
//	ip -n NETNS link add NAME type bridge stp_state 1 [forward_delay CS] [hello_time CS] [max_age CS] [priority P]
//	ip -n NETNS link set DEV type bridge stp_state 0|1 [forward_delay CS] ...
//	ip -n NETNS link set DEV type bridge_slave [hairpin on|off] [isolated ...] [learning ...] [flood ...] [mcast_flood ...] [bcast_flood ...]
//	ip -n NETNS neigh add|replace IP lladdr MAC dev DEV [nud permanent] [proto P]
//	ip -n NETNS neigh del IP dev DEV
//
// A neighbour added by hand without proto 78 is not netlab's: the fake
// keeps it apart (handNeighbors), and Observe, as kernel.Linux's, does
// not list it.

// bridgeSlave is ip's word for a bridge port's options: no device kind.
const bridgeSlave = "bridge_slave"

// stpTimer reads one of a bridge's STP arguments into s; ok is false for
// a keyword that is none.
func stpTimer(s *state.STPSettings, kw, v string) (ok bool, err error) {
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		return true, fmt.Errorf("%s %q: %w", kw, v, unix.EINVAL)
	}
	cs := time.Duration(n) * 10 * time.Millisecond
	switch kw {
	case "forward_delay":
		s.ForwardDelay = cs
	case "hello_time":
		s.HelloTime = cs
	case "max_age":
		s.MaxAge = cs
	case "priority":
		if n > math.MaxUint16 {
			return true, fmt.Errorf("priority %q: %w", v, unix.ERANGE)
		}
		s.Priority = uint16(n)
	default:
		return false, nil
	}
	return true, nil
}

// handBridgeSet reads the rest of `ip link set DEV type bridge ...`.
func handBridgeSet(fl *fakeLink, w words) error {
	if fl.kind != device.Bridge {
		return fmt.Errorf("link %s is a %s: %w", fl.name, fl.kind, unix.EOPNOTSUPP)
	}
	s := defaultSTP
	if fl.stpSettings != nil {
		s = *fl.stpSettings
	}
	err := w.eachPair(func(kw, v string) error {
		if kw == "stp_state" {
			fl.stp = v != "0"
			return nil
		}
		if ok, err := stpTimer(&s, kw, v); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("link set type bridge: unknown argument %q", kw)
		}
		return nil
	})
	if err != nil {
		return err
	}
	fl.stpSettings = &s
	return nil
}

// handBridgeSlaveSet reads the rest of `ip link set DEV type bridge_slave ...`.
func handBridgeSlaveSet(ns *fakeNetNS, fl *fakeLink, w words) error {
	if m := ns.links[fl.master]; m == nil || m.kind != device.Bridge {
		return fmt.Errorf("link %s is no bridge port: %w", fl.name, unix.EOPNOTSUPP)
	}
	flags := map[string]*bool{"hairpin": &fl.port.Hairpin, "isolated": &fl.port.Isolated, "learning": &fl.port.Learning,
		"flood": &fl.port.Flood, "mcast_flood": &fl.port.McastFlood, "bcast_flood": &fl.port.BcastFlood}
	p := fl.port
	return w.eachPair(func(kw, v string) error {
		dst := flags[kw]
		if dst == nil || (v != "on" && v != "off") {
			fl.port = p
			return fmt.Errorf("link set type bridge_slave: %s %s: %w", kw, v, unix.EINVAL)
		}
		*dst = v == "on"
		return nil
	})
}

// handNeigh runs `ip neigh add|replace|del`.
func handNeigh(ns *fakeNetNS, verb string, w words) error {
	ipText, ok := w.next()
	if !ok {
		return errors.New("neigh needs an address")
	}
	ip, err := netip.ParseAddr(ipText)
	if err != nil {
		return fmt.Errorf("neigh %q: %w", ipText, unix.EINVAL)
	}
	var mac, dev string
	proto := 0
	err = w.eachPair(func(kw, v string) error {
		var err error
		switch kw {
		case "lladdr":
			if mac, err = normalMAC(v); err != nil {
				return err
			}
		case "dev":
			dev = v
		case "nud":
			if v != "permanent" {
				return fmt.Errorf("neigh nud %s: only permanent is understood", v)
			}
		case "proto":
			if proto, err = strconv.Atoi(v); err != nil {
				return fmt.Errorf("proto %q: %w", v, unix.EINVAL)
			}
		default:
			return fmt.Errorf("neigh: unknown argument %q", kw)
		}
		return nil
	})
	if err != nil {
		return err
	}
	fl := ns.byName(dev)
	if fl == nil {
		return fmt.Errorf("neigh dev %q: %w", dev, unix.ENODEV)
	}
	n := state.Neighbor{IP: ip, MAC: mac}
	had := fl.dropNeighbor(ip)
	switch verb {
	case "del", "delete":
		if !had {
			return fmt.Errorf("neigh %s: %w", ip, unix.ENOENT)
		}
	case "add", "replace":
		if mac == "" {
			return fmt.Errorf("neigh %s needs lladdr: %w", ip, unix.EINVAL)
		}
		if verb == "add" && had {
			return fmt.Errorf("neigh %s: %w", ip, unix.EEXIST)
		}
		if proto == state.RouteProtocol {
			fl.neighbors = append(fl.neighbors, n)
			state.SortNeighbors(fl.neighbors)
		} else {
			fl.handNeighbors = append(fl.handNeighbors, n)
		}
	default:
		return fmt.Errorf("unknown neigh command %q", verb)
	}
	return nil
}

// dropNeighbor removes the entry for ip, netlab's or one by hand, and
// reports whether there was one.
func (fl *fakeLink) dropNeighbor(ip netip.Addr) bool {
	had := false
	keep := func(list []state.Neighbor) []state.Neighbor {
		out := list[:0]
		for _, n := range list {
			if n.IP == ip {
				had = true
				continue
			}
			out = append(out, n)
		}
		return out
	}
	fl.neighbors = keep(fl.neighbors)
	fl.handNeighbors = keep(fl.handNeighbors)
	return had
}
