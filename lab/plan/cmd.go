package plan

import (
	"fmt"
	"strings"

	"netlab/lab/state"
)

// Cmds returns the ip(8) commands that do what the change does, in order.
// They are the vocabulary shared by plan, render --format script and the
// fake kernel's transcript; netlab itself sends netlink messages.
func (c *Change) Cmds() []string {
	n := "ip -n " + c.NetNS
	switch c.Object {
	case NetNS:
		if c.Action == Delete {
			return []string{"ip netns del " + c.NetNS}
		}
		lab, node, _ := state.SplitNetNSName(c.NetNS)
		return []string{
			"ip netns add " + c.NetNS,
			fmt.Sprintf("%s link set lo alias %s up", n, state.NodeMarker(lab, node)),
		}
	case Link:
		return c.linkCmds(n)
	case Addr:
		if c.Action == Delete {
			return []string{fmt.Sprintf("%s addr del %s dev %s", n, c.Prefix, c.LinkName)}
		}
		nodad := ""
		if c.Prefix.Addr().Is6() {
			nodad = " nodad"
		}
		return []string{fmt.Sprintf("%s addr add %s dev %s%s", n, c.Prefix, c.LinkName, nodad)}
	case Route:
		if c.Action == Delete {
			return []string{fmt.Sprintf("%s route del %s", n, routeSpec(c.OldRoute))}
		}
		return []string{fmt.Sprintf("%s route replace %s proto %d", n, routeSpec(c.Route), state.RouteProtocol)}
	case Sysctl:
		return []string{fmt.Sprintf("ip netns exec %s sysctl -qw %s=%s", c.NetNS, c.Name, shellQuote(c.Value))}
	case NFTables:
		del := fmt.Sprintf("ip netns exec %s nft delete table inet %s", c.NetNS, state.NFTableName)
		if c.Action == Delete {
			return []string{del}
		}
		script := fmt.Sprintf("ip netns exec %s nft -f - <<'EOF'\n%sEOF", c.NetNS, c.NFT.Script())
		if c.Action == Update {
			// nft -f applies a file as one transaction: the delete and
			// the new table land together.
			script = fmt.Sprintf("ip netns exec %s nft -f - <<'EOF'\ndelete table inet %s\n%sEOF", c.NetNS, state.NFTableName, c.NFT.Script())
		}
		return []string{script}
	}
	return nil
}

// routeSpec is a route as ip(8) takes it; ip infers an IPv6 default
// route's family from its gateway, and a gatewayless one needs -6.
func routeSpec(r state.Route) string {
	if r.To.Bits() == 0 && r.To.Addr().Is6() && !r.Via.IsValid() {
		return "::/0" + strings.TrimPrefix(RouteText(r), "default")
	}
	return RouteText(r)
}

func (c *Change) linkCmds(n string) []string {
	if c.Action == Delete || c.Action == Replace {
		return []string{fmt.Sprintf("%s link del %s", n, c.Name)}
	}
	l := c.Link
	if c.Action == Update {
		return []string{n + " link set " + c.Name + setArgs(l, c.Attrs)}
	}
	var cmds []string
	switch l.Kind {
	case "veth":
		p := c.PeerLink
		cmds = append(cmds,
			fmt.Sprintf("%s link add %s type veth peer name %s netns %s", n, l.Name, p.Name, c.PeerNS),
			fmt.Sprintf("%s link set %s alias %s%s", n, l.Name, l.Alias, createArgs(l)),
			fmt.Sprintf("ip -n %s link set %s alias %s%s", c.PeerNS, p.Name, p.Alias, createArgs(p)),
		)
	case "bridge":
		stp := 0
		if l.STP {
			stp = 1
		}
		cmds = append(cmds,
			fmt.Sprintf("%s link add %s type bridge stp_state %d", n, l.Name, stp),
			fmt.Sprintf("%s link set %s alias %s%s", n, l.Name, l.Alias, createArgs(l)),
		)
	default:
		cmds = append(cmds,
			fmt.Sprintf("%s link add %s type %s", n, l.Name, l.Kind),
			fmt.Sprintf("%s link set %s alias %s%s", n, l.Name, l.Alias, createArgs(l)),
		)
	}
	return cmds
}

// createArgs are the `ip link set` arguments that give a new link its
// declared attributes.
func createArgs(l *state.Link) string {
	var b strings.Builder
	if l.MAC != "" {
		b.WriteString(" address " + l.MAC)
	}
	if l.MTU != 0 {
		fmt.Fprintf(&b, " mtu %d", l.MTU)
	}
	if l.Master != "" {
		b.WriteString(" master " + l.Master)
	}
	if l.Up {
		b.WriteString(" up")
	}
	return b.String()
}

// setArgs are the `ip link set` arguments of an update.
func setArgs(l *state.Link, attrs []AttrChange) string {
	var b strings.Builder
	for _, a := range attrs {
		switch a.Name {
		case "master":
			if l.Master == "" {
				b.WriteString(" nomaster")
			} else {
				b.WriteString(" master " + l.Master)
			}
		case "mtu":
			fmt.Fprintf(&b, " mtu %d", l.MTU)
		case "mac":
			b.WriteString(" address " + l.MAC)
		case "stp":
			stp := 0
			if l.STP {
				stp = 1
			}
			fmt.Fprintf(&b, " type bridge stp_state %d", stp)
		case "alias":
			b.WriteString(" alias " + l.Alias)
		case "up":
			if l.Up {
				b.WriteString(" up")
			} else {
				b.WriteString(" down")
			}
		}
	}
	return b.String()
}

// shellQuote quotes a value for sh when it needs it.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t'\"\\$`;&|<>()*?[]{}~!#") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
