package check_test

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"slices"
	"sync"
	"testing"

	"netlab/lab/check"
	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/plan"
)

// tracingNet is the fake network with a kernel.Tracer beside it that
// records the traces asked of it (their events are the fake's to give:
// none), and what the probes sent from: the local port of each dial, the
// identifier of each echo request.
type tracingNet struct {
	*kerneltest.Net
	mu      sync.Mutex
	matches []kernel.TraceMatch
	netns   [][]string
	closed  int
	dialed  []uint16
	echoIDs []uint16
}

func (n *tracingNet) TraceStart(ctx context.Context, netns []string, m kernel.TraceMatch) (kernel.Trace, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.matches = append(n.matches, m)
	n.netns = append(n.netns, slices.Clone(netns))
	return &emptyTrace{n: n, ch: make(chan kernel.TraceEvent)}, nil
}

func (n *tracingNet) TraceSweep(ctx context.Context, netns []string) ([]string, error) {
	return nil, nil
}

func (n *tracingNet) DialFromIn(ctx context.Context, netns, network string, localPort uint16, address string) (net.Conn, error) {
	n.mu.Lock()
	n.dialed = append(n.dialed, localPort)
	n.mu.Unlock()
	return n.Net.DialFromIn(ctx, netns, network, localPort, address)
}

func (n *tracingNet) ListenPacketIn(netns, network, address string) (net.PacketConn, error) {
	c, err := n.Net.ListenPacketIn(netns, network, address)
	if err != nil || (network != "ip4:icmp" && network != "ip6:ipv6-icmp") {
		return c, err
	}
	return &echoRecorder{PacketConn: c, n: n}, nil
}

// echoRecorder records the identifier of each ICMP message written.
type echoRecorder struct {
	net.PacketConn
	n *tracingNet
}

func (e *echoRecorder) WriteTo(b []byte, addr net.Addr) (int, error) {
	if len(b) >= 8 {
		e.n.mu.Lock()
		e.n.echoIDs = append(e.n.echoIDs, binary.BigEndian.Uint16(b[4:6]))
		e.n.mu.Unlock()
	}
	return e.PacketConn.WriteTo(b, addr)
}

type emptyTrace struct {
	n    *tracingNet
	once sync.Once
	ch   chan kernel.TraceEvent
}

func (t *emptyTrace) Events() <-chan kernel.TraceEvent { return t.ch }
func (t *emptyTrace) Close() error {
	t.once.Do(func() {
		t.n.mu.Lock()
		t.n.closed++
		t.n.mu.Unlock()
		close(t.ch)
	})
	return nil
}

// TestTraceSendsTheProbeFromTheTracedPort proves that check.Trace's
// probe is the one the trace follows: a TCP or UDP probe dials from the
// trace's port, an ICMP one carries it as its identifier; and that the
// probe is still the check's own, answered by its responder.
func TestTraceSendsTheProbeFromTheTracedPort(t *testing.T) {
	t.Parallel()
	l := routedLab(t,
		"{from: c1, to: server, proto: tcp, port: 8080}",
		"{from: c1, to: server, proto: udp, port: 53}",
		"{from: c1, to: server}",
	)
	for _, c := range l.Checks {
		t.Run(c.Proto, func(t *testing.T) {
			n := &tracingNet{Net: fakeNet(l)}
			res, r := check.Trace(context.Background(), n, n, l, plan.Desired(l), c)
			if r.Err != nil || !r.Passed || !r.Reached {
				t.Fatalf("%s: err %v passed %v reached %v reason %q", r.Name, r.Err, r.Passed, r.Reached, r.Reason)
			}
			if len(n.matches) != 1 || n.matches[0].Proto != c.Proto {
				t.Fatalf("traces %+v, want one of %s", n.matches, c.Proto)
			}
			port := n.matches[0].Port
			sent := n.dialed
			if c.Proto == "icmp" {
				sent = n.echoIDs
			}
			if len(sent) == 0 || !slices.Contains(sent, port) {
				t.Errorf("probe sent from %v, the trace follows %d", sent, port)
			}
			if want := []string{"fk.c1", "fk.c2", "fk.router", "fk.server"}; !slices.Equal(n.netns[0], want) {
				t.Errorf("traced %v, want every namespace of the lab %v", n.netns[0], want)
			}
			if n.closed != 1 {
				t.Errorf("trace closed %d times, want 1", n.closed)
			}
			if res == nil || res.From != "c1" || res.To != "server" || res.Proto != c.Proto || res.Target.String() != "198.51.100.183" {
				t.Errorf("trace result %+v, want from c1 to server (198.51.100.183), %s", res, c.Proto)
			}
		})
	}
}

// TestRunPathCheckNeedsATracer: without a tracer, a path check cannot
// pass, and says why; the other checks run as ever.
func TestRunPathCheckNeedsATracer(t *testing.T) {
	t.Parallel()
	l := routedLab(t,
		"{from: c1, to: server, proto: udp, via: [router], nat: none}",
		"{from: c1, to: server, proto: udp}",
	)
	res := check.Run(context.Background(), fakeNet(l), l, l.Checks)
	if r := res[0]; r.Passed || !errors.Is(r.Err, check.ErrNoTrace) {
		t.Errorf("path check without a tracer: passed %v, err %v; want ErrNoTrace", r.Passed, r.Err)
	}
	if r := res[1]; !r.Passed {
		t.Errorf("plain check beside it: %s", r.Detail())
	}
}

// TestRunTracesOnlyPathChecks: check.Run sends a path check's probe
// under a trace, and no other.
func TestRunTracesOnlyPathChecks(t *testing.T) {
	t.Parallel()
	l := routedLab(t,
		"{from: c1, to: server, proto: udp, via: [router]}",
		"{from: c1, to: server, proto: tcp}",
	)
	n := &tracingNet{Net: fakeNet(l)}
	res := check.Run(context.Background(), n, l, l.Checks)
	if len(n.matches) != 1 || n.matches[0].Proto != "udp" {
		t.Errorf("traces %+v, want one, of the udp path check", n.matches)
	}
	if res[0].Path == nil {
		t.Error("path check ran with a tracer but has no path")
	}
	if res[1].Path != nil || !res[1].Passed {
		t.Errorf("plain check: path %v, detail %s", res[1].Path, res[1].Detail())
	}
}
