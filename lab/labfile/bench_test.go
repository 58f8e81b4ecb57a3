package labfile_test

import (
	"fmt"
	"strings"
	"testing"

	"netlab/lab/labfile"
	"netlab/lab/validate"
)

// bigLab returns a valid lab of n routers (n >= 16) and 2n links: a ring
// r1 - r2 - ... - rn - r1 plus a chord from every router to the one seven
// places further on. Every link has its own /24 in 10.0.0.0/8, and every
// router a sysctl and a route via its ring neighbour.
func bigLab(n int) []byte {
	const chord = 7
	addr := func(link, end int) string { // end 1 or 2 of link number link
		return fmt.Sprintf("10.%d.%d.%d", link/256, link%256, end)
	}
	var b strings.Builder
	b.WriteString("name: big\ndescription: a ring of routers with chords\nnodes:\n")
	for i := range n {
		prev := (i + n - 1) % n // ring link prev -> i
		in := n + (i+n-chord)%n // chord link ending here
		fmt.Fprintf(&b, "  r%d:\n", i+1)
		b.WriteString("    sysctls: {net.ipv4.ip_forward: 1}\n")
		b.WriteString("    interfaces:\n")
		fmt.Fprintf(&b, "      next: {addresses: [%s/24]}\n", addr(i, 1))
		fmt.Fprintf(&b, "      prev: {addresses: [%s/24]}\n", addr(prev, 2))
		fmt.Fprintf(&b, "      chord-out: {addresses: [%s/24], mtu: 9000}\n", addr(n+i, 1))
		fmt.Fprintf(&b, "      chord-in: {addresses: [%s/24]}\n", addr(in, 2))
		fmt.Fprintf(&b, "    routes: [{to: 10.255.0.0/16, via: %s}]\n", addr(i, 2))
	}
	b.WriteString("links:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - [r%d:next, r%d:prev]\n", i+1, (i+1)%n+1)
		fmt.Fprintf(&b, "  - {endpoints: [r%d:chord-out, r%d:chord-in], mtu: 9000}\n", i+1, (i+chord)%n+1)
	}
	b.WriteString("checks:\n")
	for i := 0; i < n; i += n / 16 {
		fmt.Fprintf(&b, "  - {from: r%d, ping: %s}\n", i+1, addr(i, 2))
	}
	return []byte(b.String())
}

// BenchmarkLoadValidate measures what every netlab command pays before it
// starts: parsing and validating a lab of 1,000 nodes and 2,000 links.
func BenchmarkLoadValidate(b *testing.B) {
	data := bigLab(1000)
	l, diags := labfile.Parse("big.yaml", data)
	diags.Append(validate.Lab(l)...)
	if len(diags) != 0 {
		b.Fatalf("the benchmark lab is not valid:\n%s", text(diags[:min(len(diags), 20)]))
	}
	if len(l.Nodes) != 1000 || len(l.Links) != 2000 {
		b.Fatalf("the benchmark lab has %d nodes and %d links, want 1000 and 2000", len(l.Nodes), len(l.Links))
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		l, diags := labfile.Parse("big.yaml", data)
		diags.Append(validate.Lab(l)...)
		if len(diags) != 0 {
			b.Fatal("diagnostics")
		}
	}
}

// TestBigLab keeps the benchmark's generator honest in ordinary test runs,
// with a smaller lab.
func TestBigLab(t *testing.T) {
	l, diags := labfile.Parse("big.yaml", bigLab(64))
	diags.Append(validate.Lab(l)...)
	if len(diags) != 0 {
		t.Fatalf("generated lab is not valid:\n%s", text(diags))
	}
	if len(l.Nodes) != 64 || len(l.Links) != 128 {
		t.Errorf("got %d nodes and %d links, want 64 and 128", len(l.Nodes), len(l.Links))
	}
}
