package kerneltest

import (
	"context"
	"fmt"
	"slices"

	"golang.org/x/sys/unix"

	"netlab/lab/device"
	"netlab/lab/state"
)

// The fake's bridge STP, port flags and neighbour entries (issue 18). It
// runs no spanning tree: a port of a bridge is forwarding when it and its
// bridge are up, disabled otherwise.

var defaultSTP = state.STPSettings{ForwardDelay: 15e9, HelloTime: 2e9, MaxAge: 20e9, Priority: 32768}

// checkBridgeSet refuses what the kernel refuses: STP of a link that is
// no bridge, port flags of a link that is no bridge port.
func checkBridgeSet(fl *fakeLink, l *state.Link, a state.LinkAttr) error {
	switch {
	case a == state.AttrSTP && fl.kind != device.Bridge:
		return fmt.Errorf("link %s: stp_state on a %s: %w", l.Name, fl.kind, unix.EOPNOTSUPP)
	case a == state.AttrPort && fl.master == 0 && l.Master == "":
		return fmt.Errorf("link %s: port flags of a link that is no bridge port: %w", l.Name, unix.EOPNOTSUPP)
	}
	return nil
}

// setBridgeLocked copies the attributes attrs names from l.
func setBridgeLocked(fl *fakeLink, l *state.Link, attrs []state.LinkAttr) {
	for _, a := range attrs {
		switch a {
		case state.AttrSTP:
			fl.stp = l.STP
			if l.STP && l.STPSettings != nil {
				s := *l.STPSettings
				fl.stpSettings = &s
			}
		case state.AttrPort:
			if l.BridgePort != nil {
				fl.port = *l.BridgePort
			}
		case state.AttrNeighbors:
			fl.neighbors = slices.Clone(l.Neighbors)
		}
	}
}

// observeBridge reads what kernel.Linux's observer reads of a bridge or
// a bridge port, and a link's marked neighbour entries.
func observeBridge(ns *fakeNetNS, fl *fakeLink, l *state.Link, oper string) {
	if fl.kind == device.Bridge {
		s := defaultSTP
		if fl.stpSettings != nil {
			s = *fl.stpSettings
		}
		l.STPSettings = &s
	}
	if m := ns.links[fl.master]; m != nil && m.kind == device.Bridge {
		p := fl.port
		l.BridgePort = &p
		l.PortState = "disabled"
		if oper == "up" && m.up {
			l.PortState = "forwarding"
		}
	}
	l.Neighbors = slices.Clone(fl.neighbors)
	state.SortNeighbors(l.Neighbors)
}

// NeighReplace adds or replaces a permanent neighbour entry.
func (f *Fake) NeighReplace(ctx context.Context, netns, link string, n state.Neighbor) error {
	return f.neigh(ctx, "NeighReplace", netns, link, func(fl *fakeLink) {
		fl.neighbors = slices.DeleteFunc(fl.neighbors, func(x state.Neighbor) bool { return x.IP == n.IP })
		fl.neighbors = append(fl.neighbors, n)
		state.SortNeighbors(fl.neighbors)
	})
}

// NeighDel removes a neighbour entry; one already gone is not an error.
func (f *Fake) NeighDel(ctx context.Context, netns, link string, n state.Neighbor) error {
	return f.neigh(ctx, "NeighDel", netns, link, func(fl *fakeLink) {
		fl.neighbors = slices.DeleteFunc(fl.neighbors, func(x state.Neighbor) bool { return x.IP == n.IP })
	})
}

func (f *Fake) neigh(ctx context.Context, method, netns, link string, change func(*fakeLink)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.beginLocked(ctx, method); err != nil {
		return err
	}
	ns, err := f.netnsLocked(netns)
	if err != nil {
		return err
	}
	fl := ns.byName(link)
	if fl == nil {
		return fmt.Errorf("link %s: %w", link, unix.ENODEV)
	}
	if fl.kind == device.Tun || fl.kind == device.Loopback {
		return fmt.Errorf("neighbor on %s %s: %w", fl.kind, link, unix.EINVAL)
	}
	change(fl)
	return nil
}
