package plan

import "netlab/lab/state"

// Cmds returns the ip(8) commands that do what the change does, in order.
// They are the vocabulary of lab/state's cmd.go, shared by plan, render
// --format script and the fake kernel's transcript; netlab itself sends
// netlink messages.
func (c *Change) Cmds() []string {
	switch c.Object {
	case NetNS:
		if c.Action == Delete {
			return []string{state.NetNSDelCmd(c.NetNS)}
		}
		return state.NetNSAddCmds(c.NetNS)
	case Link:
		switch c.Action {
		case Delete, Replace:
			return []string{state.LinkDelCmd(c.NetNS, c.Name)}
		case Update:
			return state.LinkSetCmds(c.NetNS, c.Link, c.OldLink, c.LinkAttrs())
		}
		return state.LinkAddCmds(c.NetNS, c.Link, c.PeerNS, c.PeerLink)
	case Addr:
		if c.Action == Delete {
			return []string{state.AddrDelCmd(c.NetNS, c.LinkName, c.Prefix)}
		}
		return []string{state.AddrAddCmd(c.NetNS, c.LinkName, c.Prefix)}
	case Route:
		if c.Action == Delete {
			return []string{state.RouteDelCmd(c.NetNS, c.OldRoute)}
		}
		return []string{state.RouteReplaceCmd(c.NetNS, c.Route)}
	case Rule:
		if c.Action == Delete {
			return []string{state.RuleDelCmd(c.NetNS, c.OldRule)}
		}
		return []string{state.RuleAddCmd(c.NetNS, c.Rule)}
	case Sysctl:
		return []string{state.SysctlSetCmd(c.NetNS, c.Name, c.Value)}
	case NFTables:
		if c.Action == Delete {
			return []string{state.NFTableDelCmd(c.NetNS)}
		}
		return []string{state.NFTableSetCmd(c.NetNS, c.NFT, c.Action == Update)}
	case Process:
		if c.Action == Create {
			lab, node, _ := state.SplitNetNSName(c.NetNS)
			return state.ProcessStartCmds(lab, node, c.NetNS, c.Proc)
		}
		return []string{state.ProcessStopCmd(c.OldProc)}
	case Hosts:
		if c.Action == Delete {
			return []string{state.HostsDelCmd(c.NetNS)}
		}
		return []string{state.HostsSetCmd(state.EtcNetNSDir, c.NetNS, c.Hosts)}
	}
	return nil
}
