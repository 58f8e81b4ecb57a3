package kernel_test

import (
	"context"
	"errors"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"time"

	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
)

// The fake Tracer and the real one agree on what is cheap to check: the
// tables a trace adds and Close removes, the end of the events, what
// TraceStart refuses, and what a sweep removes.

// tracerKit is a Tracer with what a test needs around it: a fresh
// namespace, its trace tables (sorted "FAMILY NAME"), and a hand-made
// table.
type tracerKit struct {
	kernel.Tracer
	newNS  func(t *testing.T) string
	tables func(t *testing.T, netns string) []string
	plant  func(t *testing.T, netns, family, name string)
}

func eachTracer(t *testing.T, fn func(t *testing.T, k *tracerKit)) {
	t.Run("fake", func(t *testing.T) {
		t.Parallel()
		f := kerneltest.NewFake()
		n := 0
		fn(t, &tracerKit{Tracer: f,
			newNS: func(t *testing.T) string {
				n++
				node := string(rune('a' + n))
				if err := f.NetNSAdd(context.Background(), "conf", node); err != nil {
					t.Fatal(err)
				}
				return "conf." + node
			},
			tables: func(t *testing.T, netns string) []string {
				var out []string
				for _, name := range f.Tracer().Tables(netns) {
					out = append(out, "inet "+name)
				}
				return out
			},
			plant: func(t *testing.T, netns, family, name string) { f.Tracer().Plant(netns, name) },
		})
	})
	t.Run("linux", func(t *testing.T) {
		kerneltest.RequireRoot(t)
		t.Parallel()
		fn(t, &tracerKit{Tracer: newLinux(t),
			newNS: func(t *testing.T) string { return kerneltest.NewTestNS(t) },
			tables: func(t *testing.T, netns string) []string {
				var out []string
				for name := range nftTables(t, netns) {
					if strings.HasPrefix(name, "inet "+kernel.TraceTablePrefix) || strings.HasPrefix(name, "bridge "+kernel.TraceTablePrefix) {
						out = append(out, name)
					}
				}
				slices.Sort(out)
				return out
			},
			plant: func(t *testing.T, netns, family, name string) { nft(t, netns, "add", "table", family, name) },
		})
	})
}

func TestTracerConformance(t *testing.T) {
	eachTracer(t, func(t *testing.T, k *tracerKit) {
		a, b := k.newNS(t), k.newNS(t)
		tr, err := k.TraceStart(context.Background(), []string{a, b}, kernel.TraceMatch{Proto: "udp", Port: 40001})
		if err != nil {
			t.Fatal(err)
		}
		for _, ns := range []string{a, b} {
			if got := k.tables(t, ns); len(got) != 1 || !strings.HasPrefix(got[0], "inet "+kernel.TraceTablePrefix+"_") {
				t.Errorf("%s while tracing: %v; want one inet trace table", ns, got)
			}
		}
		// A sweep leaves the live trace's tables, removes a planted one.
		k.plant(t, a, "inet", "netlab_trace_x")
		k.plant(t, a, "inet", "netlab_tracer")
		swept, err := k.TraceSweep(context.Background(), []string{a, b})
		if err != nil || !slices.Equal(swept, []string{a}) {
			t.Errorf("sweep: %v, %v; want [%s]", swept, err, a)
		}
		if got := k.tables(t, a); len(got) != 2 || !slices.Contains(got, "inet netlab_tracer") {
			t.Errorf("%s after the sweep: %v; want the live table and netlab_tracer", a, got)
		}
		if err := tr.Close(); err != nil {
			t.Fatal(err)
		}
		if err := tr.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		select {
		case _, ok := <-tr.Events():
			if ok {
				t.Error("an event after Close")
			}
		case <-time.After(time.Second):
			t.Error("events still open after Close returned")
		}
		if got := k.tables(t, b); len(got) != 0 {
			t.Errorf("%s after Close: %v", b, got)
		}
		if got := k.tables(t, a); !slices.Equal(got, []string{"inet netlab_tracer"}) {
			t.Errorf("%s after Close: %v; want only netlab_tracer", a, got)
		}

		for _, bad := range []struct {
			netns []string
			m     kernel.TraceMatch
			want  error
		}{
			{[]string{a, ":host"}, kernel.TraceMatch{Proto: "udp", Port: 1}, nil},
			{[]string{a}, kernel.TraceMatch{Proto: "sctp", Port: 1}, nil},
			{[]string{a}, kernel.TraceMatch{Proto: "udp"}, nil},
			{nil, kernel.TraceMatch{Proto: "udp", Port: 1}, nil},
			{[]string{a, "nltest-none.x"}, kernel.TraceMatch{Proto: "udp", Port: 1}, fs.ErrNotExist},
		} {
			tr, err := k.TraceStart(context.Background(), bad.netns, bad.m)
			if err == nil {
				tr.Close()
				t.Errorf("TraceStart(%v, %+v) succeeded", bad.netns, bad.m)
				continue
			}
			if bad.want != nil && !errors.Is(err, bad.want) {
				t.Errorf("TraceStart(%v, %+v): %v; want %v", bad.netns, bad.m, err, bad.want)
			}
		}
		if _, err := k.TraceStart(context.Background(), []string{":host"}, kernel.TraceMatch{Proto: "udp", Port: 1}); !kernel.IsPerm(err) {
			t.Errorf("trace in the machine's namespace: %v; want EPERM", err)
		}
		if got := k.tables(t, a); !slices.Equal(got, []string{"inet netlab_tracer"}) {
			t.Errorf("%s after the refused starts: %v", a, got)
		}
	})
}
