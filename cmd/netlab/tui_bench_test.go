package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"netlab/lab"
	"netlab/lab/apply"
	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/reconcile"
	"netlab/lab/rundir"
	"netlab/tui"
)

// BenchmarkTUIRefreshKernel is one refresh of netlab tui against a real
// running lab, as the UI does it every --interval, and the screen drawn.
// It brings up a star lab of its own (a bridge node with a firewall, and
// NETLAB_BENCH_NODES-1 leaves on veth pairs; 200 unless set) and takes it
// down again; NETLAB_BENCH_FILE names the file of a lab already running
// instead. It reports the CPU time per refresh of the whole process (all
// threads, the kernel's time in its syscalls included) as cpu-ms/op, and
// the heap in use after the refreshes as heap-MB.
//
//	sudo NETLAB_BENCH_NODES=1000 go test -run '^$' -bench TUIRefreshKernel ./cmd/netlab/
func BenchmarkTUIRefreshKernel(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("brings a lab up: needs root")
	}
	l := benchTUILab(b)
	k := kernel.NewLinux()
	defer k.Close()
	src := newKernelSource(k, l.Name, l, "")
	m := tui.New(tui.Options{Source: src, Lab: l})
	m.SetSize(120, 40)
	benchRefresh(b, m)
}

// BenchmarkTUIRefreshFake is BenchmarkTUIRefreshKernel over the fake
// kernel: the CPU of the model, the view and the source's own work, with
// the kernel's reads almost free.
func BenchmarkTUIRefreshFake(b *testing.B) {
	n := benchNodes()
	l := mustLoadBenchLab(b, starTUILab("bench", n))
	old := runDir
	runDir = rundirTemp(b)
	defer func() { runDir = old }()
	f := kerneltest.NewWatched(kerneltest.NewFake())
	if _, err := reconcile.Up(context.Background(), f, l, reconcile.Options{RunDir: &runDir}); err != nil {
		b.Fatal(err)
	}
	src := newKernelSource(f, l.Name, l, "")
	m := tui.New(tui.Options{Source: src, Lab: l})
	m.SetSize(120, 40)
	benchRefresh(b, m)
}

// benchRefresh runs the refresh of m b.N times, one a simulated second
// apart, and reports the CPU and heap.
func benchRefresh(b *testing.B, m tui.Model) {
	at := time.Now()
	refresh := func() {
		at = at.Add(time.Second)
		m = tui.RefreshOnce(m, at)
		_ = m.View()
	}
	refresh()
	var before, after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		refresh()
	}
	b.StopTimer()
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	cpu := time.Duration(after.Utime.Nano()+after.Stime.Nano()-before.Utime.Nano()-before.Stime.Nano()) / time.Duration(b.N)
	b.ReportMetric(float64(cpu)/float64(time.Millisecond), "cpu-ms/op")
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MB")
	runtime.KeepAlive(m)
}

// benchNodes is NETLAB_BENCH_NODES, or 200.
func benchNodes() int {
	if n, err := strconv.Atoi(os.Getenv("NETLAB_BENCH_NODES")); err == nil && n > 1 {
		return n
	}
	return 200
}

// benchTUILab is the lab of NETLAB_BENCH_FILE, running already, or a star
// lab of benchNodes nodes that it brings up and takes down at the end.
func benchTUILab(b *testing.B) *lab.Lab {
	if file := os.Getenv("NETLAB_BENCH_FILE"); file != "" {
		l, diags := loadLab([]string{file})
		if l == nil || diags.HasErrors() {
			b.Fatalf("load %s: %v", file, diags.Err())
		}
		return l
	}
	name := kerneltest.RegisterLab(b, kerneltest.NewLabName())
	l := mustLoadBenchLab(b, starTUILab(name, benchNodes()))
	k := kernel.NewLinux()
	defer k.Close()
	b.Cleanup(func() {
		k := kernel.NewLinux()
		defer k.Close()
		if _, err := apply.Down(context.Background(), k, name, nil); err != nil {
			b.Error(err)
		}
	})
	if _, err := reconcile.Up(context.Background(), k, l, reconcile.Options{RunDir: &runDir}); err != nil {
		b.Fatal(err)
	}
	return l
}

// starTUILab is a star: node hub with bridge br0 and a firewall, and n-1
// leaves, each on a veth pair to a port of br0.
func starTUILab(name string, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\nnodes:\n  hub:\n    firewall:\n      input:\n        rules:\n          - {action: accept, proto: icmp}\n          - {action: drop, proto: tcp, dport: 22}\n    interfaces:\n      br0: {kind: bridge, addresses: [10.0.0.1/16]}\n", name)
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "      p%d: {master: br0}\n", i)
	}
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "  n%d:\n    interfaces:\n      eth0: {addresses: [10.0.%d.%d/16]}\n", i, i/250, i%250+2)
	}
	b.WriteString("links:\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "  - [n%d:eth0, hub:p%d]\n", i, i)
	}
	return b.String()
}

func mustLoadBenchLab(b *testing.B, text string) *lab.Lab {
	l, _, diags := parseLab("bench.yaml", []byte(text))
	if diags.HasErrors() {
		b.Fatalf("generated lab: %v", diags.Err())
	}
	return l
}

// rundirTemp is a run directory of the benchmark's own.
func rundirTemp(b *testing.B) rundir.Dir { return rundir.At(b.TempDir()) }
