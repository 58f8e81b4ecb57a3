package state_test

import (
	"net/netip"
	"testing"

	"netlab/lab/state"
)

// TestNodeFirstAddr: a running node's name stands for the first address
// of its links by name that another node can reach.
func TestNodeFirstAddr(t *testing.T) {
	n := &state.Node{Links: map[string]*state.Link{
		"lo":   {Addrs: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/8")}},
		"eth1": {Addrs: []netip.Prefix{netip.MustParsePrefix("fe80::1/64"), netip.MustParsePrefix("10.0.1.1/24")}},
		"eth2": {Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.2.1/24")}},
	}}
	if a, ok := n.FirstAddr(); !ok || a.String() != "10.0.1.1" {
		t.Errorf("FirstAddr = %v, %v; want 10.0.1.1", a, ok)
	}
	if a, ok := (&state.Node{}).FirstAddr(); ok {
		t.Errorf("FirstAddr of a node without links = %v", a)
	}
}
