package validate

import (
	"fmt"
	"net/netip"
	"time"

	"netlab/lab"
	"netlab/lab/device"
)

// bridges checks a bridge's STP settings and each port's flags: the
// timers within the ranges the kernel takes with STP on (it refuses
// others with ERANGE, half-way through up), given only with stp: true,
// and port flags only on an interface whose master is a bridge.
func (v *validator) bridges() {
	for _, n := range v.lab.Nodes {
		for _, i := range n.Interfaces {
			if b := i.Bridge; b != nil {
				v.stp(i, b)
			}
			if i.Port != nil {
				v.port(n, i)
			}
		}
	}
}

func (v *validator) stp(i *lab.Interface, b *lab.BridgeOptions) {
	if i.Kind != device.Bridge {
		return // devices and interfaces report bridge options elsewhere
	}
	timers := []struct {
		field  string
		t      time.Duration
		lo, hi time.Duration
	}{
		{"forward-delay", b.ForwardDelay, lab.MinForwardDelay, lab.MaxForwardDelay},
		{"hello-time", b.HelloTime, lab.MinHelloTime, lab.MaxHelloTime},
		{"max-age", b.MaxAge, lab.MinMaxAge, lab.MaxMaxAge},
	}
	for _, tm := range timers {
		if !b.Usable(tm.field) {
			continue
		}
		at := b.At(tm.field)
		switch {
		case !b.STP:
			v.diags.Hintf(at, "add stp: true, or remove "+tm.field, "%s of bridge %q is a spanning-tree timer, and the bridge has no stp: true", tm.field, i.Name)
		case tm.t < tm.lo || tm.t > tm.hi:
			v.diags.Hintf(at, fmt.Sprintf("use %s to %s", tm.lo, tm.hi), "%s %s of bridge %q is out of the kernel's range", tm.field, tm.t, i.Name)
		case tm.t%(10*time.Millisecond) != 0:
			v.diags.Hintf(at, "round it to hundredths of a second", "%s %s of bridge %q is finer than the kernel keeps (hundredths of a second)", tm.field, tm.t, i.Name)
		}
	}
	if b.Usable("priority") && !b.STP {
		v.diags.Hintf(b.At("priority"), "add stp: true, or remove priority", "priority of bridge %q is its spanning-tree priority, and the bridge has no stp: true", i.Name)
	}
}

func (v *validator) port(n *lab.Node, i *lab.Interface) {
	at := i.Port.Pos
	if i.Master == "" {
		v.diags.Hintf(at, "add master: BRIDGE, or remove port", "interface %q of node %q has port flags but no master: they are a bridge port's", i.Name, n.Name)
		return
	}
	if m := n.Interface(i.Master); m != nil && m.Kind != device.Bridge {
		v.diags.Hintf(at, "name a bridge as master, or remove port", "interface %q of node %q has port flags, and its master %q is not a bridge", i.Name, n.Name, i.Master)
	}
}

// neighbors checks each static neighbour entry: an ip and a mac, both
// usable, the ip of a family the interface has an address of (else no
// packet the kernel sends out of it uses the entry), and each ip once.
func (v *validator) neighbors() {
	for _, n := range v.lab.Nodes {
		for _, i := range n.Interfaces {
			seen := make(map[string]bool)
			for _, nb := range i.Neighbors {
				v.neighbor(n, i, nb, seen)
			}
		}
	}
}

func (v *validator) neighbor(n *lab.Node, i *lab.Interface, nb *lab.Neighbor, seen map[string]bool) {
	what := fmt.Sprintf("neighbor of interface %q of node %q", i.Name, n.Name)
	if i.Kind == device.Tun || i.Name == "lo" {
		v.diags.Hintf(nb.Pos, "remove it: only a device with an Ethernet layer has neighbours", "%s: a %s resolves no addresses", what, kindName(i))
		return
	}
	if i.Master != "" {
		v.diags.Hintf(nb.Pos, "put the entry on the bridge "+i.Master, "%s: a bridge port has no addresses of its own, so it resolves none", what)
		return
	}
	if !nb.Has("ip") {
		v.diags.Hintf(nb.Pos, "add ip: ADDRESS", "%s has no ip", what)
	}
	if !nb.Has("mac") {
		v.diags.Hintf(nb.Pos, "add mac: MAC", "%s has no mac", what)
	}
	if nb.Usable("mac") {
		if p := macProblem(nb.MAC); p != "" {
			v.diags.Hintf(nb.At("mac"), "use the neighbour's own MAC, which is unicast", "neighbor mac %s %s, which no neighbour has", nb.MAC, p)
		}
	}
	if !nb.Usable("ip") {
		return
	}
	at := nb.At("ip")
	ip := nb.IP
	switch {
	case !ip.IsValid() || ip.IsUnspecified() || ip.IsMulticast() || ip.IsLoopback() || ip == broadcast4:
		v.diags.Hintf(at, "use the unicast address of a neighbour on the link", "neighbor ip %s of interface %q is not a neighbour's unicast address", ip, i.Name)
		return
	case seen[ip.String()]:
		v.diags.Hintf(at, "keep one entry for each address", "neighbor ip %s is listed twice on interface %q of node %q", ip, i.Name, n.Name)
		return
	}
	seen[ip.String()] = true
	for _, a := range i.Addresses {
		if a.Prefix.Addr().Is4() == ip.Is4() {
			return
		}
	}
	family := "IPv6"
	if ip.Is4() {
		family = "IPv4"
	}
	v.diags.Hintf(at, "give the interface an "+family+" address, or list the neighbour where it has one", "neighbor ip %s is %s, and interface %q of node %q has no %s address", ip, family, i.Name, n.Name, family)
}

func kindName(i *lab.Interface) string {
	if i.Name == "lo" {
		return "loopback"
	}
	return string(i.Kind)
}

var broadcast4 = netip.AddrFrom4([4]byte{255, 255, 255, 255})
