package kernel

import (
	"context"
	"errors"
	"fmt"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"netlab/lab/state"
)

// nlRule is the netlink form of a rule, marked as netlab's.
func nlRule(r state.Rule) *netlink.Rule {
	nr := netlink.NewRule()
	nr.Family = unix.AF_INET
	if r.IPv6 {
		nr.Family = unix.AF_INET6
	}
	nr.Priority = int(r.Priority)
	nr.Table = int(r.Table)
	nr.Protocol = state.RouteProtocol
	if r.From.IsValid() {
		nr.Src = ipNet(r.From)
	}
	if r.To.IsValid() {
		nr.Dst = ipNet(r.To)
	}
	nr.IifName = r.IIf
	nr.OifName = r.OIf
	if r.Mask != 0 {
		mask := r.Mask
		nr.Mark, nr.Mask = r.Mark, &mask
	}
	return nr
}

// RuleAdd adds a rule of netlab's.
func (k *Linux) RuleAdd(ctx context.Context, netnsName string, r state.Rule) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := machineSafe(netnsName, "RuleAdd"); err != nil {
		return err
	}
	c, err := k.conn(netnsName)
	if err != nil {
		return err
	}
	// The kernel refuses a second rule of the same fields and protocol
	// (EEXIST): then it is netlab's already, which is what was asked.
	if err := c.h.RuleAdd(nlRule(r)); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("rule %s: add: %w", r.Text(), err)
	}
	return nil
}

// RuleDel deletes a rule of netlab's: the kernel matches the protocol
// the request carries, so a rule without netlab's mark is never the one
// deleted.
func (k *Linux) RuleDel(ctx context.Context, netnsName string, r state.Rule) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := machineSafe(netnsName, "RuleDel"); err != nil {
		return err
	}
	c, err := k.conn(netnsName)
	if err != nil {
		if IsNotFound(err) { // the namespace is gone, and the rule with it
			return nil
		}
		return err
	}
	if err := c.h.RuleDel(nlRule(r)); err != nil && !IsNotFound(err) {
		return fmt.Errorf("rule %s: delete: %w", r.Text(), err)
	}
	return nil
}

// observeRules reads a namespace's rules, IPv4 and IPv6, but for the
// kernel's own (protocol kernel), which are no one's to manage.
func observeRules(c *nsConn) ([]state.Rule, error) {
	rules, err := retryDump("list rules", func() ([]netlink.Rule, error) {
		return c.h.RuleList(netlink.FAMILY_ALL)
	})
	if err != nil {
		return nil, err
	}
	var out []state.Rule
	for _, r := range rules {
		if r.Protocol == unix.RTPROT_KERNEL || kernelDefaultRule(r) {
			continue
		}
		sr := state.Rule{
			IPv6:     r.Family == unix.AF_INET6,
			Priority: uint32(r.Priority),
			IIf:      r.IifName,
			OIf:      r.OifName,
			Table:    uint32(r.Table),
			Owned:    int(r.Protocol) == state.RouteProtocol,
		}
		if r.Src != nil {
			sr.From, _ = prefixOf(r.Src)
		}
		if r.Dst != nil {
			sr.To, _ = prefixOf(r.Dst)
		}
		if r.Mask != nil || r.Mark != 0 {
			sr.Mark = r.Mark
			sr.Mask = 0xffffffff
			if r.Mask != nil {
				sr.Mask = *r.Mask
			}
		}
		out = append(out, sr)
	}
	state.SortRules(out)
	return out, nil
}

// kernelDefaultRule reports whether r is one of the three rules every
// namespace starts with (0 local, 32766 main, 32767 default) as a kernel
// before 4.17 sends them: without FRA_PROTOCOL, so not told by protocol.
func kernelDefaultRule(r netlink.Rule) bool {
	if r.Protocol != unix.RTPROT_UNSPEC || r.Src != nil || r.Dst != nil || r.IifName != "" || r.OifName != "" || r.Mark != 0 || r.Mask != nil {
		return false
	}
	switch r.Priority {
	case 0:
		return r.Table == unix.RT_TABLE_LOCAL
	case 32766:
		return r.Table == unix.RT_TABLE_MAIN
	case 32767:
		return r.Table == unix.RT_TABLE_DEFAULT
	}
	return false
}
