// Package benchlab describes the labs the benchmarks measure, a star and a
// chain of N nodes: as a lab file for netlab, and as the names and
// addresses the raw-netlink baseline (internal/rawlab) builds from, so
// that both make the same namespaces, devices, addresses and routes.
package benchlab

import (
	"fmt"
	"strings"
)

// A Shape is the form of a benchmark lab.
type Shape string

const (
	// Star is one node "host" with a bridge br0 and N-1 leaves n1..,
	// each on a veth whose host end p<i> is a port of br0, with a
	// default route via the bridge's address (a bridge per 1000 leaves:
	// StarBridges).
	Star Shape = "star"
	// Chain is N routers r1..rN in a line, a /30 on each veth between
	// neighbours, IPv4 forwarding on, and a default route toward r1.
	Chain Shape = "chain"
)

// Shapes are the shapes in the order the benchmark runs and prints them.
var Shapes = []Shape{Star, Chain}

// MaxNodes bounds N: the chain's /30s fit 10.1.0.0/16 up to 16383
// routers, and the star's bridges 10.0/16 to 10.9/16 hold 9999 leaves;
// 10000 is far past what a benchmark on one machine runs.
const MaxNodes = 10000

// ParseShape returns the shape named s, or an error that lists the shapes.
func ParseShape(s string) (Shape, error) {
	for _, sh := range Shapes {
		if string(sh) == s {
			return sh, nil
		}
	}
	return "", fmt.Errorf("unknown shape %q: use star or chain", s)
}

// CheckNodes returns an error unless n is a node count the labs support.
func CheckNodes(n int) error {
	if n < 1 || n > MaxNodes {
		return fmt.Errorf("node count %d out of range: use 1 to %d", n, MaxNodes)
	}
	return nil
}

// The star's names. Its leaves are spread over bridges of
// StarPortsPerBridge ports each, br0 for n1..n1000, br1 for n1001.., as
// a Linux bridge takes at most 1024 ports (BR_MAX_PORTS; the 1025th
// enslave fails with EXFULL, "exchange full"): a star of N <= 1001 has
// br0 alone.
const (
	StarHost   = "host"
	StarLeafIf = "eth0"
)

// StarPortsPerBridge is how many leaves share a bridge: 1000 in every
// program; a test sets it lower to build a star of several bridges at a
// size a test can afford, and sets it back.
var StarPortsPerBridge = 1000

// StarBridges is how many bridges the host of a star of n nodes has.
func StarBridges(n int) int { return max(1, (n-1+StarPortsPerBridge-1)/StarPortsPerBridge) }

// StarBridgeOf is the number of the bridge leaf i (1 <= i < N) is on.
func StarBridgeOf(i int) int { return (i - 1) / StarPortsPerBridge }

// StarBridge is the name of bridge k.
func StarBridge(k int) string { return fmt.Sprintf("br%d", k) }

// StarBridgeAddr is bridge k's address, with its prefix length: the
// gateway of its leaves, each bridge a /16 of its own.
func StarBridgeAddr(k int) string { return fmt.Sprintf("10.%d.0.1/16", k) }

// StarGateway is bridge k's address, the default route of its leaves.
func StarGateway(k int) string { return fmt.Sprintf("10.%d.0.1", k) }

// StarLeaf is the name of leaf i (1 <= i < N).
func StarLeaf(i int) string { return fmt.Sprintf("n%d", i) }

// StarPort is the host's end of leaf i's veth, a port of its bridge.
func StarPort(i int) string { return fmt.Sprintf("p%d", i) }

// StarLeafAddr is leaf i's address on eth0, with its prefix length: in
// its bridge's /16, numbered from .2 in 250s.
func StarLeafAddr(i int) string {
	k, j := StarBridgeOf(i), (i-1)%StarPortsPerBridge+1
	return fmt.Sprintf("10.%d.%d.%d/16", k, j/250, j%250+2)
}

// The chain's interface names: a router's veth toward r(i-1) and r(i+1).
const (
	ChainLeft  = "left"
	ChainRight = "right"
)

// ChainRouter is the name of router i (1 <= i <= N).
func ChainRouter(i int) string { return fmt.Sprintf("r%d", i) }

// ChainAddr is host h (1 or 2) of the i-th /30, without the prefix
// length: r(i) has host 1 on right, r(i+1) host 2 on left; ChainCIDR is
// the same with it.
func ChainAddr(i, h int) string {
	c, d := chainHost(i, h)
	return fmt.Sprintf("10.1.%d.%d", c, d)
}

// ChainCIDR is ChainAddr with the prefix length, /30.
func ChainCIDR(i, h int) string {
	c, d := chainHost(i, h)
	return fmt.Sprintf("10.1.%d.%d/30", c, d)
}

// chainHost is the last two bytes of host h of the i-th /30 in 10.1/16.
func chainHost(i, h int) (int, int) {
	base := i * 4
	return base / 256, base%256 + h
}

// Nodes are the node names of a lab of that shape and size, in the order
// the lab file declares them.
func Nodes(shape Shape, n int) []string {
	var out []string
	switch shape {
	case Star:
		out = append(out, StarHost)
		for i := 1; i < n; i++ {
			out = append(out, StarLeaf(i))
		}
	case Chain:
		for i := 1; i <= n; i++ {
			out = append(out, ChainRouter(i))
		}
	}
	return out
}

// File is the lab file of a lab of that shape, name and size.
func File(shape Shape, name string, n int) string {
	if shape == Star {
		return starFile(name, n)
	}
	return chainFile(name, n)
}

func starFile(name string, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\nnodes:\n  %s:\n    interfaces:\n", name, StarHost)
	for k := range StarBridges(n) {
		fmt.Fprintf(&b, "      %s: {kind: bridge, addresses: [%s]}\n", StarBridge(k), StarBridgeAddr(k))
	}
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "      %s: {master: %s}\n", StarPort(i), StarBridge(StarBridgeOf(i)))
	}
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "  %s:\n    interfaces:\n      %s: {addresses: [%s]}\n    routes: [{to: default, via: %s}]\n", StarLeaf(i), StarLeafIf, StarLeafAddr(i), StarGateway(StarBridgeOf(i)))
	}
	if n > 1 {
		b.WriteString("links:\n")
	}
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "  - [%s:%s, %s:%s]\n", StarLeaf(i), StarLeafIf, StarHost, StarPort(i))
	}
	return b.String()
}

func chainFile(name string, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\nnodes:\n", name)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "  %s:\n    sysctls: {net.ipv4.ip_forward: 1}\n", ChainRouter(i))
		if n > 1 {
			b.WriteString("    interfaces:\n")
		}
		if i > 1 {
			fmt.Fprintf(&b, "      %s: {addresses: [%s]}\n", ChainLeft, ChainCIDR(i-1, 2))
		}
		if i < n {
			fmt.Fprintf(&b, "      %s: {addresses: [%s]}\n", ChainRight, ChainCIDR(i, 1))
		}
		if i > 1 {
			fmt.Fprintf(&b, "    routes: [{to: default, via: %s}]\n", ChainAddr(i-1, 1))
		}
	}
	if n > 1 {
		b.WriteString("links:\n")
	}
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "  - [%s:%s, %s:%s]\n", ChainRouter(i), ChainRight, ChainRouter(i+1), ChainLeft)
	}
	return b.String()
}
