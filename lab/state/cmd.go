package state

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"netlab/lab/device"
)

// The ip(8), bridge(8) and nft commands that do what each write of the
// kernel does, one function per operation: the vocabulary shared by
// plan's Cmds, render --format script and the fake kernel's transcript.
// netlab itself sends netlink messages.

// NetNSAddCmds makes a node's namespace, sets what NetNSAdd sets in a new
// namespace (NetNSSysctls), and marks it.
func NetNSAddCmds(netns string) []string {
	lab, node, _ := SplitNetNSName(netns)
	cmds := []string{"ip netns add " + netns}
	for _, sc := range NetNSSysctls {
		cmds = append(cmds, fmt.Sprintf("%ssysctl -qw %s=%s", inNS(netns), sc.Key, shellQuote(sc.Value)))
	}
	return append(cmds, fmt.Sprintf("%s link set lo alias %s up", ipCmd(netns), NodeMarker(lab, node)))
}

// NetNSDelCmd deletes a namespace.
func NetNSDelCmd(netns string) string { return "ip netns del " + netns }

// AddrAddCmd adds an address, an IPv6 one without duplicate address
// detection.
func AddrAddCmd(netns, link string, p netip.Prefix) string {
	nodad := ""
	if p.Addr().Is6() {
		nodad = " nodad"
	}
	return fmt.Sprintf("%s addr add %s dev %s%s", ipCmd(netns), p, q(link), nodad)
}

// AddrDelCmd removes an address.
func AddrDelCmd(netns, link string, p netip.Prefix) string {
	return fmt.Sprintf("%s addr del %s dev %s", ipCmd(netns), p, q(link))
}

// RouteReplaceCmd adds or replaces a route, marked as netlab's.
func RouteReplaceCmd(netns string, r Route) string {
	return fmt.Sprintf("%s route replace %s proto %d", ipCmd(netns), routeSpec(r), RouteProtocol)
}

// RouteDelCmd deletes a route.
func RouteDelCmd(netns string, r Route) string {
	return fmt.Sprintf("%s route del %s", ipCmd(netns), routeSpec(r))
}

// SysctlSetCmd writes a sysctl in a namespace.
func SysctlSetCmd(netns, key, value string) string {
	return fmt.Sprintf("%ssysctl -qw %s=%s", inNS(netns), key, shellQuote(value))
}

// NFTableDelCmd deletes netlab's nftables table.
func NFTableDelCmd(netns string) string {
	return fmt.Sprintf("%snft delete table inet %s", inNS(netns), NFTableName)
}

// NFTableSetCmd loads netlab's nftables table; with replace, the old one
// is deleted in the same transaction.
func NFTableSetCmd(netns string, t *NFTable, replace bool) string {
	if replace {
		// nft -f applies a file as one transaction: the delete and
		// the new table land together.
		return fmt.Sprintf("%snft -f - <<'EOF'\ndelete table inet %s\n%sEOF", inNS(netns), NFTableName, t.Script())
	}
	return fmt.Sprintf("%snft -f - <<'EOF'\n%sEOF", inNS(netns), t.Script())
}

// routeSpec is a route as ip(8) takes it; ip infers an IPv6 default
// route's family from its gateway, and a gatewayless one needs -6.
func routeSpec(r Route) string {
	if r.Dev != "" {
		r.Dev = q(r.Dev) // a shell word
	}
	if r.To.Bits() == 0 && r.To.Addr().Is6() && !r.Via.IsValid() {
		return "::/0" + strings.TrimPrefix(RouteText(r), "default")
	}
	return RouteText(r)
}

// LinkDelCmd deletes a link.
func LinkDelCmd(netns, name string) string {
	return fmt.Sprintf("%s link del %s", ipCmd(netns), devArg(name))
}

// LinkSetCmds change the named attributes of a link to those of l; old is
// the link as it is, whose fdb entries not in l are deleted.
func LinkSetCmds(netns string, l, old *Link, attrs []LinkAttr) []string {
	n := ipCmd(netns)
	var cmds []string
	if args := setArgs(l, attrs); args != "" {
		cmds = append(cmds, n+" link set "+devArg(l.Name)+args)
	}
	for _, a := range attrs {
		switch a {
		case AttrSourceMACs:
			cmds = append(cmds, fmt.Sprintf("%s link set %s type macvlan macaddr set%s", n, devArg(l.Name), listArgs(l.SourceMACs)))
		case AttrSTP:
			cmds = append(cmds, STPCmd(netns, l))
		case AttrPort:
			cmds = append(cmds, PortCmd(netns, l, true))
		case AttrNeighbors:
			cmds = append(cmds, NeighborCmds(netns, l, old)...)
		case AttrFDB:
			for _, e := range old.FDB {
				if !slices.Contains(l.FDB, e) {
					cmds = append(cmds, fmt.Sprintf("%s fdb del %s dev %s dst %s", bridgeCmd(netns), e.MAC, q(l.Name), e.Dst))
				}
			}
			cmds = append(cmds, fdbCmds(netns, l, old.FDB)...)
		case AttrEgress:
			cmds = append(cmds, EgressCmd(netns, l.Name, l.Egress))
		}
	}
	return cmds
}

// LinkAddCmds make a link with its attributes and marker; for a veth,
// peer is the other end, made in peerNS.
func LinkAddCmds(netns string, l *Link, peerNS string, peer *Link) []string {
	n := ipCmd(netns)
	var cmds []string
	switch l.Kind {
	case device.Veth:
		p := peer
		cmds = append(cmds,
			fmt.Sprintf("%s link add %s type veth peer name %s netns %s", n, nameArg(l.Name), q(p.Name), netnsArg(peerNS)),
			fmt.Sprintf("%s link set %s alias %s%s", n, devArg(l.Name), q(l.Alias), createArgs(l)),
			fmt.Sprintf("%s link set %s alias %s%s", ipCmd(peerNS), devArg(p.Name), q(p.Alias), createArgs(p)),
		)
		cmds = append(cmds, afterAddCmds(peerNS, p)...)
	case device.Bridge:
		cmds = append(cmds,
			fmt.Sprintf("%s link add %s type bridge%s", n, nameArg(l.Name), stpArgs(l)),
			fmt.Sprintf("%s link set %s alias %s%s", n, devArg(l.Name), q(l.Alias), createArgs(l)),
		)
	case device.MACVLAN:
		_, parent, _ := strings.Cut(l.Parent, ":")
		pn := n
		into := ""
		if l.ParentNetNS != "" && l.ParentNetNS != netns {
			// Made on the parent, straight into the node that lists it.
			pn, into = ipCmd(l.ParentNetNS), " netns "+netnsArg(netns)
		}
		cmds = append(cmds, fmt.Sprintf("%s link add %s link %s%s type macvlan mode %s", pn, nameArg(l.Name), q(parent), into, l.Mode))
		if len(l.SourceMACs) > 0 {
			cmds = append(cmds, fmt.Sprintf("%s link set %s type macvlan macaddr set%s", n, devArg(l.Name), listArgs(l.SourceMACs)))
		}
		cmds = append(cmds, fmt.Sprintf("%s link set %s alias %s%s", n, devArg(l.Name), q(l.Alias), createArgs(l)))
	case device.VXLAN:
		var b strings.Builder
		if l.UnderlayNetNS != "" && l.UnderlayNetNS != netns {
			// Made in the machine's namespace, straight into the node.
			fmt.Fprintf(&b, "%s link add %s netns %s type vxlan id %d", ipCmd(l.UnderlayNetNS), nameArg(l.Name), netnsArg(netns), l.VNI)
		} else {
			fmt.Fprintf(&b, "%s link add %s type vxlan id %d", n, nameArg(l.Name), l.VNI)
		}
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
		if l.Proxy {
			b.WriteString(" proxy")
		}
		if l.L2Miss {
			b.WriteString(" l2miss")
		}
		if l.L3Miss {
			b.WriteString(" l3miss")
		}
		cmds = append(cmds, b.String())
		var made []FDBEntry // the kernel makes its own entry with the vxlan
		if e, ok := l.KernelFDB(); ok {
			made = append(made, e)
		}
		cmds = append(cmds, fdbCmds(netns, l, made)...)
		cmds = append(cmds, fmt.Sprintf("%s link set %s alias %s%s", n, devArg(l.Name), q(l.Alias), createArgs(l)))
	case device.Tun, device.Tap:
		var b strings.Builder
		fmt.Fprintf(&b, "%s tuntap add dev %s mode %s", n, q(l.Name), l.Kind)
		if l.TunOwner != nil {
			fmt.Fprintf(&b, " user %d", *l.TunOwner)
		}
		if l.TunGroup != nil {
			fmt.Fprintf(&b, " group %d", *l.TunGroup)
		}
		cmds = append(cmds, b.String(), fmt.Sprintf("%s link set %s alias %s%s", n, devArg(l.Name), q(l.Alias), createArgs(l)))
	case device.VLAN:
		cmds = append(cmds,
			fmt.Sprintf("%s link add link %s name %s type vlan id %d", n, q(l.VLANParent), q(l.Name), l.VLANID),
			fmt.Sprintf("%s link set %s alias %s%s", n, devArg(l.Name), q(l.Alias), createArgs(l)),
		)
	default:
		cmds = append(cmds,
			fmt.Sprintf("%s link add %s type %s", n, nameArg(l.Name), l.Kind),
			fmt.Sprintf("%s link set %s alias %s%s", n, devArg(l.Name), q(l.Alias), createArgs(l)),
		)
	}
	if !l.Egress.IsZero() {
		cmds = append(cmds, EgressCmd(netns, l.Name, l.Egress))
	}
	if l.Kind == device.Veth && peer != nil && !peer.Egress.IsZero() {
		cmds = append(cmds, EgressCmd(peerNS, peer.Name, peer.Egress))
	}
	return append(cmds, afterAddCmds(netns, l)...)
}

// fdbCmds appends a vxlan's static forwarding entries not in have. The
// kernel's own entry for the remote or group goes over the vxlan's dev,
// as the kernel made it.
func fdbCmds(netns string, l *Link, have []FDBEntry) []string {
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
func ipCmd(netns string) string { return toolCmd("ip", netns) }

// toolCmd is one of iproute2's tools (ip, bridge, tc) in a namespace:
// with -n NETNS, or bare for the root namespace.
func toolCmd(tool, netns string) string {
	if netns == HostNetNS {
		return tool
	}
	return tool + " -n " + netns
}

// netnsArg names a namespace as ip link's netns argument takes it: the
// root namespace as that of PID 1.
func netnsArg(netns string) string {
	if netns == HostNetNS {
		return "1"
	}
	return netns
}

// inNS prefixes a command to run it in a namespace; the root namespace
// needs nothing.
func inNS(netns string) string {
	if netns == HostNetNS {
		return ""
	}
	return "ip netns exec " + netns + " "
}

// bridgeCmd is bridge(8) in a namespace.
func bridgeCmd(netns string) string { return toolCmd("bridge", netns) }

func listArgs(l []string) string {
	if len(l) == 0 {
		return ""
	}
	return " " + strings.Join(l, " ")
}

// createArgs are the `ip link set` arguments that give a new link its
// declared attributes.
func createArgs(l *Link) string {
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
func setArgs(l *Link, attrs []LinkAttr) string {
	var b strings.Builder
	for _, a := range attrs {
		switch a {
		case AttrMaster:
			if l.Master == "" {
				b.WriteString(" nomaster")
			} else {
				b.WriteString(" master " + q(l.Master))
			}
		case AttrMTU:
			fmt.Fprintf(&b, " mtu %d", l.MTU)
		case AttrMAC:
			b.WriteString(" address " + l.MAC)
		case AttrAlias:
			b.WriteString(" alias " + q(l.Alias))
		case AttrUp:
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

// RouteText renders a route as ip(8) would: "default via 192.0.2.1",
// "10.0.0.0/8 dev eth0 metric 10".
func RouteText(r Route) string {
	var b strings.Builder
	if r.To.Bits() == 0 {
		b.WriteString("default")
	} else {
		b.WriteString(r.To.String())
	}
	if r.Via.IsValid() {
		b.WriteString(" via " + r.Via.String())
	}
	if r.Dev != "" {
		b.WriteString(" dev " + r.Dev)
	}
	if r.Metric != 0 {
		fmt.Fprintf(&b, " metric %d", r.Metric)
	}
	if r.Table != 0 {
		fmt.Fprintf(&b, " table %d", r.Table)
	}
	return b.String()
}
