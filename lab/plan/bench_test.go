package plan_test

import (
	"fmt"
	"strings"
	"testing"

	"netlab/lab/plan"
)

// BenchmarkDiff plans a star of n nodes on a bridge: against nothing (the
// first up), against itself built (a no-op up), and with every node's
// address edited, which sets off the knock-ons of addresses and routes.
func BenchmarkDiff(b *testing.B) {
	star := func(n, edit int) string {
		var s strings.Builder
		s.WriteString("name: bench\nnodes:\n  hub:\n    interfaces:\n      br0: {kind: bridge, addresses: [10.0.0.1/16]}\n")
		for i := 1; i < n; i++ {
			fmt.Fprintf(&s, "      p%d: {master: br0}\n", i)
		}
		for i := 1; i < n; i++ {
			fmt.Fprintf(&s, "  n%d:\n    interfaces:\n      eth0: {addresses: [10.0.%d.%d/16]}\n    routes: [{to: default, via: 10.0.0.1}]\n", i, i/250+edit, i%250+2)
		}
		s.WriteString("links:\n")
		for i := 1; i < n; i++ {
			fmt.Fprintf(&s, "  - [n%d:eth0, hub:p%d]\n", i, i)
		}
		return s.String()
	}
	for _, n := range []int{10, 100, 1000} {
		want := desired(b, star(n, 0))
		have := built(want)
		edited := desired(b, star(n, 100))
		b.Run(fmt.Sprintf("star-%d/create", n), func(b *testing.B) {
			for b.Loop() {
				plan.Diff(want, nil, plan.Options{})
			}
		})
		b.Run(fmt.Sprintf("star-%d/noop", n), func(b *testing.B) {
			for b.Loop() {
				if p := plan.Diff(want, have, plan.Options{}); !p.Empty() {
					b.Fatalf("plan of a built lab: %s", p.Summary())
				}
			}
		})
		b.Run(fmt.Sprintf("star-%d/edit", n), func(b *testing.B) {
			for b.Loop() {
				plan.Diff(edited, have, plan.Options{LastApplied: want})
			}
		})
	}
}
