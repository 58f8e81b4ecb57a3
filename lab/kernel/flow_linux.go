package kernel

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Flow is a packet as a namespace's policy rules see it: where it goes,
// where it comes from, the interface it came in on ("" for one the
// namespace sends itself) and its firewall mark.
type Flow struct {
	Dst  netip.Addr
	Src  netip.Addr // invalid: the kernel picks, as for a socket not bound
	IIf  string
	Mark uint32
}

// FlowHops is a NetNS that asks the route of a whole flow, rules and
// all: NextHop asks for the destination alone, which is the main table's
// answer (rule 32766) in a namespace whose rules send some sources to
// another table. The Linux kernel is one; the fake network, which has
// no rules, is not, and its NextHop is then the answer.
type FlowHops interface {
	// FlowHop is NextHop for f: the route the kernel picks for a packet
	// from f.Src (coming in on f.IIf, forwarded, when it is set) with
	// mark f.Mark.
	// Equivalent to: ip -n NETNS route get DST [from SRC] [iif IIF] [mark MARK]
	FlowHop(netns string, f Flow) (Hop, error)
}

var _ FlowHops = (*Linux)(nil)

// FlowHop asks the kernel for the route of f.
func (k *Linux) FlowHop(netnsName string, f Flow) (Hop, error) {
	fd, err := k.openNetNS(netnsName)
	if err != nil {
		return Hop{}, err
	}
	defer fd.Close()
	h, err := netlink.NewHandleAt(fd, unix.NETLINK_ROUTE)
	if err != nil {
		return Hop{}, fmt.Errorf("netlink in %s: %w", netnsName, err)
	}
	defer h.Close()
	// Zero options add nothing to the request: a flow of a destination
	// alone is NextHop's question.
	opts := &netlink.RouteGetOptions{Iif: f.IIf, Mark: f.Mark}
	what := "route to " + f.Dst.String()
	if f.Src.IsValid() {
		opts.SrcAddr = net.IP(f.Src.AsSlice())
		what += " from " + f.Src.String()
	}
	routes, err := h.RouteGetWithOptions(net.IP(f.Dst.AsSlice()), opts)
	if err != nil {
		return Hop{}, fmt.Errorf("%s: %w", what, err)
	}
	return hopOf(h, routes, f.Dst)
}
