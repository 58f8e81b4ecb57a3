package kernel_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"netlab/lab/apply"
	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/reconcile"
	"netlab/lab/state"
)

// cancelLab has one of most kinds of change: namespaces, veth pairs, a
// bridge with a port, addresses, routes, a sysctl and a NAT rule.
const cancelLab = `name: LAB
nodes:
  r:
    sysctls:
      net.ipv4.ip_forward: 1
    interfaces:
      br0: {kind: bridge, addresses: [10.9.1.1/24]}
      p1: {master: br0}
      eth1: {addresses: [10.9.2.1/24]}
    nat:
      - {action: masquerade, source: 10.9.1.0/24, out: eth1}
  a:
    interfaces:
      eth0: {addresses: [10.9.1.2/24]}
    routes: [{to: default, via: 10.9.1.1}]
  b:
    interfaces:
      eth0: {addresses: [10.9.2.2/24]}
    routes: [{to: 10.9.1.0/24, via: 10.9.2.1}]
links:
  - [a:eth0, r:p1]
  - [b:eth0, r:eth1]
`

// observeAll reads the lab's namespaces with every link in them.
func observeAll(t *testing.T, k kernel.Kernel, l string) *state.State {
	t.Helper()
	s, err := k.Observe(context.Background(), l, nil)
	if err != nil {
		t.Fatalf("observe: %v", err)
	}
	return s
}

// TestCancelledUpResumes cuts an up short after n kernel messages, for
// every n of a whole up, and checks that the kernel code stopped there,
// inside a change when the cut fell inside one; and that from what it
// left, a second up converges (its plan then empty) and down removes
// everything, or down alone does.
func TestCancelledUpResumes(t *testing.T) {
	t.Parallel()
	eachKernel(t, func(t *testing.T, k *testKernel) {
		// How many times a whole up (reading the kernel included) asks its
		// context.
		count := kerneltest.NewCutCtx(0)
		name := kerneltest.LabName(t)
		l := parseLab(t, strings.ReplaceAll(cancelLab, "LAB", name))
		_, p := planLab(t, k, l)
		if _, err := reconcile.Up(count, k, l, reconcile.Options{}); err != nil {
			t.Fatalf("uncut up: %v", err)
		}
		total, changes := count.Asked(), int64(len(p.Changes))
		if total <= changes {
			t.Fatalf("a whole up asks its context %d times for %d changes: the kernel code never asks between messages", total, changes)
		}
		var (
			mu                 sync.Mutex
			insideChange, temp int
		)
		t.Run("cut", func(t *testing.T) {
			for n := int64(1); n <= total; n++ {
				for _, then := range []string{"up", "down"} {
					t.Run(fmt.Sprintf("%d-%s", n, then), func(t *testing.T) {
						t.Parallel()
						name := kerneltest.LabName(t)
						l := parseLab(t, strings.ReplaceAll(cancelLab, "LAB", name))
						k := k.another(t)
						_, err := reconcile.Up(kerneltest.NewCutCtx(n), k, l, reconcile.Options{})
						if !errors.Is(err, context.Canceled) {
							t.Fatalf("up cut at message %d of %d = %v, want %v", n, total, err, context.Canceled)
						}
						var ce *apply.ChangeError
						left := observeAll(t, k, name)
						mu.Lock()
						if errors.As(err, &ce) {
							insideChange++
						}
						for _, node := range left.Nodes {
							for ln := range node.Links {
								if strings.HasPrefix(ln, state.TempLinkPrefix) {
									temp++
								}
							}
						}
						mu.Unlock()
						if then == "up" {
							upLab(t, k, l)
							if _, p := planLab(t, k, l); !p.Empty() {
								t.Errorf("plan after the second up is not empty:\n%s", planText(p))
							}
						}
						if _, err := apply.Down(context.Background(), k, name, nil); err != nil {
							t.Fatalf("down: %v", err)
						}
						list, err := k.NetNSList(context.Background(), name)
						if err != nil {
							t.Fatal(err)
						}
						if len(list) != 0 {
							t.Errorf("down left %v", list)
						}
					})
				}
			}
		})
		t.Logf("%d cuts: %d inside a change, %d links left under a temporary name", 2*total, insideChange, temp)
		if insideChange == 0 {
			t.Errorf("no cut stopped inside a change: the kernel code does not stop between messages")
		}
		if temp == 0 {
			t.Errorf("no cut left a link under its temporary name: no cut fell inside a link's creation")
		}
	})
}
