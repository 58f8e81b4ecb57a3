package validate

import (
	"strings"

	"netlab/lab"
)

// sysctls checks each key names a net.* sysctl by a path that stays under
// /proc/sys/net: dotted segments of letters, digits, '_' and '-'.
func (v *validator) sysctls() {
	for _, n := range v.lab.Nodes {
		for _, s := range n.Sysctls {
			if p := sysctlKeyProblem(s.Key); p != "" {
				hint := "netlab sets only net.* sysctls, which belong to the node's namespace"
				if strings.HasPrefix(s.Key, "net.") {
					hint = "write the key as sysctl -a prints it, like net.ipv4.ip_forward"
				}
				v.diags.Hintf(s.Pos, hint, "sysctl %q %s", clip(s.Key), p)
			}
			if strings.ContainsAny(s.Value, "\n\x00") || (s.Value == "" && s.Usable("value")) {
				v.diags.Hintf(s.At("value"), "write one value, such as 1", "sysctl %q has an empty or multi-line value", clip(s.Key))
			}
		}
		v.ipv6Off(n)
	}
}

// ipv6Off refuses an IPv6 address on an interface whose IPv6 the node's
// sysctls turn off (lab.Node.IPv6Off): the kernel refuses it (EACCES),
// or drops it when the sysctl is written after it, as up writes sysctls
// after addresses. For the same reason it refuses one on any interface
// of a node that turns IPv6 off for all: the write of all drops every
// IPv6 address, even where the interface's own key turns it on again.
func (v *validator) ipv6Off(n *lab.Node) {
	allOff := n.IPv6Off("all")
	for _, i := range n.Interfaces {
		off := n.IPv6Off(i.Name)
		if !off && !allOff {
			continue
		}
		for _, a := range i.Addresses {
			switch {
			case !a.Prefix.Addr().Is6():
			case off:
				v.diags.Hintf(a.Pos, "drop the address, or the disable_ipv6 sysctl",
					"IPv6 address %s on %s, whose IPv6 the node's sysctls turn off (disable_ipv6): the kernel takes no IPv6 address there", a.Prefix, ref(i))
			default:
				v.diags.Hintf(a.Pos, "turn IPv6 off on each interface that needs it (net.ipv6.conf.IFNAME.disable_ipv6) instead of all",
					"IPv6 address %s on %s: net.ipv6.conf.all.disable_ipv6 drops every IPv6 address of the node when up writes it, after the addresses, though %s's own key turns IPv6 on again", a.Prefix, ref(i), i.Name)
			}
		}
	}
}

func sysctlKeyProblem(key string) string {
	if !strings.HasPrefix(key, "net.") {
		return "is outside net."
	}
	for _, seg := range strings.Split(key, ".") {
		if seg == "" {
			return "has an empty segment"
		}
		for _, r := range seg {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
				return "has a character other than a-z, 0-9, _, - and ."
			}
		}
	}
	return ""
}
