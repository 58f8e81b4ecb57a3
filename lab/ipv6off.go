package lab

import (
	"strconv"
	"strings"
)

// IPv6Off reports whether the node's sysctls turn IPv6 off on its
// interface ifname: net.ipv6.conf.IFNAME.disable_ipv6, or else
// net.ipv6.conf.all.disable_ipv6, is not 0. The kernel then drops the
// interface's IPv6 addresses (lo's ::1 too) and takes no new ones.
// Writing all sets every interface's value (and default's), and netlab
// writes a node's sysctls in key order, all before the interfaces': an
// interface's own key wins.
func (n *Node) IPv6Off(ifname string) bool {
	own, all := "", ""
	for _, sc := range n.Sysctls {
		switch sc.Key {
		case "net.ipv6.conf." + ifname + ".disable_ipv6":
			own = sc.Value
		case "net.ipv6.conf.all.disable_ipv6":
			all = sc.Value
		}
	}
	if own != "" {
		return nonZero(own)
	}
	return nonZero(all)
}

// nonZero reports whether a sysctl's value is a number other than 0.
func nonZero(v string) bool {
	i, err := strconv.Atoi(strings.TrimSpace(v))
	return err == nil && i != 0
}
