package trace

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"syscall"
	"time"

	"netlab/lab/kernel"
	"netlab/lab/state"
)

// The probe's port. The trace matches the probe by its local port (or
// ICMP identifier), so the port must be one no other traffic of the lab
// uses: Follow picks it at random above the kernel's ephemeral range
// (net.ipv4.ip_local_port_range, 32768-60999 by default), where neither
// a connection's own port nor a service's usual one falls. A port in use
// (the probe's bind fails with EADDRINUSE) is given up for another, up
// to portTries times.
const (
	probePortLow  = 61000
	probePortHigh = 65535
	portTries     = 5
)

// How long Follow waits for the last events once the probe has ended:
// until quietWait passes with no new event, and at most collectCap. An
// answer's events are already in when the probe has it; the wait is for
// a dropped or lost packet's last hooks, and for the socket buffers of
// every namespace to be read.
var (
	quietWait  = 300 * time.Millisecond
	collectCap = 2 * time.Second
)

// pickPort returns a random port for the probe, above the ephemeral range.
func pickPort() uint16 {
	return uint16(probePortLow + rand.IntN(probePortHigh-probePortLow+1))
}

// Follow traces one probe: it picks the probe's port, starts tr on the
// namespaces of the lab in observed, runs probe, waits for the last
// events and assembles them into a Result (whose From, To, Target, Proto
// and Port the caller fills in). Routing steps are asked of hops.
//
// The namespaces traced are those of observed's nodes that netlab made:
// not a host: true node's (the machine's own, whose firewall netlab never
// touches) nor a foreign one. Leftover trace tables, which no live trace
// owns, are swept from them first. The trace tables are closed before
// Follow returns, whatever happens (ctx cancelled included); a netlab
// killed meanwhile leaves none either, as the kernel removes a table
// with its owner's socket.
//
// The error is the trace's own (it could not start, ctx ended); the
// probe's failure is the trace's matter and shows in the Result.
func Follow(ctx context.Context, tr kernel.Tracer, hops kernel.NetNS, observed *state.State, proto string, probe Probe) (*Result, error) {
	netns := labNetNS(observed)
	if len(netns) == 0 {
		return nil, fmt.Errorf("lab %s has no namespace of its own to trace", observed.Lab)
	}
	if _, err := tr.TraceSweep(ctx, netns); err != nil {
		return nil, fmt.Errorf("remove leftover trace tables: %w", err)
	}
	for try := 1; ; try++ {
		port := pickPort()
		run, err := followOnce(ctx, tr, netns, kernel.TraceMatch{Proto: proto, Port: port}, probe)
		if err != nil {
			return nil, err
		}
		if errors.Is(run.probeErr, syscall.EADDRINUSE) && try < portTries {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return Assemble(run.events, observed, hops, run.probeErr), nil
	}
}

// labNetNS lists the namespaces of the lab that the trace may add its
// tables to, in node order.
func labNetNS(observed *state.State) []string {
	var netns []string
	for _, name := range observed.NodeNames() {
		n := observed.Nodes[name]
		if n.Host || n.Foreign || n.NetNS == state.HostNetNS {
			continue
		}
		netns = append(netns, n.NetNS)
	}
	return netns
}

// traced is what one probe under a trace gave: the events of its
// packets, and the probe's own error.
type traced struct {
	events   []kernel.TraceEvent
	probeErr error
}

// followOnce runs the probe from port m.Port under one trace.
func followOnce(ctx context.Context, tr kernel.Tracer, netns []string, m kernel.TraceMatch, probe Probe) (traced, error) {
	t, err := tr.TraceStart(ctx, netns, m)
	if err != nil {
		return traced{}, fmt.Errorf("start the trace: %w", err)
	}
	c := collect(t.Events())
	closed := false
	closeTrace := func() error {
		if closed {
			return nil
		}
		closed = true
		return t.Close()
	}
	defer closeTrace()

	probeErr := probe(ctx, m.Port)
	c.settle(ctx, quietWait, collectCap)
	if err := closeTrace(); err != nil {
		return traced{}, fmt.Errorf("end the trace: %w", err)
	}
	return traced{events: c.wait(), probeErr: probeErr}, nil
}

// collector reads a trace's events as they come, so that no namespace's
// socket buffer fills while the probe runs.
type collector struct {
	mu     sync.Mutex
	events []kernel.TraceEvent
	last   time.Time // when the last event came
	done   chan struct{}
}

func collect(ch <-chan kernel.TraceEvent) *collector {
	c := &collector{last: time.Now(), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for e := range ch {
			c.mu.Lock()
			c.events = append(c.events, e)
			c.last = time.Now()
			c.mu.Unlock()
		}
	}()
	return c
}

// settle waits, from now (the probe's end), until no event has come for
// quiet, for at most max, or until ctx ends.
func (c *collector) settle(ctx context.Context, quiet, max time.Duration) {
	start := time.Now()
	capAt := start.Add(max)
	for {
		c.mu.Lock()
		until := c.last
		c.mu.Unlock()
		if until.Before(start) {
			until = start
		}
		until = until.Add(quiet)
		now := time.Now()
		if !until.After(now) || !capAt.After(now) {
			return
		}
		if until.After(capAt) {
			until = capAt
		}
		select {
		case <-ctx.Done():
			return
		case <-c.done:
			return
		case <-time.After(until.Sub(now)):
		}
	}
}

// wait returns the events once the channel is closed (Close has
// returned).
func (c *collector) wait() []kernel.TraceEvent {
	<-c.done
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.events
}
