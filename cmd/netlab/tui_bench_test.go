package main

import (
	"context"
	"os"
	"syscall"
	"testing"
	"time"

	"netlab/lab/kernel"
	"netlab/tui"
)

// BenchmarkTUIRefreshKernel is one refresh of netlab tui against a real
// running lab, as the UI does it every --interval: observe the kernel,
// name the rules, plan against the file, compute rates and draw the
// screen. It reports the CPU time per refresh (all threads) as cpu-ms/op.
// Bring a lab up first and name its file:
//
//	sudo NETLAB_BENCH_FILE=lab.yaml go test -run '^$' -bench TUIRefreshKernel ./cmd/netlab/
func BenchmarkTUIRefreshKernel(b *testing.B) {
	file := os.Getenv("NETLAB_BENCH_FILE")
	if file == "" || os.Geteuid() != 0 {
		b.Skip("needs root and NETLAB_BENCH_FILE naming the file of a running lab")
	}
	l, diags := loadLab([]string{file})
	if l == nil || diags.HasErrors() {
		b.Fatalf("load %s: %v", file, diags.Err())
	}
	k := kernel.NewLinux()
	defer k.Close()
	src := newKernelSource(k, l.Name, l)
	m := tui.New(tui.Options{Source: src, Lab: l})
	m.SetSize(120, 40)
	ctx := context.Background()
	refresh := func(at time.Time) {
		s, err := src.Snapshot(ctx)
		if err != nil {
			b.Fatal(err)
		}
		p, _ := src.Plan(ctx)
		tm, _ := m.Update(tui.SnapshotMsg{State: s, Plan: p, At: at})
		m = tm.(tui.Model)
		_ = m.View()
	}
	at := time.Now()
	refresh(at)
	var before, after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		at = at.Add(time.Second)
		refresh(at)
	}
	b.StopTimer()
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	cpu := time.Duration(after.Utime.Nano()+after.Stime.Nano()-before.Utime.Nano()-before.Stime.Nano()) / time.Duration(b.N)
	b.ReportMetric(float64(cpu)/float64(time.Millisecond), "cpu-ms/op")
}
