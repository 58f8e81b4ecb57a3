package kernel

import (
	"encoding/binary"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// The forwarding sysctls, the ones a course's router sets, are read
// through RTM_GETNETCONF on the namespace's route socket rather than
// from /proc/sys: the kernel's dentries of /proc/sys/net of every
// namespace share one hash chain, so each read there costs more the more
// namespaces the machine has (a tenth of a 1000-router chain's plan).
// netconf reports, for IPv4 and IPv6 and for "all" and "default", the
// very values those files show.

// NETCONFA_* (linux/netconfmsg.h), which x/sys/unix does not define.
const (
	netconfaIfindex                  = 1
	netconfaForwarding               = 2
	netconfaRPFilter                 = 3
	netconfaProxyNeigh               = 5
	netconfaIgnoreRoutesWithLinkdown = 6
	netconfaIfindexAll               = -1
	netconfaIfindexDefault           = -2
)

// netconfEntry is where RTM_GETNETCONF reports a sysctl: the family and
// device (all or default) to ask for, and the attribute.
type netconfEntry struct {
	family  uint8
	ifindex int32
	attr    uint16
}

// netconfKey returns where netconf reports key, or false for a key it
// does not (anything else reads from /proc/sys).
func netconfKey(key string) (netconfEntry, bool) {
	if key == "net.ipv4.ip_forward" {
		return netconfEntry{unix.AF_INET, netconfaIfindexAll, netconfaForwarding}, true
	}
	parts := strings.Split(key, ".")
	if len(parts) != 5 || parts[0] != "net" || parts[2] != "conf" {
		return netconfEntry{}, false
	}
	var e netconfEntry
	switch parts[1] {
	case "ipv4":
		e.family = unix.AF_INET
	case "ipv6":
		e.family = unix.AF_INET6
	default:
		return netconfEntry{}, false
	}
	switch parts[3] {
	case "all":
		e.ifindex = netconfaIfindexAll
	case "default":
		e.ifindex = netconfaIfindexDefault
	default:
		return netconfEntry{}, false // a device's: by name in /proc/sys
	}
	switch {
	case parts[4] == "forwarding":
		e.attr = netconfaForwarding
	case parts[4] == "rp_filter" && e.family == unix.AF_INET:
		e.attr = netconfaRPFilter
	case parts[4] == "proxy_arp" && e.family == unix.AF_INET, parts[4] == "proxy_ndp" && e.family == unix.AF_INET6:
		e.attr = netconfaProxyNeigh
	case parts[4] == "ignore_routes_with_linkdown":
		e.attr = netconfaIgnoreRoutesWithLinkdown
	default:
		return netconfEntry{}, false
	}
	return e, true
}

// familyMsg is a request's 4-byte header that names a family and
// nothing else: struct netconfmsg, padded to the 4 bytes its attributes
// are aligned to, and struct nfgenmsg (family, version NFNETLINK_V0,
// resource id 0) alike.
type familyMsg struct{ family uint8 }

func (m familyMsg) Len() int          { return 4 }
func (m familyMsg) Serialize() []byte { return []byte{m.family, 0, 0, 0} }

// netconfHere asks the calling thread's namespace for the netconf of one
// family and device: each attribute's value, as the sysctl file prints
// it. A kernel without the family answers with an error.
func netconfHere(family uint8, ifindex int32) (map[uint16]string, error) {
	req := nl.NewNetlinkRequest(unix.RTM_GETNETCONF, 0)
	req.AddData(familyMsg{family})
	req.AddData(nl.NewRtAttr(netconfaIfindex, binary.NativeEndian.AppendUint32(nil, uint32(ifindex))))
	msgs, err := req.Execute(unix.NETLINK_ROUTE, unix.RTM_NEWNETCONF)
	if err != nil {
		return nil, err
	}
	out := make(map[uint16]string)
	for _, m := range msgs {
		if len(m) < 4 {
			continue
		}
		attrs, err := nl.ParseRouteAttr(m[4:])
		if err != nil {
			return nil, err
		}
		for _, a := range attrs {
			if a.Attr.Type != netconfaIfindex && len(a.Value) == 4 {
				out[a.Attr.Type] = strconv.Itoa(int(int32(binary.NativeEndian.Uint32(a.Value))))
			}
		}
	}
	return out, nil
}
