package lab_test

import (
	"testing"

	"netlab/lab/labfile"
)

// TestFirstAddr: a node's name stands for its first address in file
// order that another node can reach: not loopback, not link-local.
func TestFirstAddr(t *testing.T) {
	l, diags := labfile.Parse("t.yaml", []byte(`name: t
nodes:
  a:
    interfaces:
      lo: {addresses: [127.0.0.2/8]}
      eth0: {addresses: ["fe80::1/64", 10.0.0.1/24, 10.0.1.1/24]}
  b: {}
`))
	if l == nil || diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	if a, ok := l.FirstAddr("a"); !ok || a.String() != "10.0.0.1" {
		t.Errorf("FirstAddr(a) = %v, %v; want 10.0.0.1", a, ok)
	}
	for _, node := range []string{"b", "nosuch"} {
		if a, ok := l.FirstAddr(node); ok {
			t.Errorf("FirstAddr(%s) = %v, want none", node, a)
		}
	}
}
