package benchlab_test

import (
	"fmt"
	"slices"
	"testing"

	"netlab/internal/benchlab"
	"netlab/lab/labfile"
	"netlab/lab/validate"
)

// Every lab the benchmark can generate parses and validates, and has the
// nodes, links and addresses the raw baseline builds from the same names.
func TestFileParsesAndValidates(t *testing.T) {
	for _, shape := range benchlab.Shapes {
		for _, n := range []int{1, 2, 3, 10, 251, 1000, 2000} {
			t.Run(fmt.Sprintf("%s-%d", shape, n), func(t *testing.T) {
				text := benchlab.File(shape, "nltestbench", n)
				l, diags := labfile.Parse("bench.yaml", []byte(text))
				diags.Append(validate.Lab(l)...)
				if diags.HasErrors() {
					t.Fatalf("generated lab is invalid:\n%v", diags.Err())
				}
				if l.Name != "nltestbench" {
					t.Errorf("lab name %q, want nltestbench", l.Name)
				}
				var nodes []string
				for _, node := range l.Nodes {
					nodes = append(nodes, node.Name)
				}
				if want := benchlab.Nodes(shape, n); !slices.Equal(nodes, want) {
					t.Errorf("nodes %v, want %v", short(nodes), short(want))
				}
				if len(l.Links) != n-1 {
					t.Errorf("%d links, want %d (one veth per leaf or per neighbour pair)", len(l.Links), n-1)
				}
			})
		}
	}
}

// The addresses the raw baseline uses are the ones in the lab file, and
// no two are the same even past the 250 leaves of a /24-sized run.
func TestAddressesAreDistinct(t *testing.T) {
	seen := map[string]string{benchlab.StarHostAddr: "host"}
	for i := 1; i < 2000; i++ {
		a := benchlab.StarLeafAddr(i)
		if who, dup := seen[a]; dup {
			t.Fatalf("leaf %d has %s, as %s has", i, a, who)
		}
		seen[a] = benchlab.StarLeaf(i)
	}
	seen = map[string]string{}
	for i := 1; i < 2000; i++ {
		for h := 1; h <= 2; h++ {
			a := benchlab.ChainAddr(i, h)
			if who, dup := seen[a]; dup {
				t.Fatalf("link %d host %d has %s, as %s has", i, h, a, who)
			}
			seen[a] = fmt.Sprintf("link %d host %d", i, h)
		}
	}
}

func TestParseShapeAndNodes(t *testing.T) {
	for _, s := range []string{"star", "chain"} {
		if sh, err := benchlab.ParseShape(s); err != nil || string(sh) != s {
			t.Errorf("ParseShape(%q) = %q, %v", s, sh, err)
		}
	}
	for _, s := range []string{"", "Star", "ring", "star "} {
		if _, err := benchlab.ParseShape(s); err == nil {
			t.Errorf("ParseShape(%q) accepted", s)
		}
	}
	for _, n := range []int{-1, 0, benchlab.MaxNodes + 1} {
		if err := benchlab.CheckNodes(n); err == nil {
			t.Errorf("CheckNodes(%d) accepted", n)
		}
	}
	for _, n := range []int{1, benchlab.MaxNodes} {
		if err := benchlab.CheckNodes(n); err != nil {
			t.Errorf("CheckNodes(%d): %v", n, err)
		}
	}
}

func short(s []string) []string {
	if len(s) > 6 {
		return append(s[:3:3], "...", s[len(s)-1])
	}
	return s
}
