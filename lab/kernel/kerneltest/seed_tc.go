package kerneltest

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"netlab/lab/state"
)

// handQdisc takes the tc lines of a link's egress, as state.EgressCmd
// writes them and as a user types them:
//
//	tc -n NETNS qdisc replace|add dev NAME root [handle H] tbf rate R [burst B] [latency L]
//	tc -n NETNS qdisc replace|add dev NAME root [handle H] netem [delay D] [loss P%] [rate R]
//	tc -n NETNS qdisc del dev NAME root [handle H]
//
// A root qdisc of another handle than 4e: is someone else's: observed as
// the link's OtherQdisc, not its egress.
func handQdisc(ns *fakeNetNS, verb string, w words) error {
	var dev, handle, kind string
	m := state.Impairment{}
	for {
		kw, ok := w.next()
		if !ok {
			break
		}
		switch kw {
		case "root":
			continue
		case "tbf", "netem":
			kind = kw
			continue
		}
		v, err := w.value(kw)
		if err != nil {
			return err
		}
		switch kw {
		case "dev":
			dev = v
		case "handle":
			handle = v
		case "rate":
			if m.Rate, err = parseRate(v); err != nil {
				return err
			}
		case "delay":
			if m.Delay, err = time.ParseDuration(v); err != nil {
				return fmt.Errorf("delay %q: %w", v, unix.EINVAL)
			}
		case "loss":
			if m.Loss, err = strconv.ParseFloat(strings.TrimSuffix(v, "%"), 64); err != nil {
				return fmt.Errorf("loss %q: %w", v, unix.EINVAL)
			}
		case "burst", "latency", "limit":
		default:
			return fmt.Errorf("qdisc: unknown argument %q", kw)
		}
	}
	fl := ns.byName(dev)
	if fl == nil {
		return fmt.Errorf("dev %s: %w", dev, unix.ENODEV)
	}
	ours := handle == state.EgressHandleText
	switch verb {
	case "del", "delete":
		if ours || handle == "" {
			fl.egress = state.Impairment{}
		}
		fl.otherQdisc = ""
		return nil
	case "replace", "add":
		if kind == "" {
			return errors.New("qdisc: tbf or netem")
		}
		if !ours {
			fl.egress, fl.otherQdisc = state.Impairment{}, kind+" "+handle
			return nil
		}
		fl.egress, fl.otherQdisc = m.Normal(), ""
		return nil
	}
	return fmt.Errorf("unknown qdisc command %q", verb)
}

// parseRate reads a rate as tc writes it: 10mbit, 512kbit, 9600bit.
func parseRate(s string) (uint64, error) {
	low := strings.ToLower(s)
	for _, u := range []struct {
		name string
		n    uint64
	}{{"gbit", 1e9}, {"mbit", 1e6}, {"kbit", 1e3}, {"bit", 1}} {
		if num, ok := strings.CutSuffix(low, u.name); ok {
			n, err := strconv.ParseUint(num, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("rate %q: %w", s, unix.EINVAL)
			}
			return n * u.n, nil
		}
	}
	return 0, fmt.Errorf("rate %q: %w", s, unix.EINVAL)
}
