package trace

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/state"
)

// stubTracer is a kernel.Tracer for Follow's tests: it records what it
// is asked, and its traces deliver the events a test pushes.
type stubTracer struct {
	mu       sync.Mutex
	startErr error
	starts   []kernel.TraceMatch
	netns    [][]string
	sweeps   int
	traces   []*stubTrace
}

func (s *stubTracer) TraceStart(ctx context.Context, netns []string, m kernel.TraceMatch) (kernel.Trace, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.startErr != nil {
		return nil, s.startErr
	}
	s.starts = append(s.starts, m)
	s.netns = append(s.netns, slices.Clone(netns))
	t := &stubTrace{ch: make(chan kernel.TraceEvent, 64)}
	s.traces = append(s.traces, t)
	return t, nil
}

func (s *stubTracer) TraceSweep(ctx context.Context, netns []string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweeps++
	return nil, nil
}

// last is the trace started last.
func (s *stubTracer) last() *stubTrace {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.traces[len(s.traces)-1]
}

type stubTrace struct {
	mu     sync.Mutex
	ch     chan kernel.TraceEvent
	closes int
}

func (t *stubTrace) Events() <-chan kernel.TraceEvent { return t.ch }

func (t *stubTrace) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closes == 0 {
		close(t.ch)
	}
	t.closes++
	return nil
}

func (t *stubTrace) closed() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closes
}

func TestMain(m *testing.M) {
	quietWait = 20 * time.Millisecond // the stub's events are all in when the probe returns
	m.Run()
}

// twoNodes is an observed lab of two nodes of their own and a host node.
func twoNodes() *state.State {
	s := state.New("tl")
	s.Nodes["a"] = state.NewNode("a", state.NetNSName("tl", "a"))
	s.Nodes["b"] = state.NewNode("b", state.NetNSName("tl", "b"))
	h := state.NewNode("h", state.HostNetNS)
	h.Host = true
	s.Nodes["h"] = h
	return s
}

func TestFollowTracesTheLabsOwnNamespacesFromAPortAboveTheEphemeralRange(t *testing.T) {
	tr := &stubTracer{}
	var got []uint16
	for range 20 {
		_, err := Follow(context.Background(), tr, nil, twoNodes(), "udp", func(ctx context.Context, port uint16) error {
			got = append(got, port)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for i, p := range got {
		if p < 61000 {
			t.Errorf("probe %d: port %d, want one above the ephemeral range 32768-60999", i, p)
		}
		if tr.starts[i].Port != p || tr.starts[i].Proto != "udp" {
			t.Errorf("probe %d: trace matches %+v, probe sent from port %d", i, tr.starts[i], p)
		}
		if want := []string{"tl.a", "tl.b"}; !slices.Equal(tr.netns[i], want) {
			t.Errorf("probe %d: traced %v, want %v (never the host node's root namespace)", i, tr.netns[i], want)
		}
		if n := tr.traces[i].closed(); n != 1 {
			t.Errorf("probe %d: trace closed %d times, want 1", i, n)
		}
	}
	if slices.Equal(got[:10], got[10:]) {
		t.Errorf("20 probes all from the same ports %v: not random", got)
	}
	if tr.sweeps != 20 {
		t.Errorf("TraceSweep called %d times for 20 traces, want each before its start", tr.sweeps)
	}
}

func TestFollowPicksAnotherPortWhenTheProbesIsInUse(t *testing.T) {
	tr := &stubTracer{}
	var ports []uint16
	_, err := Follow(context.Background(), tr, nil, twoNodes(), "tcp", func(ctx context.Context, port uint16) error {
		ports = append(ports, port)
		if len(ports) < 3 {
			return fmt.Errorf("bind: %w", syscall.EADDRINUSE)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(ports) != 3 || len(tr.starts) != 3 {
		t.Fatalf("probe ran %d times under %d traces, want 3 and 3", len(ports), len(tr.starts))
	}
	for i, tc := range tr.traces {
		if tc.closed() != 1 {
			t.Errorf("trace %d closed %d times, want 1", i, tc.closed())
		}
		if tr.starts[i].Port != ports[i] {
			t.Errorf("trace %d follows port %d, its probe used %d", i, tr.starts[i].Port, ports[i])
		}
	}
}

func TestFollowGivesUpAfterPortTriesInUse(t *testing.T) {
	tr := &stubTracer{}
	runs := 0
	res, err := Follow(context.Background(), tr, nil, twoNodes(), "udp", func(ctx context.Context, port uint16) error {
		runs++
		return syscall.EADDRINUSE
	})
	if err != nil || res == nil {
		t.Fatalf("Follow: %v, %v; want the trace of the last try, whose probe failed", res, err)
	}
	if runs != portTries {
		t.Errorf("probe ran %d times, want %d", runs, portTries)
	}
}

func TestFollowClosesTheTraceWhenCtxEnds(t *testing.T) {
	tr := &stubTracer{}
	ctx, cancel := context.WithCancel(context.Background())
	_, err := Follow(ctx, tr, nil, twoNodes(), "icmp", func(ctx context.Context, port uint16) error {
		cancel() // Ctrl-C while the probe waits
		<-ctx.Done()
		return ctx.Err()
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Follow: %v, want context.Canceled", err)
	}
	if n := tr.last().closed(); n != 1 {
		t.Errorf("trace closed %d times after Ctrl-C, want 1", n)
	}
}

func TestFollowFailsWhenTheTraceCannotStart(t *testing.T) {
	tr := &stubTracer{startErr: errors.ErrUnsupported}
	ran := false
	_, err := Follow(context.Background(), tr, nil, twoNodes(), "icmp", func(ctx context.Context, port uint16) error {
		ran = true
		return nil
	})
	if !errors.Is(err, errors.ErrUnsupported) || ran {
		t.Errorf("Follow: %v (probe ran: %v), want ErrUnsupported and no probe", err, ran)
	}
}

func TestFollowRefusesALabWithNoNamespaceOfItsOwn(t *testing.T) {
	s := state.New("tl")
	h := state.NewNode("h", state.HostNetNS)
	h.Host = true
	s.Nodes["h"] = h
	tr := &stubTracer{}
	if _, err := Follow(context.Background(), tr, nil, s, "icmp", func(context.Context, uint16) error { return nil }); err == nil {
		t.Error("Follow on a lab of host nodes only: no error")
	}
	if len(tr.starts) != 0 {
		t.Error("Follow started a trace in the machine's root namespace")
	}
}

func TestCollectorWaitsForTheLastEventsAfterTheProbe(t *testing.T) {
	ch := make(chan kernel.TraceEvent, 8)
	c := collect(ch)
	go func() {
		for i := range 3 {
			time.Sleep(50 * time.Millisecond)
			ch <- kernel.TraceEvent{Seq: uint64(i)}
		}
	}()
	start := time.Now()
	c.settle(context.Background(), 150*time.Millisecond, 2*time.Second)
	close(ch)
	events := c.wait()
	if len(events) != 3 {
		t.Errorf("collected %d events, want the 3 that came within the quiet time of each other", len(events))
	}
	if d := time.Since(start); d < 300*time.Millisecond || d > time.Second {
		t.Errorf("settled after %s, want the last event (150ms) plus the quiet time (150ms)", d)
	}
}

func TestCollectorStopsAtTheCap(t *testing.T) {
	ch := make(chan kernel.TraceEvent, 8)
	c := collect(ch)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				select {
				case ch <- kernel.TraceEvent{}:
				case <-stop:
					return
				}
			}
		}
	}()
	start := time.Now()
	c.settle(context.Background(), 100*time.Millisecond, 300*time.Millisecond)
	if d := time.Since(start); d > 600*time.Millisecond {
		t.Errorf("a steady stream of events kept the collector %s, want the 300ms cap", d)
	}
}

// TestFollowSweepsLeftoverTables: a trace table no live trace owns (a
// netlab killed before the owner flag, a hand-made copy) is gone after
// a trace, and the trace's own tables too; the fake tracer keeps the
// tables as the kernel would.
func TestFollowSweepsLeftoverTables(t *testing.T) {
	tr := kerneltest.NewTracer()
	tr.Plant("tl.a", kernel.TraceTablePrefix+"_999_1")
	var during []string
	_, err := Follow(context.Background(), tr, nil, twoNodes(), "udp", func(ctx context.Context, port uint16) error {
		during = tr.Tables("tl.a")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(during) != 1 || during[0] == kernel.TraceTablePrefix+"_999_1" {
		t.Errorf("tables of tl.a while the probe ran: %v, want the trace's own only", during)
	}
	if got := tr.Tables("tl.a"); len(got) != 0 {
		t.Errorf("tables of tl.a after the trace: %v, want none", got)
	}
}
