package labfile

import (
	"fmt"
	"net/netip"
	"time"

	"go.yaml.in/yaml/v3"
)

var (
	netipPrefixZero4 = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	netipPrefixZero6 = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
)

func parseAddr(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return a, err
	}
	if a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("zone not allowed")
	}
	return a.Unmap(), nil
}

func parseAddrPort(s string) (netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return ap, err
	}
	if ap.Addr().Zone() != "" {
		return netip.AddrPort{}, fmt.Errorf("zone not allowed")
	}
	return ap, nil
}

// maxTimeout bounds a check's timeout: a check is a quick probe, and a
// grader should never hang on a typo like 1h.
const maxTimeout = time.Minute

// duration reads a Go-style duration such as 500ms or 2s, more than 0
// and at most hi: a check's timeout (maxTimeout), an interface's delay
// (lab.MaxDelay).
func (d *decoder) duration(n *yaml.Node, what string, hi time.Duration) (time.Duration, bool) {
	t, ok := d.anyDuration(n, what)
	if !ok {
		return 0, false
	}
	if t <= 0 || t > hi {
		d.diags.Errorf(d.pos(n), "%s %s is out of range: use more than 0s and at most %s", what, t, hi)
		return 0, false
	}
	return t, true
}

// anyDuration reads a Go-style duration such as 500ms or 2s, of any
// length: what range is sensible is for its caller (or validate) to say.
func (d *decoder) anyDuration(n *yaml.Node, what string) (time.Duration, bool) {
	if n.Kind == yaml.ScalarNode && (n.ShortTag() == "!!int" || n.ShortTag() == "!!float") {
		hint := "add the unit, like 500ms or 2s"
		if _, err := time.ParseDuration(n.Value + "s"); err == nil {
			hint = fmt.Sprintf("add the unit, like %ss or %sms", n.Value, n.Value)
		}
		d.diags.Hintf(d.pos(n), hint, "%s must be a duration, not %s", what, describe(n))
		return 0, false
	}
	s, ok := d.str(n, what)
	if !ok {
		return 0, false
	}
	t, err := time.ParseDuration(s)
	if err != nil {
		d.diags.Hintf(d.pos(n), "write a duration like 500ms or 2s", "%s %q is not a duration", what, clip(s))
		return 0, false
	}
	return t, true
}
