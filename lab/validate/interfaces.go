package validate

import (
	"fmt"
	"strconv"
	"strings"

	"netlab/lab"
	"netlab/lab/device"
)

// optionKeys are the kind-specific option blocks, each allowed only on
// an interface of the kind of the same name.
var optionKeys = []device.Kind{device.Bridge, device.MACVLAN, device.VXLAN, device.Tun, device.Tap, device.VLAN}

// ref is an interface's NODE:IFNAME as a link writes it, quoted when it
// holds a character that would not read plainly in a one-line message
// (such a name is reported as invalid on its own).
func ref(i *lab.Interface) string {
	r := i.Ref()
	for _, c := range r {
		if c <= ' ' || c > '~' {
			return strconv.Quote(r)
		}
	}
	return r
}

// kindsBesidesVeth lists the kinds an interface in no link can have.
func kindsBesidesVeth() string {
	names := make([]string, 0, len(lab.Kinds))
	for _, k := range lab.Kinds {
		if k != device.Veth { // a veth needs a link, so it is no fix for a missing one
			names = append(names, string(k))
		}
	}
	return strings.Join(names, ", ")
}

func (v *validator) interfaces() {
	for _, n := range v.lab.Nodes {
		for _, i := range n.Interfaces {
			v.iface(n, i)
		}
	}
}

func (v *validator) iface(n *lab.Node, i *lab.Interface) {
	inLink := v.lab.LinkOf(n.Name, i.Name) != nil
	if i.Name == "lo" {
		for _, f := range []string{"kind", "master", "mac", "rate", "delay", "loss"} {
			if i.Has(f) {
				v.diags.Hintf(i.At(f), "lo is the node's loopback: list only addresses, mtu or up for it", "interface \"lo\" cannot have %s", f)
			}
		}
		if lk := v.lab.LinkOf(n.Name, i.Name); lk != nil {
			at := i.Pos
			for _, e := range lk.Ends {
				if e.Node == n.Name && e.IfName == i.Name {
					at = e.Pos
					break
				}
			}
			v.diags.Hintf(at, "use another name for the link end", "interface \"lo\" of node %q cannot be a link end", n.Name)
		}
		return
	}
	if i.Kind == "" && !i.Has("kind") && !inLink {
		v.diags.Hintf(i.Pos, "add a link that names "+ref(i)+", or a kind: "+kindsBesidesVeth(),
			"interface %q of node %q has no kind and is in no link", i.Name, n.Name)
	}
	if i.Kind == device.Veth && !inLink {
		v.diags.Hintf(i.At("kind"), fmt.Sprintf("add a link such as [%s, OTHER:IFNAME]", ref(i)),
			"veth %q of node %q is in no link, so it has no peer", i.Name, n.Name)
	}
	for _, key := range optionKeys {
		if i.Has(string(key)) && i.Kind != "" && i.Kind != key {
			v.diags.Hintf(i.At(string(key)), fmt.Sprintf("set kind: %s, or remove the %s block", key, key),
				"%s options on interface %q, which is a %s", key, i.Name, i.Kind)
		}
	}
	switch i.Kind {
	case device.MACVLAN:
		if !i.Has("macvlan") {
			v.diags.Hintf(i.At("kind"), "add macvlan: {parent: IFNAME or NODE:IFNAME}", "macvlan %q of node %q needs a parent", i.Name, n.Name)
		}
	case device.VXLAN:
		if !i.Has("vxlan") {
			v.diags.Hintf(i.At("kind"), "add vxlan: {vni: N, remote: IP, dev: IFNAME}", "vxlan %q of node %q needs a vni and a remote or group", i.Name, n.Name)
		}
	case device.VLAN:
		if !i.Has("vlan") {
			v.diags.Hintf(i.At("kind"), "add vlan: {parent: IFNAME, id: 1-4094}", "vlan %q of node %q needs a parent and an id", i.Name, n.Name)
		}
	}
	v.master(n, i)
}

func (v *validator) master(n *lab.Node, i *lab.Interface) {
	if !i.Usable("master") {
		return
	}
	at := i.At("master")
	if i.Master == i.Name {
		v.diags.Hintf(at, "name a bridge of the node", "interface %q of node %q cannot be its own master", i.Name, n.Name)
		return
	}
	if i.Kind == device.Bridge {
		v.diags.Hintf(at, "Linux does not enslave a bridge to a bridge: connect them with a veth pair", "bridge %q of node %q cannot have a master", i.Name, n.Name)
		return
	}
	m := n.Interface(i.Master)
	switch {
	case m == nil:
		v.diags.Hintf(at, "declare it with kind: bridge in the same node", "master %q of interface %q is not an interface of node %q", i.Master, i.Name, n.Name)
	case m.Kind != device.Bridge:
		kind := string(m.Kind)
		if kind == "" {
			kind = "interface without a kind"
		}
		v.diags.Hintf(at, fmt.Sprintf("give %q kind: bridge, or name a bridge", m.Name), "master %q of interface %q is a %s, not a bridge", i.Master, i.Name, kind)
	}
}
