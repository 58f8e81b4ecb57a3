package main

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"netlab/lab/conntrack"
	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/reconcile"
	"netlab/lab/rundir"
	"netlab/lab/trace"
	"netlab/tui"
)

// ctKernel is the fake kernel with sockets and a conntrack table: it
// records the namespaces read.
type ctKernel struct {
	*kerneltest.Watched
	*kerneltest.Net
	entries []kernel.ConntrackEntry
	read    []string
}

func (k *ctKernel) Conntrack(_ context.Context, netns string) ([]kernel.ConntrackEntry, error) {
	k.read = append(k.read, netns)
	return k.entries, nil
}

func (k *ctKernel) ConntrackFlush(context.Context, string) error { return errors.ErrUnsupported }

// upFake brings lab t (nodes a and b, linked; a has 10.0.0.1, b 10.0.0.2)
// up on a fake kernel with a conntrack table, and returns the UI's
// source over it, read once.
func upFake(t *testing.T, entries []kernel.ConntrackEntry) (*kernelSource, *ctKernel) {
	t.Helper()
	old := runDir
	runDir = rundir.At(t.TempDir())
	t.Cleanup(func() { runDir = old })
	l, _, diags := parseLab("t.yaml", []byte("name: t\nnodes:\n  a:\n    interfaces:\n      eth0: {addresses: [10.0.0.1/24]}\n  b:\n    interfaces:\n      eth0: {addresses: [10.0.0.2/24]}\nlinks:\n  - [a:eth0, b:eth0]\n"))
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	k := &ctKernel{Watched: kerneltest.NewWatched(kerneltest.NewFake()), Net: kerneltest.NewNet(), entries: entries}
	ctx := context.Background()
	if _, err := reconcile.Up(ctx, k, l, reconcile.Options{}); err != nil {
		t.Fatal(err)
	}
	src := newKernelSource(k, l.Name, l, "")
	if _, err := src.Snapshot(ctx); err != nil {
		t.Fatal(err)
	}
	return src, k
}

func snatEntry() kernel.ConntrackEntry {
	return kernel.ConntrackEntry{
		Proto: "udp", Timeout: 29 * time.Second,
		Orig:      kernel.ConntrackTuple{Src: netip.MustParseAddr("192.168.31.11"), Dst: netip.MustParseAddr("198.51.100.183"), SPort: 40001, DPort: 7},
		Reply:     kernel.ConntrackTuple{Src: netip.MustParseAddr("198.51.100.183"), Dst: netip.MustParseAddr("198.51.100.86"), SPort: 7, DPort: 40001},
		SeenReply: true, SrcNAT: true, Counters: true, OrigPackets: 1, OrigBytes: 29, ReplyPackets: 2, ReplyBytes: 58,
	}
}

// TestTUIConntrack: the conntrack page reads the node's namespace of the
// running lab, in lab/conntrack's words; a node not in the lab is
// refused before the kernel is asked.
func TestTUIConntrack(t *testing.T) {
	e := snatEntry()
	src, k := upFake(t, []kernel.ConntrackEntry{e})
	ctx := context.Background()
	rows, err := src.Conntrack(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	want := []tui.ConntrackEntry{{
		Proto: "udp", Timeout: 29 * time.Second,
		Orig: conntrack.Tuple(e.Orig, "udp"), Reply: conntrack.Tuple(e.Reply, "udp"), NAT: conntrack.Translation(e),
		SeenReply: true, Counters: true, OrigPackets: 1, OrigBytes: 29, ReplyPackets: 2, ReplyBytes: 58,
	}}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"t.a"}, k.read); diff != "" {
		t.Errorf("namespaces read (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"c", "../a", ""} {
		if _, err := src.Conntrack(ctx, bad); err == nil || !strings.Contains(err.Error(), "has no node") {
			t.Errorf("node %q: error %v, want one naming the lab's nodes", bad, err)
		}
	}
	if len(k.read) != 1 {
		t.Errorf("a refused node reached the kernel: %v", k.read)
	}

	// A kernel that cannot read conntrack says so.
	plain := newKernelSource(kerneltest.NewWatched(kerneltest.NewFake()), "t", nil, "")
	if _, err := plain.Conntrack(ctx, "a"); err == nil || !strings.Contains(err.Error(), "cannot read connection tracking") {
		t.Errorf("without a Conntracker: %v", err)
	}
}

// traceKernel is ctKernel with a scripted tracer: what the trace page
// runs on without root.
type traceKernel struct {
	*ctKernel
	tracer *kerneltest.Tracer
}

func (k *traceKernel) TraceStart(ctx context.Context, netns []string, m kernel.TraceMatch) (kernel.Trace, error) {
	return k.tracer.TraceStart(ctx, netns, m)
}

func (k *traceKernel) TraceSweep(ctx context.Context, netns []string) ([]string, error) {
	return k.tracer.TraceSweep(ctx, netns)
}

// TestTUITrace: the trace page runs what netlab trace runs (check.ForTrace,
// check.Trace) and gets the way whole, its trace tables removed after;
// names the running lab lacks, and a lab without its file, are refused
// before anything is sent.
func TestTUITrace(t *testing.T) {
	src, ck := upFake(t, nil)
	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	ck.Net.AddNetNS("t.a", netip.PrefixFrom(a, 24))
	ck.Net.AddNetNS("t.b", netip.PrefixFrom(b, 24))
	k := &traceKernel{ctKernel: ck, tracer: kerneltest.NewTracer()}
	k.tracer.Script(udpExchangeBetween("t.a", "t.b", a, b))
	src.k = k

	r, err := src.Trace(context.Background(), "a", "b", "udp", 7)
	if err != nil {
		t.Fatalf("Trace: %v", err)
	}
	if r.From != "a" || r.To != "b" || r.Proto != "udp" || r.Request == nil || r.Request.End.What != "delivered" || r.Request.End.Node != "b" {
		t.Errorf("trace a -> b: %+v, request %+v", r, r.Request)
	}
	if r.Answer == nil || r.Answer.End.Node != "a" {
		t.Errorf("answer %+v, want delivered back to a", r.Answer)
	}
	if k.tracer.Live() != 0 || len(k.tracer.Tables("t.a")) != 0 || len(k.tracer.Tables("t.b")) != 0 {
		t.Errorf("after the trace: %d live, tables %v %v", k.tracer.Live(), k.tracer.Tables("t.a"), k.tracer.Tables("t.b"))
	}

	for _, tc := range []struct{ from, target, proto, wantErr string }{
		{"z", "b", "icmp", "has no node z"},
		{"a", "zz", "icmp", `"zz" is neither an address nor a node`},
		{"a", "b", "sctp", `unknown protocol "sctp"`},
	} {
		before := len(k.tracer.Log())
		if _, err := src.Trace(context.Background(), tc.from, tc.target, tc.proto, 7); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s -> %s %s: error %v, want %q", tc.from, tc.target, tc.proto, err, tc.wantErr)
		}
		if got := k.tracer.Log()[before:]; len(got) != 0 {
			t.Errorf("%s -> %s %s: refused, yet the tracer did %v", tc.from, tc.target, tc.proto, got)
		}
	}

	src.lab = nil
	if _, err := src.Trace(context.Background(), "a", "b", "udp", 7); err == nil || !strings.Contains(err.Error(), "lab's file") {
		t.Errorf("without the lab's file: %v", err)
	}
}

// TestTUITraceResult: a trace's Result reaches the UI whole: every step's
// fields, the NAT's addresses before and after, both ends.
func TestTUITraceResult(t *testing.T) {
	p := 100
	r := &trace.Result{
		Lab: "single-ip", From: "c2", To: "server", Target: netip.MustParseAddr("198.51.100.183"), Proto: "udp", Port: 7,
		Request: &trace.Way{
			Packet: "udp 192.168.31.11:40001 -> 198.51.100.183:7",
			Steps: []trace.Step{
				{Node: "c2", Kind: "route", Hook: "output", Route: "-> veth0 via 192.168.31.1"},
				{Node: "host", Kind: "hook", Hook: "postrouting", Table: "nat", Chain: "nat_postrouting", Priority: &p,
					Rule: "ip saddr 192.168.31.0/24 oifname eth0 masquerade", Verdict: "accept", In: "br0", Out: "eth0",
					Before: &trace.Addrs{Src: "192.168.31.11:40001", Dst: "198.51.100.183:7"},
					After:  &trace.Addrs{Src: "198.51.100.86:40001", Dst: "198.51.100.183:7"}},
			},
			End: trace.End{What: "delivered", Node: "server"},
		},
		Answer: &trace.Way{Packet: "udp 198.51.100.183:7 -> 198.51.100.86:40001",
			Steps: []trace.Step{
				// conntrack's translation back: no rule made it.
				{Node: "host", Kind: "hook", Hook: "prerouting", Rule: trace.ConntrackRule, In: "eth0",
					Before: &trace.Addrs{Src: "198.51.100.183:7", Dst: "198.51.100.86:40001"},
					After:  &trace.Addrs{Src: "198.51.100.183:7", Dst: "192.168.31.11:40001"}},
			},
			End: trace.End{What: "dropped", Node: "host", Hook: "forward", Rule: "policy drop", Reason: "x"}},
	}
	want := &tui.TraceResult{
		From: "c2", To: "server", Target: netip.MustParseAddr("198.51.100.183"), Proto: "udp", Port: 7,
		Request: &tui.TraceWay{
			Packet: "udp 192.168.31.11:40001 -> 198.51.100.183:7",
			Steps: []tui.TraceStep{
				{Node: "c2", Kind: "route", Hook: "output", Route: "-> veth0 via 192.168.31.1"},
				{Node: "host", Kind: "hook", Hook: "postrouting", Table: "nat", Chain: "nat_postrouting", Priority: &p,
					Rule: "ip saddr 192.168.31.0/24 oifname eth0 masquerade", Verdict: "accept", In: "br0", Out: "eth0",
					Before: &tui.TraceAddrs{Src: "192.168.31.11:40001", Dst: "198.51.100.183:7"},
					After:  &tui.TraceAddrs{Src: "198.51.100.86:40001", Dst: "198.51.100.183:7"}},
			},
			End: tui.TraceEnd{What: "delivered", Node: "server"},
		},
		Answer: &tui.TraceWay{Packet: "udp 198.51.100.183:7 -> 198.51.100.86:40001",
			Steps: []tui.TraceStep{
				// No rule: the UI says "NAT back (conntrack)" of it, not `rule "conntrack"`.
				{Node: "host", Kind: "hook", Hook: "prerouting", In: "eth0",
					Before: &tui.TraceAddrs{Src: "198.51.100.183:7", Dst: "198.51.100.86:40001"},
					After:  &tui.TraceAddrs{Src: "198.51.100.183:7", Dst: "192.168.31.11:40001"}},
			},
			End: tui.TraceEnd{What: "dropped", Node: "host", Hook: "forward", Rule: "policy drop", Reason: "x"}},
	}
	if diff := cmp.Diff(want, tuiTrace(r), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("tuiTrace (-want +got):\n%s", diff)
	}
	if tuiTrace(nil) != nil {
		t.Error("tuiTrace(nil) is not nil")
	}
}
