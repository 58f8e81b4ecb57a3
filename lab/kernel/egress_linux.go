package kernel

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"netlab/lab/state"
)

// setEgress puts netlab's root qdisc (handle 4e:) on a link: tbf for a
// rate alone, netem for a delay or a loss (with netem's own rate). None
// deletes netlab's qdisc, if there is one, and leaves any other.
// Equivalent to: tc -n NETNS qdisc replace dev NAME root handle 4e: tbf rate R burst B latency 50ms
func setEgress(c *nsConn, index int, m state.Impairment) error {
	attrs := netlink.QdiscAttrs{LinkIndex: index, Handle: state.EgressHandle, Parent: netlink.HANDLE_ROOT}
	var q netlink.Qdisc
	switch m.Qdisc() {
	case "":
		err := c.h.QdiscDel(&netlink.GenericQdisc{QdiscAttrs: attrs, QdiscType: "tbf"})
		if err == nil || IsNotFound(err) || isNoQdisc(err) {
			return nil
		}
		return fmt.Errorf("delete root qdisc %s: %w", state.EgressHandleText, err)
	case "tbf":
		rate := m.Rate / 8 // bytes a second
		q = &netlink.Tbf{
			QdiscAttrs: attrs,
			Rate:       rate,
			Buffer:     netlink.Xmittime(rate, state.TBFBurst(m.Rate)),
			Limit:      state.TBFLimit(m.Rate),
		}
	default:
		q = netlink.NewNetem(attrs, netlink.NetemQdiscAttrs{
			Latency: uint32(m.Delay / time.Microsecond),
			Loss:    float32(m.Loss),
			Rate64:  m.Rate / 8,
		})
	}
	if err := c.h.QdiscReplace(q); err != nil {
		return fmt.Errorf("replace root qdisc %s %s: %w", state.EgressHandleText, m.Qdisc(), err)
	}
	return nil
}

// isNoQdisc is the kernel's answer to the delete of a root qdisc that is
// the default one (EINVAL, "Cannot delete qdisc with handle of zero") or
// of another handle than asked (ENOENT is IsNotFound's).
func isNoQdisc(err error) bool {
	return errors.Is(err, unix.EINVAL)
}

// observeEgress reads the root qdisc of each link of a namespace: netlab's
// (handle 4e:, tbf or netem) becomes the link's Egress, another one its
// OtherQdisc. The kernel's default (handle 0:, or a multiqueue's mq) is
// neither.
func observeEgress(c *nsConn, byIndex map[int]*state.Link) error {
	qs, err := retryDump("list qdiscs", func() ([]netlink.Qdisc, error) { return c.h.QdiscList(nil) })
	if err != nil {
		return err
	}
	for _, q := range qs {
		a := q.Attrs()
		l, ok := byIndex[a.LinkIndex]
		if !ok || a.Parent != netlink.HANDLE_ROOT {
			continue
		}
		if a.Handle != state.EgressHandle {
			if a.Handle>>16 != 0 && q.Type() != "mq" && q.Type() != "noqueue" {
				l.OtherQdisc = fmt.Sprintf("%s %x:", q.Type(), a.Handle>>16) // as tc writes a root's handle
			}
			continue
		}
		switch t := q.(type) {
		case *netlink.Tbf:
			l.Egress = state.Impairment{Rate: t.Rate * 8}
		case *netlink.Netem:
			l.Egress = state.Impairment{
				Rate:  t.Rate64 * 8,
				Delay: time.Duration(float64(t.Latency)/netlink.TickInUsec()) * time.Microsecond,
				// The kernel keeps a probability of 2^32.
				Loss: float64(t.Loss) / math.MaxUint32 * 100,
			}.Normal()
		default:
			l.OtherQdisc = fmt.Sprintf("%s %s", q.Type(), state.EgressHandleText)
		}
	}
	return nil
}
