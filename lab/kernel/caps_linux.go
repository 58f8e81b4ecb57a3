package kernel

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"netlab/lab/device"
	"netlab/lab/state"
)

// capCache is what this process found of each need: the kernel does not
// grow a module between two plans of one netlab.
var capCache struct {
	mu     sync.Mutex
	answer map[Need]error // nil error: the kernel has it
}

// Lacks probes the needs not probed yet in a fresh namespace, freed as
// soon as the probe's thread leaves it, and answers from the cache.
func (k *Linux) Lacks(ctx context.Context, needs []Need) (map[Need]error, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	capCache.mu.Lock()
	defer capCache.mu.Unlock()
	if capCache.answer == nil {
		capCache.answer = make(map[Need]error)
	}
	var todo []Need
	for _, n := range needs {
		if _, ok := capCache.answer[n]; !ok && !slices.Contains(todo, n) {
			todo = append(todo, n)
		}
	}
	if len(todo) > 0 {
		found := make(map[Need]error, len(todo))
		err := InFreshNetNS(func() error {
			h, err := netlink.NewHandle()
			if err != nil {
				return fmt.Errorf("netlink: %w", err)
			}
			defer h.Close()
			for _, n := range todo {
				found[n] = probe(h, n)
			}
			return nil
		})
		if err != nil && !IsPerm(err) {
			return nil, fmt.Errorf("probe the kernel in a new namespace: %w", err)
		}
		// A probe the kernel did not answer with a lack (no namespace of
		// our own allowed, /dev/net/tun closed to this user) tells
		// nothing: the need counts as met, and up meets the real error
		// where it makes the device.
		for _, n := range todo {
			e := found[n]
			if e != nil && !lacking(e) {
				e = nil
			}
			capCache.answer[n] = e
		}
	}
	out := make(map[Need]error)
	for _, n := range needs {
		if e := capCache.answer[n]; e != nil {
			out[n] = fmt.Errorf("%w (%s): %v", ErrLacking, n.Option(), e)
		}
	}
	return out, nil
}

// lacking reports whether a probe's error is the kernel saying it does
// not know the kind or qdisc (EOPNOTSUPP from the netlink library for an
// unknown link kind, ENOENT or EINVAL for a missing qdisc module).
func lacking(err error) bool {
	return errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EINVAL) ||
		errors.Is(err, unix.ENODEV) || errors.Is(err, unix.EAFNOSUPPORT)
}

// probe makes what n names in the probe's namespace. The namespace goes
// with everything in it, so nothing is deleted here.
func probe(h *netlink.Handle, n Need) error {
	attrs := func(name string) netlink.LinkAttrs {
		a := netlink.NewLinkAttrs()
		a.Name = name
		return a
	}
	// Each probe that needs a device to sit on makes its own dummy-free
	// base: a veth end (veth is what every lab is made of).
	base := func() (netlink.Link, error) {
		if l, err := h.LinkByName("nlcap0"); err == nil {
			return l, nil
		}
		v := &netlink.Veth{LinkAttrs: attrs("nlcap0"), PeerName: "nlcap1"}
		if err := h.LinkAdd(v); err != nil {
			return nil, err
		}
		if err := h.LinkSetUp(v); err != nil {
			return nil, err
		}
		return h.LinkByName("nlcap0")
	}
	switch n {
	case Need(device.Veth):
		_, err := base()
		return err
	case Need(device.Bridge):
		return h.LinkAdd(&netlink.Bridge{LinkAttrs: attrs("nlcapbr")})
	case Need(device.VXLAN):
		return h.LinkAdd(&netlink.Vxlan{LinkAttrs: attrs("nlcapvx"), VxlanId: 1, Port: 4789})
	case Need(device.Tun), Need(device.Tap):
		mode := netlink.TUNTAP_MODE_TUN
		if n == Need(device.Tap) {
			mode = netlink.TUNTAP_MODE_TAP
		}
		return h.LinkAdd(&netlink.Tuntap{LinkAttrs: attrs("nlcap" + string(n)), Mode: mode, Flags: netlink.TUNTAP_NO_PI | netlink.TUNTAP_DEFAULTS})
	case Need(device.MACVLAN), NeedVLAN:
		b, err := base()
		if err != nil {
			return fmt.Errorf("veth to sit on: %w", err)
		}
		a := attrs("nlcapup")
		a.ParentIndex = b.Attrs().Index
		if n == NeedVLAN {
			a.Name = "nlcapvlan"
			return h.LinkAdd(&netlink.Vlan{LinkAttrs: a, VlanId: 10, VlanProtocol: netlink.VLAN_PROTOCOL_8021Q})
		}
		return h.LinkAdd(&netlink.Macvlan{LinkAttrs: a, Mode: netlink.MACVLAN_MODE_BRIDGE})
	case NeedTBF, NeedNetem:
		b, err := base()
		if err != nil {
			return fmt.Errorf("veth to sit on: %w", err)
		}
		m := state.Impairment{Rate: 1e6}
		if n == NeedNetem {
			m = state.Impairment{Delay: time.Millisecond}
		}
		c := &nsConn{h: h}
		return setEgress(c, b.Attrs().Index, m)
	}
	return fmt.Errorf("need %q: %w", n, errors.ErrUnsupported)
}
