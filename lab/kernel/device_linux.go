package kernel

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"syscall"
	"unsafe"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"netlab/lab/device"
	"netlab/lab/state"
)

var macvlanModes = map[string]netlink.MacvlanMode{
	"bridge":   netlink.MACVLAN_MODE_BRIDGE,
	"private":  netlink.MACVLAN_MODE_PRIVATE,
	"vepa":     netlink.MACVLAN_MODE_VEPA,
	"passthru": netlink.MACVLAN_MODE_PASSTHRU,
	"source":   netlink.MACVLAN_MODE_SOURCE,
}

func macvlanModeName(m netlink.MacvlanMode) string {
	for name, mode := range macvlanModes {
		if mode == m {
			return name
		}
	}
	return fmt.Sprintf("mode%d", m)
}

// addMACVLAN creates a macvlan under the temporary name tmp, on its parent
// in the parent's namespace (pc), straight into the namespace of the node
// that lists it (c): the kernel places it there in the same message, so
// nothing is ever moved.
// Equivalent to: ip -n PARENTNS link add NAME link PARENT netns NETNS type macvlan mode MODE
func addMACVLAN(ctx context.Context, c, pc *nsConn, attrs netlink.LinkAttrs, l *state.Link) error {
	_, parentName, _ := cutRef(l.Parent)
	parent, err := pc.h.LinkByName(parentName)
	if err != nil {
		return fmt.Errorf("find parent %s: %w", l.Parent, err)
	}
	mode, ok := macvlanModes[l.Mode]
	if !ok {
		return fmt.Errorf("mode %q: %w", l.Mode, unix.EINVAL)
	}
	attrs.ParentIndex = parent.Attrs().Index
	if pc != c {
		attrs.Namespace = netlink.NsFd(c.fd)
	}
	mv := &netlink.Macvlan{LinkAttrs: attrs, Mode: mode}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := pc.h.LinkAdd(mv); err != nil {
		return fmt.Errorf("add macvlan: %w", err)
	}
	if len(l.SourceMACs) > 0 {
		if err := made(ctx, c).Err(); err != nil {
			return err
		}
		nl, err := c.h.LinkByName(attrs.Name)
		if err != nil {
			return fmt.Errorf("find new link: %w", err)
		}
		if err := setSourceMACs(c, nl, l.SourceMACs); err != nil {
			return err
		}
	}
	return nil
}

// setSourceMACs sets the senders a source-mode macvlan accepts.
// Equivalent to: ip -n NETNS link set NAME type macvlan macaddr set MAC...
func setSourceMACs(c *nsConn, nl netlink.Link, macs []string) error {
	addrs := make([]net.HardwareAddr, 0, len(macs))
	for _, m := range macs {
		a, err := net.ParseMAC(m)
		if err != nil {
			return fmt.Errorf("source mac %q: %w", m, err)
		}
		addrs = append(addrs, a)
	}
	if len(addrs) == 0 {
		if err := c.h.MacvlanMACAddrFlush(nl); err != nil {
			return fmt.Errorf("flush source macs: %w", err)
		}
		return nil
	}
	if err := c.h.MacvlanMACAddrSet(nl, addrs); err != nil {
		return fmt.Errorf("set source macs: %w", err)
	}
	return nil
}

// addVXLAN creates a vxlan under its temporary name.
// Equivalent to: ip -n NETNS link add NAME type vxlan id VNI [remote R | group G] [local L] [dev D] dstport P [nolearning]
// A vxlan of a link between machines (uc, the machine's namespace, is
// not c) is made in uc straight into c's namespace (IFLA_NET_NS_FD), as
// Docker's overlay driver makes its vxlans: its UDP socket is opened in
// uc, where the underlay is, and the device lives in the node.
func addVXLAN(ctx context.Context, c, uc *nsConn, attrs netlink.LinkAttrs, l *state.Link) error {
	if uc != c {
		attrs.Namespace = netlink.NsFd(c.fd)
	}
	vx := &netlink.Vxlan{LinkAttrs: attrs, VxlanId: int(l.VNI), Port: int(l.Port), Learning: l.Learning,
		Proxy: l.Proxy, L2miss: l.L2Miss, L3miss: l.L3Miss}
	if l.Dev != "" {
		dev, err := c.h.LinkByName(l.Dev)
		if err != nil {
			return fmt.Errorf("find dev %s: %w", l.Dev, err)
		}
		vx.VtepDevIndex = dev.Attrs().Index
	}
	// The kernel keeps a unicast remote and a multicast group in the same
	// attribute (IFLA_VXLAN_GROUP) and tells them apart by the address.
	if l.Remote.IsValid() {
		vx.Group = l.Remote.AsSlice()
	}
	if l.Group.IsValid() {
		vx.Group = l.Group.AsSlice()
	}
	if l.Local.IsValid() {
		vx.SrcAddr = l.Local.AsSlice()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := uc.h.LinkAdd(vx); err != nil {
		if uc != c && errors.Is(err, unix.EEXIST) {
			// Not the temporary name, which is new: the VNI and port.
			return fmt.Errorf("add vxlan: %w", &VNITakenError{VNI: l.VNI, Port: l.Port, Err: err})
		}
		return fmt.Errorf("add vxlan: %w", err)
	}
	return nil
}

// fdbEntry builds the netlink form of a vxlan's static forwarding entry.
func fdbEntry(index int, e state.FDBEntry) (*netlink.Neigh, error) {
	mac, err := net.ParseMAC(e.MAC)
	if err != nil {
		return nil, fmt.Errorf("fdb mac %q: %w", e.MAC, err)
	}
	return &netlink.Neigh{
		LinkIndex:    index,
		Family:       unix.AF_BRIDGE,
		Flags:        netlink.NTF_SELF,
		State:        netlink.NUD_PERMANENT | netlink.NUD_NOARP,
		HardwareAddr: mac,
		IP:           e.Dst.AsSlice(),
	}, nil
}

// syncFDB makes a vxlan's static forwarding entries those of l: entries
// missing are appended (several per MAC are allowed, which is head-end
// replication for the all-zero MAC), others with a destination removed.
// Equivalent to: bridge -n NETNS fdb append|del MAC dev NAME dst IP
func syncFDB(ctx context.Context, c *nsConn, nl netlink.Link, l *state.Link) error {
	have, err := observeFDB(c, nl)
	if err != nil {
		return err
	}
	for _, e := range have {
		if slices.Contains(l.FDB, e) {
			continue
		}
		n, err := fdbEntry(nl.Attrs().Index, e)
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := c.h.NeighDel(n); err != nil && !IsNotFound(err) {
			return fmt.Errorf("fdb del %s: %w", e, err)
		}
	}
	kernelEntry, _ := l.KernelFDB()
	for _, e := range l.FDB {
		if slices.Contains(have, e) {
			continue
		}
		n, err := fdbEntry(nl.Attrs().Index, e)
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if e == kernelEntry && l.Dev != "" {
			err = appendFDBVia(c, n, l.Dev)
		} else {
			err = c.h.NeighAppend(n)
		}
		if err != nil && !IsExist(err) {
			return fmt.Errorf("fdb append %s: %w", e, err)
		}
	}
	return nil
}

// appendFDBVia appends a vxlan's forwarding entry that goes out over the
// underlay dev (NDA_IFINDEX), as the kernel's own entry for the remote or
// group does: a multicast group needs it to know where to send. The
// netlink library cannot send that attribute, so the message is made
// here.
// Equivalent to: bridge -n NETNS fdb append MAC dev NAME dst IP via DEV
func appendFDBVia(c *nsConn, n *netlink.Neigh, dev string) error {
	d, err := c.h.LinkByName(dev)
	if err != nil {
		return fmt.Errorf("find dev %s: %w", dev, err)
	}
	ip := n.IP.To4() // the kernel tells the family by the length
	if ip == nil {
		ip = n.IP.To16()
	}
	req := nl.NewNetlinkRequest(unix.RTM_NEWNEIGH, unix.NLM_F_CREATE|unix.NLM_F_APPEND|unix.NLM_F_ACK)
	req.AddData(&netlink.Ndmsg{
		Family: unix.AF_BRIDGE,
		Index:  uint32(n.LinkIndex),
		State:  uint16(n.State),
		Flags:  uint8(n.Flags),
	})
	req.AddData(nl.NewRtAttr(unix.NDA_LLADDR, n.HardwareAddr))
	req.AddData(nl.NewRtAttr(unix.NDA_DST, ip))
	req.AddData(nl.NewRtAttr(unix.NDA_IFINDEX, nl.Uint32Attr(uint32(d.Attrs().Index))))
	return InNetNS(c.fd, func() error {
		_, err := req.Execute(unix.NETLINK_ROUTE, 0)
		return err
	})
}

// observeFDB reads a vxlan's static forwarding entries that have a
// destination, the one the kernel makes for its remote or group among
// them: netlab made that one along with the vxlan, and it is missed when
// deleted.
func observeFDB(c *nsConn, nl netlink.Link) ([]state.FDBEntry, error) {
	neighs, err := retryDump("list fdb", func() ([]netlink.Neigh, error) { return c.h.NeighList(nl.Attrs().Index, unix.AF_BRIDGE) })
	if err != nil {
		return nil, err
	}
	var out []state.FDBEntry
	for _, n := range neighs {
		if n.IP == nil || n.State&netlink.NUD_PERMANENT == 0 || n.LinkIndex != nl.Attrs().Index {
			continue
		}
		dst, ok := netip.AddrFromSlice(n.IP)
		if !ok {
			continue
		}
		e := state.FDBEntry{MAC: n.HardwareAddr.String(), Dst: dst.Unmap()}
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	state.SortFDB(out)
	return out, nil
}

// tunIfReq is struct ifreq as TUNSETIFF reads it.
type tunIfReq struct {
	Name  [unix.IFNAMSIZ]byte
	Flags uint16
	_     [22]byte
}

// addTun creates a persistent tun or tap device inside the namespace of
// c, owned by l.TunOwner and l.TunGroup when set, with no packet
// information header, so that a user-space program can attach to it
// later by name. Netlink cannot create tun devices: it takes the
// /dev/net/tun ioctls, made from a thread inside the namespace.
// Equivalent to: ip -n NETNS tuntap add dev NAME mode tun|tap [user U] [group G]
func addTun(ctx context.Context, c *nsConn, tmp string, l *state.Link) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	flags := uint16(unix.IFF_TUN | unix.IFF_NO_PI)
	if l.Kind == device.Tap {
		flags = unix.IFF_TAP | unix.IFF_NO_PI
	}
	err := InNetNS(c.fd, func() error {
		fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open /dev/net/tun: %w", err)
		}
		defer unix.Close(fd)
		var req tunIfReq
		copy(req.Name[:], tmp)
		req.Flags = flags
		if err := ioctl(fd, unix.TUNSETIFF, uintptr(unsafe.Pointer(&req))); err != nil {
			return fmt.Errorf("TUNSETIFF: %w", err)
		}
		// 0 is root, an owner like any other: only nil leaves it unset.
		if l.TunOwner != nil {
			if err := ioctl(fd, unix.TUNSETOWNER, uintptr(*l.TunOwner)); err != nil {
				return fmt.Errorf("TUNSETOWNER: %w", err)
			}
		}
		if l.TunGroup != nil {
			if err := ioctl(fd, unix.TUNSETGROUP, uintptr(*l.TunGroup)); err != nil {
				return fmt.Errorf("TUNSETGROUP: %w", err)
			}
		}
		if err := ioctl(fd, unix.TUNSETPERSIST, 1); err != nil {
			return fmt.Errorf("TUNSETPERSIST: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("add %s: %w", l.Kind, err)
	}
	return nil
}

func ioctl(fd int, req uint, arg uintptr) error {
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), arg); errno != 0 {
		return errno
	}
	return nil
}

// observeDevice reads the settings of a macvlan, vxlan, tun or tap into l.
// byIndex maps the namespace's ifindexes to its links.
func observeDevice(c *nsConn, nl netlink.Link, l *state.Link, byIndex map[int]*state.Link) error {
	switch t := nl.(type) {
	case *netlink.Macvlan:
		l.Mode = macvlanModeName(t.Mode)
		for _, m := range t.MACAddrs {
			l.SourceMACs = append(l.SourceMACs, m.String())
		}
		slices.Sort(l.SourceMACs)
		l.ParentIndex = t.ParentIndex
		l.ParentNetNSID = t.NetNsID
	case *netlink.Vxlan:
		l.VNI = uint32(t.VxlanId)
		if t.NetNsID >= 0 {
			l.UnderlayNetNS = state.HostNetNS
		}
		l.Port = uint16(t.Port)
		l.Learning = t.Learning
		l.Proxy, l.L2Miss, l.L3Miss = t.Proxy, t.L2miss, t.L3miss
		if a, ok := netip.AddrFromSlice(t.Group); ok && !a.Unmap().IsUnspecified() {
			if a = a.Unmap(); a.IsMulticast() {
				l.Group = a
			} else {
				l.Remote = a
			}
		}
		if a, ok := netip.AddrFromSlice(t.SrcAddr); ok && !a.Unmap().IsUnspecified() {
			l.Local = a.Unmap()
		}
		if t.VtepDevIndex != 0 {
			if d, ok := byIndex[t.VtepDevIndex]; ok {
				l.Dev = d.Name
			} else {
				l.Dev = fmt.Sprintf("(ifindex %d)", t.VtepDevIndex)
			}
		}
		fdb, err := observeFDB(c, nl)
		if err != nil {
			return err
		}
		l.FDB = fdb
	case *netlink.Vlan:
		l.VLANID = uint16(t.VlanId)
		if p, ok := byIndex[t.ParentIndex]; ok {
			l.VLANParent = p.Name
		} else {
			l.VLANParent = fmt.Sprintf("(ifindex %d)", t.ParentIndex)
		}
	case *netlink.Tuntap:
		owner, group, err := tunIDs(c, t.Attrs().Index)
		if err != nil {
			return err
		}
		l.TunOwner, l.TunGroup = owner, group
	}
	return nil
}

// tunIDs reads a tun's or tap's owner and group, nil for one not set. The
// kernel leaves IFLA_TUN_OWNER or IFLA_TUN_GROUP out when it is not set,
// and the netlink library reads a missing one as 0, which is root: so the
// link is asked for again here and the attributes' presence read from the
// message itself.
// Equivalent to: ip -n NETNS -d link show dev NAME (tun type ... user U group G)
func tunIDs(c *nsConn, index int) (owner, group *uint32, err error) {
	attrs, err := linkInfoData(c, index)
	if err != nil {
		return nil, nil, fmt.Errorf("read tun owner: %w", err)
	}
	for _, a := range attrs {
		if len(a.Value) < 4 {
			continue
		}
		id := nl.NativeEndian().Uint32(a.Value)
		switch a.Attr.Type & nlaTypeMask {
		case nl.IFLA_TUN_OWNER:
			owner = &id
		case nl.IFLA_TUN_GROUP:
			group = &id
		}
	}
	return owner, group, nil
}

// linkInfoData asks the kernel for the link at index again, on c's raw
// route socket, and returns the attributes of its IFLA_INFO_DATA (none
// when it has none): a kind's settings, which the netlink library reads
// only in part.
// Equivalent to: ip -n NETNS -d link show dev NAME
func linkInfoData(c *nsConn, index int) ([]syscall.NetlinkRouteAttr, error) {
	req := nl.NewNetlinkRequest(unix.RTM_GETLINK, unix.NLM_F_ACK)
	msg := nl.NewIfInfomsg(unix.AF_UNSPEC)
	msg.Index = int32(index)
	req.AddData(msg)
	msgs, err := c.execute(req, unix.RTM_NEWLINK)
	if err != nil {
		return nil, err
	}
	if len(msgs) != 1 || len(msgs[0]) < unix.SizeofIfInfomsg {
		return nil, fmt.Errorf("%d answers: %w", len(msgs), unix.EBADMSG)
	}
	data, err := nestedAttr(msgs[0][unix.SizeofIfInfomsg:], unix.IFLA_LINKINFO, unix.IFLA_INFO_DATA)
	if err != nil {
		return nil, err
	}
	return nl.ParseRouteAttr(data)
}

// nlaTypeMask clears the flag bits of a netlink attribute's type.
const nlaTypeMask = ^uint16(unix.NLA_F_NESTED | unix.NLA_F_NET_BYTEORDER)

// nestedAttr returns the value of the attribute reached by the path of
// attribute types, each nested in the one before; nil when one is absent.
func nestedAttr(b []byte, path ...uint16) ([]byte, error) {
	for _, typ := range path {
		attrs, err := nl.ParseRouteAttr(b)
		if err != nil {
			return nil, err
		}
		b = nil
		for _, a := range attrs {
			if a.Attr.Type&nlaTypeMask == typ {
				b = a.Value
				break
			}
		}
		if b == nil {
			return nil, nil
		}
	}
	return b, nil
}

// cutRef splits NODE:IFNAME.
func cutRef(ref string) (node, name string, ok bool) {
	for i := 0; i < len(ref); i++ {
		if ref[i] == ':' {
			return ref[:i], ref[i+1:], true
		}
	}
	return "", ref, false
}
