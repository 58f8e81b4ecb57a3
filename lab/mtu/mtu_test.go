package mtu_test

import (
	"testing"

	"netlab/lab"
	"netlab/lab/labfile"
	"netlab/lab/mtu"
)

const devices = `name: t
nodes:
  a:
    interfaces:
      eth0: {mtu: 1400}
      eth1: {}
      br0: {kind: bridge}
      br1: {kind: bridge, mtu: 1450}
      p0: {master: br0}
      p1: {master: br0, mtu: 1300}
      mv0: {kind: macvlan, macvlan: {parent: eth0}}
      mv1: {kind: macvlan, macvlan: {parent: mv0}, mtu: 1200}
      mv2: {kind: macvlan, macvlan: {parent: b:eth0}}
      vx4: {kind: vxlan, vxlan: {vni: 1, remote: 10.0.0.2, dev: eth0}}
      vx6: {kind: vxlan, vxlan: {vni: 2, remote: "fd00::2", dev: eth1}}
      vxs: {kind: vxlan, vxlan: {vni: 3, remote: 10.0.0.2, dev: mv1}, mtu: 68}
      vxn: {kind: vxlan, vxlan: {vni: 4, remote: 10.0.0.2}}
      tap0: {kind: tap}
      lo: {}
  b:
    interfaces:
      eth0: {}
      p0: {}
      p1: {}
      eth1: {}
  c:
    interfaces:
      m1: {kind: macvlan, macvlan: {parent: m2}}
      m2: {kind: macvlan, macvlan: {parent: m1}}
links:
  - [a:eth0, b:p0]
  - {endpoints: [a:eth1, b:p1], mtu: 9000}
  - [b:eth0, b:eth1]
  - [a:p0, a:p1]
`

// TestOf pins the MTU of each kind of interface, declared or the kernel's
// default, and the most the kernel lets it have.
func TestOf(t *testing.T) {
	l, diags := labfile.Parse("t.yaml", []byte(devices))
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	for _, tc := range []struct {
		ref            string
		declared, of   int
		max            int
		lower          string
		defaultIfUnset int
	}{
		{"a:eth0", 1400, 1400, 65535, "", 1500},
		{"b:p0", 1400, 1400, 65535, "", 1500}, // its veth peer's
		{"a:eth1", 9000, 9000, 65535, "", 1500},
		{"a:br0", 0, 1300, 65535, "", 1300},    // its smallest port
		{"a:br1", 1450, 1450, 65535, "", 1500}, // no ports
		{"a:mv0", 0, 1400, 1400, "a:eth0", 1400},
		{"a:mv1", 1200, 1200, 1400, "a:mv0", 1400},
		{"a:mv2", 0, 1500, 1500, "b:eth0", 1500},
		{"a:vx4", 0, 1350, 1350, "a:eth0", 1350},
		{"a:vx6", 0, 8930, 8930, "a:eth1", 8930},
		{"a:vxs", 68, 68, 1150, "a:mv1", 1150},
		{"a:vxn", 0, 1500, 65535, "", 1500},
		{"a:tap0", 0, 1500, 65521, "", 1500},
		{"a:lo", 0, 65536, 65535, "", 65536},
		{"c:m1", 0, 1500, 1500, "c:m2", 1500}, // a circle: refused by validate, but no hang
	} {
		t.Run(tc.ref, func(t *testing.T) {
			i := find(t, l, tc.ref)
			if got := mtu.Declared(l, i); got != tc.declared {
				t.Errorf("Declared = %d, want %d", got, tc.declared)
			}
			if got := mtu.Of(l, i); got != tc.of {
				t.Errorf("Of = %d, want %d", got, tc.of)
			}
			if got := mtu.Default(l, i); got != tc.defaultIfUnset {
				t.Errorf("Default = %d, want %d", got, tc.defaultIfUnset)
			}
			most, lower := mtu.Max(l, i)
			lowerRef := ""
			if lower != nil {
				lowerRef = lower.Ref()
			}
			if most != tc.max || lowerRef != tc.lower {
				t.Errorf("Max = %d, %q; want %d, %q", most, lowerRef, tc.max, tc.lower)
			}
		})
	}
}

func find(t *testing.T, l *lab.Lab, ref string) *lab.Interface {
	t.Helper()
	for _, n := range l.Nodes {
		for _, i := range n.Interfaces {
			if i.Ref() == ref {
				return i
			}
		}
	}
	t.Fatalf("no interface %s", ref)
	return nil
}
