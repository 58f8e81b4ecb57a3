package kernel_test

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"testing"

	"netlab/internal/benchlab"
	"netlab/internal/labbench"
	"netlab/lab"
	"netlab/lab/apply"
	"netlab/lab/kernel"
	"netlab/lab/labfile"
	"netlab/lab/plan"
	"netlab/lab/reconcile"
	"netlab/lab/validate"
)

// The in-process reconciler benchmark: up, no-op up, plan and down of the
// generated labs (internal/benchlab), netlab's pipeline called as a
// function, so that -cpuprofile and -memprofile see all of it. The
// side-by-side comparison with the raw-netlink baseline, process against
// process, is internal/labbench's BenchmarkLabs (`just bench`); this one is
// for profiling (`just profile`, docs/performance.md).

var (
	benchSizesFlag = flag.String("sizes", "10,50,100,200", "comma-separated node counts of BenchmarkReconcile's labs")
	upProfileFlag  = flag.String("upprofile", "", "write a CPU profile of netlab-up's up alone (not the downs between) to this file; select one lab with -test.bench")
)

// profileUp starts the CPU profile of -upprofile, if asked, and returns
// what stops it. Unlike -test.cpuprofile, which covers the whole binary,
// it holds nothing but one up: not the down before it, nor the clean-up.
func profileUp(b *testing.B) (stop func()) {
	if *upProfileFlag == "" {
		return func() {}
	}
	f, err := os.Create(*upProfileFlag)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		b.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			b.Error(err)
		}
	}
}

func benchLabName() string {
	var b [3]byte
	rand.Read(b[:])
	return fmt.Sprintf("nltest%x", b)
}

func loadBenchLab(b *testing.B, text string) *lab.Lab {
	l, diags := labfile.Parse("bench.yaml", []byte(text))
	diags.Append(validate.Lab(l)...)
	if diags.HasErrors() {
		b.Fatalf("generated lab is invalid:\n%v", diags.Err())
	}
	return l
}

func requireRootB(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("the reconciler benchmark needs root to create namespaces")
	}
}

// netlabUp is netlab up: the whole pipeline, validate and the sysctl
// check included, as the command runs it.
func netlabUp(b *testing.B, l *lab.Lab) {
	k := kernel.NewLinux()
	defer k.Close()
	if _, err := reconcile.Up(context.Background(), k, l, reconcile.Options{}); err != nil {
		b.Fatal(err)
	}
}

// netlabPlan is netlab plan.
func netlabPlan(b *testing.B, l *lab.Lab) *plan.Plan {
	k := kernel.NewLinux()
	defer k.Close()
	planned, err := reconcile.Plan(context.Background(), k, l, reconcile.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return planned.Plan
}

func netlabDown(b *testing.B, name string) {
	k := kernel.NewLinux()
	defer k.Close()
	if _, err := apply.Down(context.Background(), k, name, nil); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkReconcile(b *testing.B) {
	requireRootB(b)
	sizes, err := labbench.ParseSizes(*benchSizesFlag)
	if err != nil {
		b.Fatalf("-sizes: %v", err)
	}
	for _, shape := range benchlab.Shapes {
		for _, n := range sizes {
			name := benchLabName()
			l := loadBenchLab(b, benchlab.File(shape, name, n))
			b.Cleanup(func() { netlabDown(b, name) })
			prefix := fmt.Sprintf("%s-%d/", shape, n)
			b.Run(prefix+"netlab-up", func(b *testing.B) {
				for b.Loop() {
					b.StopTimer()
					netlabDown(b, name)
					b.StartTimer()
					stop := profileUp(b)
					netlabUp(b, l)
					stop()
				}
			})
			b.Run(prefix+"netlab-noop-up", func(b *testing.B) {
				netlabUp(b, l)
				for b.Loop() {
					netlabUp(b, l)
				}
			})
			b.Run(prefix+"netlab-plan", func(b *testing.B) {
				netlabUp(b, l)
				for b.Loop() {
					if p := netlabPlan(b, l); !p.Empty() {
						b.Fatalf("plan of a lab that is up is not empty: %s", p.Summary())
					}
				}
			})
			b.Run(prefix+"netlab-down", func(b *testing.B) {
				for b.Loop() {
					b.StopTimer()
					netlabUp(b, l)
					b.StartTimer()
					netlabDown(b, name)
				}
			})
		}
	}
}
