package check_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"netlab/lab"
	"netlab/lab/check"
	"netlab/lab/kernel"
	"netlab/lab/trace"
)

// recorder is a kernel.Tracer that keeps a copy of every event its
// traces deliver: what a fixture of lab/trace's tests is made of.
type recorder struct {
	kernel.Tracer
	mu     sync.Mutex
	events []kernel.TraceEvent
}

func (r *recorder) TraceStart(ctx context.Context, netns []string, m kernel.TraceMatch) (kernel.Trace, error) {
	t, err := r.Tracer.TraceStart(ctx, netns, m)
	if err != nil {
		return nil, err
	}
	// A new start (Follow's retry on a port in use) begins the record
	// anew: only the events of the trace Follow assembles are kept.
	r.mu.Lock()
	r.events = nil
	r.mu.Unlock()
	out := make(chan kernel.TraceEvent)
	go func() {
		defer close(out)
		for e := range t.Events() {
			r.mu.Lock()
			r.events = append(r.events, e)
			r.mu.Unlock()
			out <- e
		}
	}()
	return &recordedTrace{Trace: t, out: out}, nil
}

type recordedTrace struct {
	kernel.Trace
	out chan kernel.TraceEvent
}

func (t *recordedTrace) Events() <-chan kernel.TraceEvent { return t.out }

// traceRecorded traces the check text c of lab l as traceCheck does,
// and, when NETLAB_UPDATE=1, writes the events the kernel reported to
// lab/trace/testdata/FIXTURE.json with the lab's text (named "trace",
// its namespaces trace.NODE), for lab/trace's fixture tests.
func traceRecorded(t *testing.T, l *lab.Lab, c, fixture string) (*trace.Result, check.Result) {
	t.Helper()
	ck := checkOf(t, l, c)
	k := kernel.NewLinux()
	defer k.Close()
	rec := &recorder{Tracer: k}
	res, r := check.Trace(context.Background(), k, rec, l, observed(t, l), ck)
	if r.Err != nil {
		t.Fatalf("trace %s: %v", c, r.Err)
	}
	var b strings.Builder
	if err := res.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %s\n%s", r.Name, r.Detail(), b.String())
	if os.Getenv("NETLAB_UPDATE") == "1" {
		writeTraceFixture(t, l, c, fixture, rec.events)
	}
	return res, r
}

func writeTraceFixture(t *testing.T, l *lab.Lab, c, fixture string, events []kernel.TraceEvent) {
	t.Helper()
	text, ok := labTexts.Load(l.Name)
	if !ok {
		t.Fatalf("no text for lab %s", l.Name)
	}
	renamed := make([]kernel.TraceEvent, len(events))
	for i, e := range events {
		e.NetNS = "trace." + strings.TrimPrefix(e.NetNS, l.Name+".")
		renamed[i] = e
	}
	doc := map[string]any{
		"scenario": c,
		"lab":      courseNameLine.ReplaceAllString(text.(string), "name: trace"),
		"events":   renamed,
	}
	data, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "trace", "testdata", fixture+".json")
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

// countSteps counts the steps of w at node and hook of kind.
func countSteps(w *trace.Way, node, kind, hook string) int {
	n := 0
	for _, s := range w.Steps {
		if s.Node == node && s.Kind == kind && s.Hook == hook {
			n++
		}
	}
	return n
}
