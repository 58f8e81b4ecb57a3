package state

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// The commands of issue 18's link settings: a bridge's STP, a bridge
// port's flags, a link's permanent neighbours.

// stpArgs are a bridge's STP arguments of `ip link add|set ... type
// bridge`: stp_state, and with STP on its timers (in hundredths of a
// second, as ip takes them) and priority.
func stpArgs(l *Link) string {
	if !l.STP {
		return " stp_state 0"
	}
	s := l.STPSettings
	if s == nil {
		return " stp_state 1"
	}
	c := func(d time.Duration) int64 { return int64(d / (10 * time.Millisecond)) }
	return fmt.Sprintf(" stp_state 1 forward_delay %d hello_time %d max_age %d priority %d", c(s.ForwardDelay), c(s.HelloTime), c(s.MaxAge), s.Priority)
}

// STPCmd sets a bridge's STP.
func STPCmd(netns string, l *Link) string {
	return ipCmd(netns) + " link set " + devArg(l.Name) + " type bridge" + stpArgs(l)
}

// PortCmd sets a bridge port's flags. all writes every flag; otherwise
// only those that differ from a new port's, and "" when none does.
func PortCmd(netns string, l *Link, all bool) string {
	if l.BridgePort == nil {
		return ""
	}
	p, d := *l.BridgePort, DefaultPortFlags
	var b strings.Builder
	flag := func(name string, v, def bool) {
		if all || v != def {
			b.WriteString(" " + name + " " + onOff(v))
		}
	}
	flag("hairpin", p.Hairpin, d.Hairpin)
	flag("isolated", p.Isolated, d.Isolated)
	flag("learning", p.Learning, d.Learning)
	flag("flood", p.Flood, d.Flood)
	flag("mcast_flood", p.McastFlood, d.McastFlood)
	flag("bcast_flood", p.BcastFlood, d.BcastFlood)
	if b.Len() == 0 {
		return ""
	}
	return ipCmd(netns) + " link set " + devArg(l.Name) + " type bridge_slave" + b.String()
}

// NeighborCmds make a link's marked neighbour entries those of l: old's
// that l does not list are deleted, l's are replaced.
func NeighborCmds(netns string, l, old *Link) []string {
	n := ipCmd(netns)
	var cmds []string
	if old != nil {
		for _, h := range old.Neighbors {
			if !slices.ContainsFunc(l.Neighbors, func(n Neighbor) bool { return n.IP == h.IP }) {
				cmds = append(cmds, fmt.Sprintf("%s neigh del %s dev %s", n, h.IP, q(l.Name)))
			}
		}
	}
	for _, nb := range l.Neighbors {
		cmds = append(cmds, fmt.Sprintf("%s neigh replace %s lladdr %s dev %s nud permanent proto %d", n, nb.IP, nb.MAC, q(l.Name), RouteProtocol))
	}
	return cmds
}

// afterAddCmds are what a new link gets after it is made and enslaved:
// its port flags, its neighbours.
func afterAddCmds(netns string, l *Link) []string {
	var cmds []string
	if c := PortCmd(netns, l, false); c != "" {
		cmds = append(cmds, c)
	}
	return append(cmds, NeighborCmds(netns, l, nil)...)
}
