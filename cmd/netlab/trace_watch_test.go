package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"regexp"
	"strings"
	"testing"

	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/plan"
	"netlab/lab/trace"
)

// fakeWatch runs trace --watch's runWatch on traceLab with a tracer that
// reports udpExchange once, until the output holds until, then stops it
// as Ctrl-C does.
func fakeWatch(t *testing.T, asJSON bool, until string) (string, *kerneltest.Tracer) {
	t.Helper()
	l, _, diags := parseLab("lab.yaml", []byte(traceLab))
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	n := kerneltest.NewNet()
	n.AddNetNS("p.c1", netip.MustParsePrefix("192.0.2.10/24"))
	n.AddNetNS("p.server", netip.MustParsePrefix("192.0.2.20/24"))
	tr := kerneltest.NewTracer()
	tr.Script(udpExchange)
	var out syncBuffer
	e := &env{stdout: &out, stderr: &out}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	m := kernel.TraceMatch{Proto: "udp", Port: 40001}
	go func() { done <- runWatch(ctx, e, n, tr, plan.Desired(l), m, asJSON) }()
	waitFor(t, &out, until)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("runWatch: %v\n%s", err, out.String())
	}
	return out.String(), tr
}

// TestTraceWatchText: each packet is a block of its own, "packet"
// first, a blank line between; the trace's tables are gone after Ctrl-C.
func TestTraceWatchText(t *testing.T) {
	t.Parallel()
	out, tr := fakeWatch(t, false, "delivered to c1")
	re := regexp.MustCompile(`^packet udp 192\.0\.2\.10:40001 -> 192\.0\.2\.20:7
  c1 +output +route .*-> eth0
(  .*\n)*  delivered to server

packet udp 192\.0\.2\.20:7 -> 192\.0\.2\.10:40001
  server +output +route .*
(  .*\n)*  delivered to c1
$`)
	if !re.MatchString(out) {
		t.Errorf("watch output:\n%s", out)
	}
	if tr.Live() != 0 || len(tr.Tables("p.c1")) != 0 {
		t.Errorf("after Ctrl-C: %d live, tables %v", tr.Live(), tr.Tables("p.c1"))
	}
}

// TestTraceWatchJSON: -o json is JSON Lines, one way a line.
func TestTraceWatchJSON(t *testing.T) {
	t.Parallel()
	out, _ := fakeWatch(t, true, `"node":"c1"}}`)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2:\n%s", len(lines), out)
	}
	for i, want := range []string{"udp 192.0.2.10:40001 -> 192.0.2.20:7", "udp 192.0.2.20:7 -> 192.0.2.10:40001"} {
		var w trace.Way
		if err := json.Unmarshal([]byte(lines[i]), &w); err != nil {
			t.Fatalf("line %d: %v: %s", i, err, lines[i])
		}
		if w.Packet != want || w.End.What != "delivered" || len(w.Steps) == 0 {
			t.Errorf("line %d: packet %q end %+v", i, w.Packet, w.End)
		}
	}
	if strings.Contains(out, `\u003e`) {
		t.Errorf("HTML-escaped: %s", out)
	}
}

// errWriter fails every write, as a closed pipe does.
type errWriter struct{}

func (errWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

// TestTraceWatchStopsOnAFailedWrite: a watch whose output is gone ends
// with the write's error instead of tracing on.
func TestTraceWatchStopsOnAFailedWrite(t *testing.T) {
	t.Parallel()
	l, _, _ := parseLab("lab.yaml", []byte(traceLab))
	n := kerneltest.NewNet()
	n.AddNetNS("p.c1", netip.MustParsePrefix("192.0.2.10/24"))
	n.AddNetNS("p.server", netip.MustParsePrefix("192.0.2.20/24"))
	tr := kerneltest.NewTracer()
	tr.Script(udpExchange)
	e := &env{stdout: errWriter{}, stderr: errWriter{}}
	err := runWatch(context.Background(), e, n, tr, plan.Desired(l), kernel.TraceMatch{Proto: "udp", Port: 40001}, false)
	if err == nil || err.Error() != "broken pipe" {
		t.Errorf("runWatch to a broken pipe: %v", err)
	}
	if tr.Live() != 0 {
		t.Errorf("%d traces live after the watch ended", tr.Live())
	}
}
