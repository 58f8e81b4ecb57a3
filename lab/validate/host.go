package validate

// hostNodes checks what a host: true node may declare. Such a node is the
// machine's own root namespace: netlab changes only the links it creates
// there. Routes, sysctls and netfilter rules would change the machine
// itself and could cut it off its network, and its lo is the machine's.
// Its processes are the machine's too: netlab runs none there.
func (v *validator) hostNodes() {
	for _, n := range v.lab.Nodes {
		if !n.Host {
			continue
		}
		for _, r := range n.Routes {
			v.diags.Hintf(r.Pos, "route from a namespace node instead", "routes in a host node would change the machine's own routing table, so netlab does not add them")
		}
		for _, r := range n.Rules {
			v.diags.Hintf(r.Pos, "add the rule in a namespace node instead", "policy rules in a host node would change the machine's own routing, so netlab does not add them")
		}
		for _, sc := range n.Sysctls {
			v.diags.Hintf(sc.Pos, "set it in a namespace node, or by hand on the machine", "sysctl %q in a host node would change the machine itself, so netlab does not set it", clip(sc.Key))
		}
		if len(n.NAT) > 0 {
			v.diags.Hintf(n.At("nat"), "move the rules to a namespace node", "nat rules in a host node would change the machine's own netfilter, so netlab does not add them")
		}
		if n.Firewall != nil {
			v.diags.Hintf(n.At("firewall"), "move the rules to a namespace node", "firewall rules in a host node would change the machine's own netfilter, so netlab does not add them")
		}
		if len(n.Run) > 0 {
			v.diags.Hintf(n.At("run"), "run them in a namespace node", "run in a host node would start programs on the machine itself, whose processes are not a lab's, so netlab does not start them")
		}
		if lo := n.Interface("lo"); lo != nil {
			v.diags.Hintf(lo.Pos, "remove lo from the host node", "the machine's own lo is not netlab's to change")
		}
	}
}
