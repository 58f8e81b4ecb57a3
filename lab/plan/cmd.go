package plan

import (
	"fmt"
	"slices"
	"strings"

	"netlab/lab/state"
)

// Cmds returns the ip(8) commands that do what the change does, in order.
// They are the vocabulary shared by plan, render --format script and the
// fake kernel's transcript; netlab itself sends netlink messages.
func (c *Change) Cmds() []string {
	n := ipCmd(c.NetNS)
	switch c.Object {
	case NetNS:
		if c.Action == Delete {
			return []string{"ip netns del " + c.NetNS}
		}
		lab, node, _ := state.SplitNetNSName(c.NetNS)
		cmds := []string{"ip netns add " + c.NetNS}
		for _, sc := range state.NetNSSysctls {
			cmds = append(cmds, fmt.Sprintf("%ssysctl -qw %s=%s", inNS(c.NetNS), sc.Key, shellQuote(sc.Value)))
		}
		return append(cmds, fmt.Sprintf("%s link set lo alias %s up", n, state.NodeMarker(lab, node)))
	case Link:
		return c.linkCmds(n)
	case Addr:
		if c.Action == Delete {
			return []string{fmt.Sprintf("%s addr del %s dev %s", n, c.Prefix, q(c.LinkName))}
		}
		nodad := ""
		if c.Prefix.Addr().Is6() {
			nodad = " nodad"
		}
		return []string{fmt.Sprintf("%s addr add %s dev %s%s", n, c.Prefix, q(c.LinkName), nodad)}
	case Route:
		if c.Action == Delete {
			return []string{fmt.Sprintf("%s route del %s", n, routeSpec(c.OldRoute))}
		}
		return []string{fmt.Sprintf("%s route replace %s proto %d", n, routeSpec(c.Route), state.RouteProtocol)}
	case Sysctl:
		return []string{fmt.Sprintf("%ssysctl -qw %s=%s", inNS(c.NetNS), c.Name, shellQuote(c.Value))}
	case NFTables:
		del := fmt.Sprintf("%snft delete table inet %s", inNS(c.NetNS), state.NFTableName)
		if c.Action == Delete {
			return []string{del}
		}
		script := fmt.Sprintf("%snft -f - <<'EOF'\n%sEOF", inNS(c.NetNS), c.NFT.Script())
		if c.Action == Update {
			// nft -f applies a file as one transaction: the delete and
			// the new table land together.
			script = fmt.Sprintf("%snft -f - <<'EOF'\ndelete table inet %s\n%sEOF", inNS(c.NetNS), state.NFTableName, c.NFT.Script())
		}
		return []string{script}
	}
	return nil
}

// routeSpec is a route as ip(8) takes it; ip infers an IPv6 default
// route's family from its gateway, and a gatewayless one needs -6.
func routeSpec(r state.Route) string {
	if r.Dev != "" {
		r.Dev = q(r.Dev) // a shell word
	}
	if r.To.Bits() == 0 && r.To.Addr().Is6() && !r.Via.IsValid() {
		return "::/0" + strings.TrimPrefix(RouteText(r), "default")
	}
	return RouteText(r)
}

func (c *Change) linkCmds(n string) []string {
	if c.Action == Delete || c.Action == Replace {
		return []string{fmt.Sprintf("%s link del %s", n, devArg(c.Name))}
	}
	l := c.Link
	if c.Action == Update {
		var cmds []string
		if args := setArgs(l, c.Attrs); args != "" {
			cmds = append(cmds, n+" link set "+devArg(c.Name)+args)
		}
		for _, a := range c.Attrs {
			switch a.Name {
			case "source-macs":
				cmds = append(cmds, fmt.Sprintf("%s link set %s type macvlan macaddr set%s", n, devArg(c.Name), listArgs(l.SourceMACs)))
			case "fdb":
				for _, e := range c.OldLink.FDB {
					if !slices.Contains(l.FDB, e) {
						cmds = append(cmds, fmt.Sprintf("%s fdb del %s dev %s dst %s", bridgeCmd(c.NetNS), e.MAC, q(l.Name), e.Dst))
					}
				}
				cmds = append(cmds, fdbCmds(c.NetNS, l, c.OldLink.FDB)...)
			}
		}
		return cmds
	}
	var cmds []string
	switch l.Kind {
	case "veth":
		p := c.PeerLink
		cmds = append(cmds,
			fmt.Sprintf("%s link add %s type veth peer name %s netns %s", n, nameArg(l.Name), q(p.Name), netnsArg(c.PeerNS)),
			fmt.Sprintf("%s link set %s alias %s%s", n, devArg(l.Name), q(l.Alias), createArgs(l)),
			fmt.Sprintf("%s link set %s alias %s%s", ipCmd(c.PeerNS), devArg(p.Name), q(p.Alias), createArgs(p)),
		)
	case "bridge":
		stp := 0
		if l.STP {
			stp = 1
		}
		cmds = append(cmds,
			fmt.Sprintf("%s link add %s type bridge stp_state %d", n, nameArg(l.Name), stp),
			fmt.Sprintf("%s link set %s alias %s%s", n, devArg(l.Name), q(l.Alias), createArgs(l)),
		)
	case "macvlan":
		_, parent, _ := strings.Cut(l.Parent, ":")
		pn := n
		netns := ""
		if l.ParentNetNS != "" && l.ParentNetNS != c.NetNS {
			// Made on the parent, straight into the node that lists it.
			pn, netns = ipCmd(l.ParentNetNS), " netns "+netnsArg(c.NetNS)
		}
		cmds = append(cmds, fmt.Sprintf("%s link add %s link %s%s type macvlan mode %s", pn, nameArg(l.Name), q(parent), netns, l.Mode))
		if len(l.SourceMACs) > 0 {
			cmds = append(cmds, fmt.Sprintf("%s link set %s type macvlan macaddr set%s", n, devArg(l.Name), listArgs(l.SourceMACs)))
		}
		cmds = append(cmds, fmt.Sprintf("%s link set %s alias %s%s", n, devArg(l.Name), q(l.Alias), createArgs(l)))
	case "vxlan":
		var b strings.Builder
		fmt.Fprintf(&b, "%s link add %s type vxlan id %d", n, nameArg(l.Name), l.VNI)
		if l.Remote.IsValid() {
			b.WriteString(" remote " + l.Remote.String())
		}
		if l.Group.IsValid() {
			b.WriteString(" group " + l.Group.String())
		}
		if l.Local.IsValid() {
			b.WriteString(" local " + l.Local.String())
		}
		if l.Dev != "" {
			b.WriteString(" dev " + q(l.Dev))
		}
		fmt.Fprintf(&b, " dstport %d", l.Port)
		if !l.Learning {
			b.WriteString(" nolearning")
		}
		cmds = append(cmds, b.String())
		var made []state.FDBEntry // the kernel makes its own entry with the vxlan
		if e, ok := l.KernelFDB(); ok {
			made = append(made, e)
		}
		cmds = append(cmds, fdbCmds(c.NetNS, l, made)...)
		cmds = append(cmds, fmt.Sprintf("%s link set %s alias %s%s", n, devArg(l.Name), q(l.Alias), createArgs(l)))
	case "tun", "tap":
		var b strings.Builder
		fmt.Fprintf(&b, "%s tuntap add dev %s mode %s", n, q(l.Name), l.Kind)
		if l.TunOwner != nil {
			fmt.Fprintf(&b, " user %d", *l.TunOwner)
		}
		if l.TunGroup != nil {
			fmt.Fprintf(&b, " group %d", *l.TunGroup)
		}
		cmds = append(cmds, b.String(), fmt.Sprintf("%s link set %s alias %s%s", n, devArg(l.Name), q(l.Alias), createArgs(l)))
	default:
		cmds = append(cmds,
			fmt.Sprintf("%s link add %s type %s", n, nameArg(l.Name), l.Kind),
			fmt.Sprintf("%s link set %s alias %s%s", n, devArg(l.Name), q(l.Alias), createArgs(l)),
		)
	}
	return cmds
}

// fdbCmds appends a vxlan's static forwarding entries not in have. The
// kernel's own entry for the remote or group goes over the vxlan's dev,
// as the kernel made it.
func fdbCmds(netns string, l *state.Link, have []state.FDBEntry) []string {
	var cmds []string
	kernelEntry, _ := l.KernelFDB()
	for _, e := range l.FDB {
		if !slices.Contains(have, e) {
			via := ""
			if e == kernelEntry && l.Dev != "" {
				via = " via " + q(l.Dev)
			}
			cmds = append(cmds, fmt.Sprintf("%s fdb append %s dev %s dst %s%s", bridgeCmd(netns), e.MAC, q(l.Name), e.Dst, via))
		}
	}
	return cmds
}

// ipCmd is ip(8) in a namespace.
func ipCmd(netns string) string {
	if netns == state.HostNetNS {
		return "ip"
	}
	return "ip -n " + netns
}

// netnsArg names a namespace as ip link's netns argument takes it: the
// root namespace as that of PID 1.
func netnsArg(netns string) string {
	if netns == state.HostNetNS {
		return "1"
	}
	return netns
}

// inNS prefixes a command to run it in a namespace; the root namespace
// needs nothing.
func inNS(netns string) string {
	if netns == state.HostNetNS {
		return ""
	}
	return "ip netns exec " + netns + " "
}

// bridgeCmd is bridge(8) in a namespace.
func bridgeCmd(netns string) string {
	if netns == state.HostNetNS {
		return "bridge"
	}
	return "bridge -n " + netns
}

func listArgs(l []string) string {
	if len(l) == 0 {
		return ""
	}
	return " " + strings.Join(l, " ")
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
		b.WriteString(" master " + q(l.Master))
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
				b.WriteString(" master " + q(l.Master))
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
			b.WriteString(" alias " + q(l.Alias))
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

// nonASCIIOrControl is a rune the shell might not take as plain text.
func nonASCIIOrControl(r rune) bool { return r < ' ' || r > '~' }

// shellQuote quotes a value for sh when it needs it: between single
// quotes every byte stands for itself, and each single quote of the value
// ends the quoting, is written escaped, and starts it again.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`;&|<>()*?[]{}~!#^%=") && !strings.ContainsFunc(s, nonASCIIOrControl) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// q quotes a name for the shell when it needs it: interface names may hold
// any byte but '/', ':' and white space, and the commands must stay true
// when pasted into bash.
func q(name string) string { return shellQuote(name) }

// devArg and nameArg write the device an `ip link set/del` or `ip link
// add` is about. ip reads that argument by position only when it is no
// keyword, and takes abbreviations of keywords ("h" is help, "txq" is
// txqueuelen), so a name is written bare only when it cannot be one: it
// ends in a digit and has no '_' (the only keywords with digits have one)
// and needs no shell quoting (or is lo). Any other gets the explicit
// keyword: "dev up", "name h".
func devArg(name string) string { return keywordArg("dev", name) }

func nameArg(name string) string { return keywordArg("name", name) }

func keywordArg(keyword, name string) string {
	if plainDevName(name) {
		return name
	}
	return keyword + " " + q(name)
}

func plainDevName(name string) bool {
	if name == "lo" {
		return true // as everyone writes it: ip link set lo up
	}
	if name == "" || shellQuote(name) != name || strings.Contains(name, "_") || strings.HasPrefix(name, "-") {
		return false
	}
	last := name[len(name)-1]
	return last >= '0' && last <= '9'
}
