package state

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// STPSettings are a bridge's spanning-tree timers and priority, compared
// (and set) with STP under AttrSTP when STP is on.
type STPSettings struct {
	ForwardDelay time.Duration
	HelloTime    time.Duration
	MaxAge       time.Duration
	Priority     uint16
}

func (s STPSettings) String() string {
	return fmt.Sprintf("forward-delay %s hello-time %s max-age %s priority %d", s.ForwardDelay, s.HelloTime, s.MaxAge, s.Priority)
}

// PortFlags are the flags of a bridge port (IFLA_BRPORT_*) that netlab
// manages. DefaultPortFlags are the kernel's for a new port.
type PortFlags struct {
	Hairpin    bool `json:"hairpin"`
	Isolated   bool `json:"isolated"`
	Learning   bool `json:"learning"`
	Flood      bool `json:"flood"`
	McastFlood bool `json:"mcast_flood"`
	BcastFlood bool `json:"bcast_flood"`
}

// DefaultPortFlags are the flags the kernel gives a new bridge port.
var DefaultPortFlags = PortFlags{Learning: true, Flood: true, McastFlood: true, BcastFlood: true}

// String lists the flags as `bridge link` names them, on or off.
func (p PortFlags) String() string {
	return fmt.Sprintf("hairpin %s isolated %s learning %s flood %s mcast-flood %s bcast-flood %s",
		onOff(p.Hairpin), onOff(p.Isolated), onOff(p.Learning), onOff(p.Flood), onOff(p.McastFlood), onOff(p.BcastFlood))
}

// onOff writes a port flag as ip and bridge take it.
func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// The STP states of a bridge port, as `bridge link` prints them
// (BR_STATE_*, in the kernel's order).
var PortStates = []string{"disabled", "listening", "learning", "forwarding", "blocking"}

// PortStateName names a BR_STATE_* value.
func PortStateName(v int) string {
	if v >= 0 && v < len(PortStates) {
		return PortStates[v]
	}
	return fmt.Sprintf("state%d", v)
}

// Settled reports whether a port's STP state is one the tree stays in:
// forwarding or blocking (or disabled, a port that is down).
func Settled(portState string) bool {
	return portState == "forwarding" || portState == "blocking" || portState == "disabled"
}

// Neighbor is a permanent neighbour entry (ARP or NDP) of a link.
type Neighbor struct {
	IP  netip.Addr
	MAC string
}

func (n Neighbor) String() string { return n.IP.String() + " lladdr " + n.MAC }

// SortNeighbors orders neighbour entries by address.
func SortNeighbors(ns []Neighbor) {
	slices.SortFunc(ns, func(a, b Neighbor) int {
		if c := a.IP.Compare(b.IP); c != 0 {
			return c
		}
		return strings.Compare(a.MAC, b.MAC)
	})
}
