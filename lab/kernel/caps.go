package kernel

import (
	"context"
	"errors"

	"netlab/lab/device"
)

// Need is a piece of the kernel a lab uses that a kernel may be built
// without: a device kind, a qdisc, 802.1Q.
type Need string

// The needs beyond the device kinds (Need(device.Bridge) and so on).
const (
	NeedVLAN  Need = "802.1q" // VLAN devices
	NeedNetem Need = "netem"  // the netem qdisc: delay, loss
	NeedTBF   Need = "tbf"    // the tbf qdisc: a rate alone
)

// needOptions are the kernel options that provide each need.
var needOptions = map[Need]string{
	NeedVLAN:             "CONFIG_VLAN_8021Q",
	NeedNetem:            "CONFIG_NET_SCH_NETEM",
	NeedTBF:              "CONFIG_NET_SCH_TBF",
	Need(device.Veth):    "CONFIG_VETH",
	Need(device.Bridge):  "CONFIG_BRIDGE",
	Need(device.MACVLAN): "CONFIG_MACVLAN",
	Need(device.VXLAN):   "CONFIG_VXLAN",
	Need(device.Tun):     "CONFIG_TUN",
	Need(device.Tap):     "CONFIG_TUN",
}

// Option is the kernel option (Kconfig) that provides the need.
func (n Need) Option() string {
	if o, ok := needOptions[n]; ok {
		return o
	}
	return "the kernel's support for " + string(n)
}

// Needs lists every need the kernel can be asked about, in a stable order.
var Needs = []Need{
	Need(device.Veth), Need(device.Bridge), Need(device.MACVLAN), Need(device.VXLAN),
	Need(device.Tun), Need(device.Tap), NeedVLAN, NeedTBF, NeedNetem,
}

// ErrLacking is what Lacks reports for a need the kernel does not have.
var ErrLacking = errors.New("the kernel lacks it")

// CapKernel tells what the kernel lacks of what a lab needs.
type CapKernel interface {
	// Lacks returns, for each of needs the kernel does not have, why
	// (an error wrapping ErrLacking, with the kernel's answer). The
	// Linux kernel finds out by making each device or qdisc in a
	// throw-away namespace of its own, once a process.
	Lacks(ctx context.Context, needs []Need) (map[Need]error, error)
}
