package benchlab_test

import (
	"fmt"
	"maps"
	"net/netip"
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

// No two of the star's addresses are the same, up to MaxNodes, and each
// leaf's is in its bridge's /16 (past 250 leaves, a /24's worth, and past
// the first bridge); likewise the chain's.
func TestAddressesAreDistinct(t *testing.T) {
	seen := map[netip.Addr]string{}
	add := func(cidr, who string) netip.Prefix {
		t.Helper()
		p := netip.MustParsePrefix(cidr)
		if other, dup := seen[p.Addr()]; dup {
			t.Fatalf("%s has %s, as %s has", who, cidr, other)
		}
		seen[p.Addr()] = who
		return p
	}
	n := benchlab.MaxNodes
	for k := range benchlab.StarBridges(n) {
		add(benchlab.StarBridgeAddr(k), benchlab.StarBridge(k))
	}
	for i := 1; i < n; i++ {
		p := add(benchlab.StarLeafAddr(i), benchlab.StarLeaf(i))
		gw := netip.MustParseAddr(benchlab.StarGateway(benchlab.StarBridgeOf(i)))
		if !p.Masked().Contains(gw) {
			t.Fatalf("leaf %d has %s, outside its gateway %s's subnet", i, p, gw)
		}
	}
	seen = map[netip.Addr]string{}
	for i := 1; i < n; i++ {
		for h := 1; h <= 2; h++ {
			add(benchlab.ChainCIDR(i, h), fmt.Sprintf("link %d host %d", i, h))
		}
	}
}

// A star past 1001 nodes has a bridge for each 1000 leaves, none with
// more than the kernel's 1024 ports.
func TestStarBridges(t *testing.T) {
	for n, want := range map[int]int{1: 1, 2: 1, 1001: 1, 1002: 2, 2000: 2, 2001: 2, 2002: 3} {
		if got := benchlab.StarBridges(n); got != want {
			t.Errorf("StarBridges(%d) = %d, want %d", n, got, want)
		}
	}
	l, diags := labfile.Parse("bench.yaml", []byte(benchlab.File(benchlab.Star, "nltestbench", 2002)))
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	ports := map[string]int{}
	for _, ifc := range l.Node(benchlab.StarHost).Interfaces {
		if ifc.Master != "" {
			ports[ifc.Master]++
		}
	}
	if want := map[string]int{"br0": 1000, "br1": 1000, "br2": 1}; !maps.Equal(ports, want) {
		t.Errorf("ports per bridge %v, want %v", ports, want)
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
