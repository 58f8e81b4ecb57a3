package apply

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"netlab/lab/device"
	"netlab/lab/kernel"
	"netlab/lab/state"
)

// stpPoll is how often AwaitSTP reads the ports again.
const stpPoll = 200 * time.Millisecond

// STPBound is how long AwaitSTP waits for a bridge: a port listens and
// then learns for a forward delay each, and a blocked path is noticed
// within max age; a second more covers the first hello.
func STPBound(s *state.STPSettings) time.Duration {
	return 2*s.ForwardDelay + s.MaxAge + time.Second
}

// AwaitSTP waits until every port of every bridge of desired that runs
// STP has settled, forwarding or blocking (or disabled: down), so that
// checks run on a converged tree rather than on ports still listening or
// learning. progress, if set, is told which ports are still settling. It
// gives up, with the ports that did not settle, after the largest
// STPBound of the lab's bridges.
func AwaitSTP(ctx context.Context, k kernel.Kernel, desired *state.State, progress func(string)) error {
	var bound time.Duration
	for _, n := range desired.Nodes {
		for _, l := range n.Links {
			if l.Kind == device.Bridge && l.STP && l.STPSettings != nil {
				bound = max(bound, STPBound(l.STPSettings))
			}
		}
	}
	if bound == 0 {
		return nil
	}
	deadline := time.Now().Add(bound)
	for {
		observed, err := k.Observe(ctx, desired.Lab, desired)
		if err != nil {
			return fmt.Errorf("read the bridge ports: %w", err)
		}
		unsettled := UnsettledPorts(desired, observed)
		if len(unsettled) == 0 {
			return nil
		}
		if progress != nil {
			progress("spanning tree settling: " + strings.Join(unsettled, ", "))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the spanning tree did not settle within %s: %s", bound.Round(time.Second), strings.Join(unsettled, ", "))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(stpPoll):
		}
	}
}

// UnsettledPorts lists, as NODE:PORT (STATE), the ports of the STP
// bridges of desired that observed shows listening or learning.
func UnsettledPorts(desired, observed *state.State) []string {
	var out []string
	for _, name := range desired.NodeNames() {
		n, on := desired.Nodes[name], observed.Nodes[name]
		if on == nil {
			continue
		}
		for _, p := range on.Links {
			if b := n.Links[p.Master]; b != nil && b.Kind == device.Bridge && b.STP && p.PortState != "" && !state.Settled(p.PortState) {
				out = append(out, fmt.Sprintf("%s:%s (%s)", name, p.Name, p.PortState))
			}
		}
	}
	sort.Strings(out)
	return out
}
