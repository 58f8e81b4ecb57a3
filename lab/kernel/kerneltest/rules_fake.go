package kerneltest

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"netlab/lab/state"
)

// fakeRule is a policy routing rule of a namespace with its protocol.
// The kernel's own three rules (0, 32766, 32767) are not kept: nothing
// reads them.
type fakeRule struct {
	state.Rule // Owned unused: proto says it
	proto      int
}

// same reports whether two rules are one to the kernel: the same fields
// and protocol (the kernel keeps a person's rule beside netlab's).
func (r fakeRule) same(o fakeRule) bool {
	a, b := r.Rule, o.Rule
	a.Owned, b.Owned = false, false
	return a == b && r.proto == o.proto
}

// RuleAdd adds a rule marked with state.RouteProtocol; the same rule of
// netlab's again is not an error, as kernel.Linux has it.
func (f *Fake) RuleAdd(ctx context.Context, netns string, r state.Rule) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.beginLocked(ctx, "RuleAdd"); err != nil {
		return err
	}
	ns, err := f.machineSafeLocked(netns, "RuleAdd")
	if err != nil {
		return err
	}
	return f.sendLocked(ctx, func() error {
		if err := ns.addRule(fakeRule{r, state.RouteProtocol}); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("rule %s: add: %w", r.Text(), err)
		}
		return nil
	})
}

// RuleDel deletes a rule of netlab's; one already gone is not an error.
func (f *Fake) RuleDel(ctx context.Context, netns string, r state.Rule) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.beginLocked(ctx, "RuleDel"); err != nil {
		return err
	}
	ns, err := f.machineSafeLocked(netns, "RuleDel")
	if errors.Is(err, unix.ENOENT) {
		return nil // the namespace is gone, and the rule with it
	}
	if err != nil {
		return err
	}
	return f.sendLocked(ctx, func() error {
		ns.delRule(fakeRule{r, state.RouteProtocol})
		return nil
	})
}

// addRule checks a rule as the kernel does and keeps it.
func (ns *fakeNetNS) addRule(r fakeRule) error {
	if r.Table == 0 {
		return fmt.Errorf("rule without a table: %w", unix.EINVAL)
	}
	for _, p := range []netip.Prefix{r.From, r.To} {
		if p.IsValid() && p.Addr().Is6() != r.IPv6 {
			return fmt.Errorf("prefix %s in a rule of the other family: %w", p, unix.EINVAL)
		}
	}
	if r.Mark&^r.Mask != 0 {
		return fmt.Errorf("fwmark %#x/%#x: %w", r.Mark, r.Mask, unix.EINVAL)
	}
	r.Owned = false
	if slices.ContainsFunc(ns.rules, r.same) {
		return unix.EEXIST
	}
	ns.rules = append(ns.rules, r)
	return nil
}

// delRule deletes the rule of those fields and protocol, and reports
// whether there was one.
func (ns *fakeNetNS) delRule(r fakeRule) bool {
	before := len(ns.rules)
	ns.rules = slices.DeleteFunc(ns.rules, r.same)
	return len(ns.rules) < before
}

// observeRules is what Observe reads of the namespace's rules.
func (ns *fakeNetNS) observeRules() []state.Rule {
	var out []state.Rule
	for _, r := range ns.rules {
		sr := r.Rule
		sr.Owned = r.proto == state.RouteProtocol
		out = append(out, sr)
	}
	state.SortRules(out)
	return out
}

// ruleLine writes a rule with its own protocol.
func ruleLine(netns string, r fakeRule) string {
	line := strings.TrimSuffix(state.RuleAddCmd(netns, r.Rule), fmt.Sprintf(" proto %d", state.RouteProtocol))
	return line + " proto " + protoName(r.proto)
}

// handRule adds or deletes a rule by hand, as ip rule does: "add|del
// [priority N] [from P] [to P] [iif I] [oif O] [fwmark M[/K]] table T
// [proto P]". A rule added by hand is "boot"; a delete without proto
// takes the first rule of those fields whatever its protocol, as the
// kernel's does.
func handRule(ns *fakeNetNS, verb string, v6 bool, w words) error {
	r := fakeRule{proto: unix.RTPROT_BOOT}
	r.IPv6 = v6
	protoGiven := false
	err := w.eachPair(func(kw, v string) error {
		switch kw {
		case "priority", "pref", "prio":
			n, err := strconv.ParseUint(v, 0, 32)
			if err != nil {
				return fmt.Errorf("priority %q: %w", v, unix.EINVAL)
			}
			r.Priority = uint32(n)
		case "from", "to":
			p, err := netip.ParsePrefix(v)
			if err != nil {
				a, aerr := netip.ParseAddr(v)
				if aerr != nil {
					return fmt.Errorf("%s %q: %w", kw, v, unix.EINVAL)
				}
				p = netip.PrefixFrom(a, a.BitLen())
			}
			r.IPv6 = p.Addr().Is6()
			if kw == "from" {
				r.From = p.Masked()
			} else {
				r.To = p.Masked()
			}
		case "iif":
			r.IIf = v
		case "oif":
			r.OIf = v
		case "fwmark":
			m, k, hasMask := strings.Cut(v, "/")
			mark, err := strconv.ParseUint(m, 0, 32)
			if err != nil {
				return fmt.Errorf("fwmark %q: %w", v, unix.EINVAL)
			}
			mask := uint64(0xffffffff)
			if hasMask {
				if mask, err = strconv.ParseUint(k, 0, 32); err != nil {
					return fmt.Errorf("fwmark %q: %w", v, unix.EINVAL)
				}
			}
			r.Mark, r.Mask = uint32(mark), uint32(mask)
		case "table", "lookup":
			n, err := strconv.ParseUint(v, 0, 32)
			if err != nil {
				return fmt.Errorf("table %q: %w", v, unix.EINVAL)
			}
			r.Table = uint32(n)
		case "proto", "protocol":
			protoGiven = true
			var ok bool
			if r.proto, ok = protoNames[v]; !ok {
				if _, err := fmt.Sscan(v, &r.proto); err != nil {
					return fmt.Errorf("proto %q: %w", v, unix.EINVAL)
				}
			}
		default:
			return fmt.Errorf("rule: unknown argument %q", kw)
		}
		return nil
	})
	if err != nil {
		return err
	}
	switch verb {
	case "add", "a":
		return ns.addRule(r)
	case "del", "delete", "d":
		if protoGiven {
			if !ns.delRule(r) {
				return fmt.Errorf("rule %s: %w", r.Text(), unix.ENOENT)
			}
			return nil
		}
		for i, old := range ns.rules {
			if old.Rule == r.Rule {
				ns.rules = slices.Delete(ns.rules, i, i+1)
				return nil
			}
		}
		return fmt.Errorf("rule %s: %w", r.Text(), unix.ENOENT)
	}
	return fmt.Errorf("unknown rule command %q", verb)
}
