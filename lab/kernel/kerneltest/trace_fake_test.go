package kerneltest_test

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
)

// scriptFor answers a trace of udp with one event in each of the given
// namespaces, naming the port it was asked for in Chain, so a test sees
// which match the script ran for.
func scriptFor(netns ...string) func(m kernel.TraceMatch) []kernel.TraceEvent {
	return func(m kernel.TraceMatch) []kernel.TraceEvent {
		var out []kernel.TraceEvent
		for _, ns := range netns {
			out = append(out, kernel.TraceEvent{NetNS: ns, Hook: "output", Chain: m.Proto, Own: true, OwnFirst: true, Rule: uint64(m.Port)})
		}
		return out
	}
}

func drain(t *testing.T, tr kernel.Trace, n int) []kernel.TraceEvent {
	t.Helper()
	var out []kernel.TraceEvent
	for len(out) < n {
		select {
		case e, ok := <-tr.Events():
			if !ok {
				t.Fatalf("events closed after %d of %d", len(out), n)
			}
			out = append(out, e)
		case <-time.After(2 * time.Second):
			t.Fatalf("%d of %d events after 2s", len(out), n)
		}
	}
	return out
}

// At start, a trace reports its script's events of its own namespaces,
// numbered; Close removes its tables, closes the channel, and may be
// called again.
func TestTracerScriptAtStart(t *testing.T) {
	tr := kerneltest.NewTracer()
	tr.Script(scriptFor("l.a", "l.b", "l.other"))
	trace, err := tr.TraceStart(context.Background(), []string{"l.a", "l.b"}, kernel.TraceMatch{Proto: "udp", Port: 40001})
	if err != nil {
		t.Fatal(err)
	}
	if got := tr.Tables("l.a"); len(got) != 1 || !strings.HasPrefix(got[0], kernel.TraceTablePrefix+"_") {
		t.Errorf("tables of l.a while tracing: %v", got)
	}
	events := drain(t, trace, 2)
	if events[0].NetNS != "l.a" || events[1].NetNS != "l.b" || events[0].Seq != 1 || events[1].Seq != 2 || events[0].Rule != 40001 {
		t.Errorf("events %+v", events)
	}
	if err := trace.Close(); err != nil {
		t.Fatal(err)
	}
	if err := trace.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, ok := <-trace.Events(); ok {
		t.Error("an event after Close; l.other's must not come at all")
	}
	if got := tr.Tables("l.a"); len(got) != 0 {
		t.Errorf("tables after Close: %v", got)
	}
	if log := tr.Log(); len(log) != 4 || !strings.HasPrefix(log[0], "add l.a ") || !strings.HasPrefix(log[3], "del l.b ") {
		t.Errorf("log %v: want the two tables added, then deleted", log)
	}
	if tr.Live() != 0 {
		t.Errorf("%d traces live after Close", tr.Live())
	}
}

// Attached to a Net, a trace reports when a packet it matches is sent:
// the probe on its port, not another.
func TestTracerScriptOnProbe(t *testing.T) {
	n := twoNodes()
	tr := kerneltest.NewTracer()
	tr.Attach(n)
	tr.Script(scriptFor("f.client", "f.server"))
	trace, err := tr.TraceStart(context.Background(), []string{"f.client", "f.server"}, kernel.TraceMatch{Proto: "udp", Port: 40001})
	if err != nil {
		t.Fatal(err)
	}
	defer trace.Close()
	send := func(port string) {
		c, err := n.ListenPacketIn("f.client", "udp", ":"+port)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.WriteTo([]byte("x"), &net.UDPAddr{IP: net.IPv4(10, 1, 0, 2), Port: 7}); err != nil {
			t.Fatal(err)
		}
	}
	send("40002") // not traced
	select {
	case e := <-trace.Events():
		t.Fatalf("an event for a packet of another port: %+v", e)
	case <-time.After(50 * time.Millisecond):
	}
	send("40001")
	if events := drain(t, trace, 2); events[0].NetNS != "f.client" || events[1].NetNS != "f.server" {
		t.Errorf("events %+v", events)
	}
	if _, err := tr.TraceStart(context.Background(), []string{"f.nowhere"}, kernel.TraceMatch{Proto: "udp", Port: 1}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a trace in a namespace the Net lacks: %v; want ErrNotExist", err)
	}
}

func TestTracerRefuses(t *testing.T) {
	tr := kerneltest.NewTracer()
	for _, tc := range []struct {
		netns []string
		m     kernel.TraceMatch
		want  error
	}{
		{[]string{":host"}, kernel.TraceMatch{Proto: "udp", Port: 1}, syscall.EPERM},
		{[]string{"l.a"}, kernel.TraceMatch{Proto: "sctp", Port: 1}, nil},
		{nil, kernel.TraceMatch{Proto: "udp", Port: 1}, nil},
		{[]string{"l.a", "../x"}, kernel.TraceMatch{Proto: "udp", Port: 1}, nil},
	} {
		trace, err := tr.TraceStart(context.Background(), tc.netns, tc.m)
		if err == nil {
			trace.Close()
			t.Errorf("TraceStart(%v, %+v) succeeded", tc.netns, tc.m)
		} else if tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("TraceStart(%v, %+v): %v; want %v", tc.netns, tc.m, err, tc.want)
		}
	}
	if got := tr.Tables("l.a"); len(got) != 0 {
		t.Errorf("refused starts left tables: %v", got)
	}
	boom := errors.New("boom")
	tr.FailStart(boom)
	if _, err := tr.TraceStart(context.Background(), []string{"l.a"}, kernel.TraceMatch{Proto: "udp", Port: 1}); !errors.Is(err, boom) {
		t.Errorf("FailStart: %v", err)
	}
	tr.FailStart(nil)
	trace, err := tr.TraceStart(context.Background(), []string{"l.a"}, kernel.TraceMatch{Proto: "udp", Port: 1})
	if err != nil {
		t.Fatalf("after FailStart(nil): %v", err)
	}
	trace.Close()
}

func TestTracerEndsWithContext(t *testing.T) {
	tr := kerneltest.NewTracer()
	ctx, cancel := context.WithCancel(context.Background())
	trace, err := tr.TraceStart(ctx, []string{"l.a"}, kernel.TraceMatch{Proto: "icmp", Port: 9})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case _, ok := <-trace.Events():
		if ok {
			t.Fatal("an event, none was scripted")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("events still open 2s after cancel")
	}
	if got := tr.Tables("l.a"); len(got) != 0 {
		t.Errorf("tables after cancel: %v", got)
	}
}

// A sweep removes the planted tables, not a live trace's nor another
// name's, and says where it removed one.
func TestTracerSweep(t *testing.T) {
	tr := kerneltest.NewTracer()
	live, err := tr.TraceStart(context.Background(), []string{"l.a"}, kernel.TraceMatch{Proto: "tcp", Port: 80})
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	liveTables := tr.Tables("l.a")
	tr.Plant("l.a", "netlab_trace_x")
	tr.Plant("l.a", "netlab_tracer")
	swept, err := tr.TraceSweep(context.Background(), []string{"l.a", "l.b"})
	if err != nil || !slices.Equal(swept, []string{"l.a"}) {
		t.Fatalf("sweep: %v, %v; want [l.a]", swept, err)
	}
	want := append(slices.Clone(liveTables), "netlab_tracer")
	slices.Sort(want)
	if got := tr.Tables("l.a"); !slices.Equal(got, want) {
		t.Errorf("tables after the sweep: %v; want %v", got, want)
	}
	if _, err := tr.TraceSweep(context.Background(), []string{":host"}); !errors.Is(err, syscall.EPERM) {
		t.Errorf("sweep of the machine's namespace: %v; want EPERM", err)
	}
}

// The Fake's tracer knows its namespaces, and its calls are counted and
// can fail.
func TestFakeTracer(t *testing.T) {
	f := kerneltest.NewFake()
	if err := f.NetNSAdd(context.Background(), "l", "a"); err != nil {
		t.Fatal(err)
	}
	f.Tracer().Plant("l.a", "netlab_trace_1_1")
	swept, err := f.TraceSweep(context.Background(), []string{"l.a"})
	if err != nil || !slices.Equal(swept, []string{"l.a"}) || f.Calls("TraceSweep") != 1 {
		t.Errorf("sweep: %v, %v, %d calls", swept, err, f.Calls("TraceSweep"))
	}
	if _, err := f.TraceStart(context.Background(), []string{"l.b"}, kernel.TraceMatch{Proto: "udp", Port: 1}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("trace in a namespace the fake lacks: %v", err)
	}
	boom := errors.New("boom")
	f.FailOn("TraceSweep", boom, 1)
	if _, err := f.TraceSweep(context.Background(), []string{"l.a"}); !errors.Is(err, boom) {
		t.Errorf("injected: %v", err)
	}
}

// Port 0 is taken with an address only, and then matches by address:
// any port to or from it, and nothing else.
func TestTracerByAddressOnly(t *testing.T) {
	n := kerneltest.NewNet()
	n.AddNetNS("f.client", netip.MustParsePrefix("10.1.0.1/24"))
	n.AddNetNS("f.server", netip.MustParsePrefix("10.1.0.2/24"))
	n.AddNetNS("f.other", netip.MustParsePrefix("10.1.0.3/24"))
	tr := kerneltest.NewTracer()
	tr.Attach(n)
	tr.Script(scriptFor("f.client"))
	if _, err := tr.TraceStart(context.Background(), []string{"f.client"}, kernel.TraceMatch{Proto: "udp"}); err == nil {
		t.Fatal("port 0 and no address: accepted")
	}
	trace, err := tr.TraceStart(context.Background(), []string{"f.client"}, kernel.TraceMatch{Proto: "udp", Addr: netip.MustParseAddr("10.1.0.2")})
	if err != nil {
		t.Fatal(err)
	}
	defer trace.Close()
	send := func(to net.IP, port int) {
		c, err := n.ListenPacketIn("f.client", "udp", ":0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.WriteTo([]byte("x"), &net.UDPAddr{IP: to, Port: port}); err != nil {
			t.Fatal(err)
		}
	}
	send(net.IPv4(10, 1, 0, 3), 7) // to another address: not traced
	select {
	case e := <-trace.Events():
		t.Fatalf("an event for a packet to another address: %+v", e)
	case <-time.After(50 * time.Millisecond):
	}
	send(net.IPv4(10, 1, 0, 2), 7)
	send(net.IPv4(10, 1, 0, 2), 4000)
	drain(t, trace, 2)
}
