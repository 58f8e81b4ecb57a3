package machinetest

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
)

// The underlay's names: the bridge in the underlay namespace, and each
// machine's end of its veth pair.
const (
	bridgeName = "br0"
	machineDev = "eth0"
)

// openNetNS opens a test namespace of kerneltest's (a name NewTestNS
// gave: Prefix and random letters, refused otherwise).
func openNetNS(name string) (*os.File, error) {
	if !strings.HasPrefix(name, kerneltest.Prefix) || strings.ContainsAny(name, "./") {
		return nil, fmt.Errorf("namespace %q is not a test namespace", name)
	}
	return os.Open(kernel.NetNSDir + "/" + name)
}

// underlay wires the machines, each in its network namespace nets[i], to
// a bridge in the namespace hub.
// Equivalent to:
//
//	ip -n HUB link add br0 type bridge; ip -n HUB link set br0 up
//	ip -n HUB link add pI type veth peer name eth0 netns NET
//	ip -n HUB link set pI master br0 up
//	ip -n NET addr add ADDR dev eth0 [nodad]; ip -n NET link set eth0 up; ip -n NET link set lo up
func underlay(hub string, machines []Machine, nets []string) error {
	hubNS, err := openNetNS(hub)
	if err != nil {
		return err
	}
	defer hubNS.Close()
	h, err := netlink.NewHandleAt(netns.NsHandle(hubNS.Fd()))
	if err != nil {
		return fmt.Errorf("netlink in %s: %w", hub, err)
	}
	defer h.Close()
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: bridgeName}}
	if err := h.LinkAdd(br); err != nil {
		return fmt.Errorf("%s: add bridge %s: %w", hub, bridgeName, err)
	}
	if err := h.LinkSetUp(br); err != nil {
		return fmt.Errorf("%s: set %s up: %w", hub, bridgeName, err)
	}
	for i, m := range machines {
		if err := wire(h, br, fmt.Sprintf("p%d", i), m, nets[i]); err != nil {
			return fmt.Errorf("machine %s: %w", m.Name, err)
		}
	}
	return nil
}

// wire makes one machine's veth pair, its port on br and its eth0.
func wire(h *netlink.Handle, br *netlink.Bridge, port string, m Machine, netName string) error {
	mNS, err := openNetNS(netName)
	if err != nil {
		return err
	}
	defer mNS.Close()
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: port, MasterIndex: br.Index},
		PeerName:      machineDev,
		PeerNamespace: netlink.NsFd(int(mNS.Fd())),
	}
	if err := h.LinkAdd(veth); err != nil {
		return fmt.Errorf("add veth %s, peer %s: %w", port, machineDev, err)
	}
	if err := h.LinkSetUp(veth); err != nil {
		return fmt.Errorf("set %s up: %w", port, err)
	}
	mh, err := netlink.NewHandleAt(netns.NsHandle(mNS.Fd()))
	if err != nil {
		return fmt.Errorf("netlink in %s: %w", netName, err)
	}
	defer mh.Close()
	eth, err := mh.LinkByName(machineDev)
	if err != nil {
		return fmt.Errorf("find %s: %w", machineDev, err)
	}
	for _, p := range m.addrs() {
		a := &netlink.Addr{IPNet: &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}}
		if p.Addr().Is6() {
			a.Flags = unix.IFA_F_NODAD // usable at once, no 1-2s of tentative
		}
		if err := mh.AddrAdd(eth, a); err != nil {
			return fmt.Errorf("add %s to %s: %w", p, machineDev, err)
		}
	}
	if err := mh.LinkSetUp(eth); err != nil {
		return fmt.Errorf("set %s up: %w", machineDev, err)
	}
	lo, err := mh.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("find lo: %w", err)
	}
	if err := mh.LinkSetUp(lo); err != nil {
		return fmt.Errorf("set lo up: %w", err)
	}
	return nil
}

// addrs is the machine's underlay addresses, Addr and Addr6 when set.
func (m Machine) addrs() []netip.Prefix {
	var out []netip.Prefix
	for _, p := range []netip.Prefix{m.Addr, m.Addr6} {
		if p.IsValid() {
			out = append(out, p)
		}
	}
	return out
}
