package kernel_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"netlab/lab/apply"
	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/labfile"
	"netlab/lab/plan"
	"netlab/lab/validate"
)

// TestMTUValidateMatchesLinux builds labs with MTUs at and just past what
// a device's lower device allows, and IPv6 at and below its least MTU,
// straight from the file and without validation, on the real kernel and
// on the fake. Linux refuses some (a macvlan above its parent, an IPv6
// address or route on a device below 1280) half-way through up, and caps
// others (a vxlan above its dev less the overhead), so that the kernel
// then differs from the file; validate must refuse exactly those, and
// pass the rest (a bridge's MTU, which Linux lets differ from its ports'
// either way).
func TestMTUValidateMatchesLinux(t *testing.T) {
	kerneltest.RequireRoot(t)
	// Node a has eth0 (mtu 1400, 10.0.0.1) and eth1 (1500, fd00:1::1),
	// each a veth to node b.
	cases := []struct{ name, iface string }{
		{"macvlan-at-parent", `mv0: {kind: macvlan, macvlan: {parent: eth0}, mtu: 1400}`},
		{"macvlan-above-parent", `mv0: {kind: macvlan, macvlan: {parent: eth0}, mtu: 1401}`},
		{"macvlan-below-parent", `mv0: {kind: macvlan, macvlan: {parent: eth0}, mtu: 1300}`},
		{"vxlan4-at-dev", `vx0: {kind: vxlan, vxlan: {vni: 1, remote: 10.0.0.2, dev: eth0}, mtu: 1350}`},
		{"vxlan4-above-dev", `vx0: {kind: vxlan, vxlan: {vni: 1, remote: 10.0.0.2, dev: eth0}, mtu: 1351}`},
		{"vxlan6-at-dev", `vx0: {kind: vxlan, vxlan: {vni: 1, remote: "fd00:1::2", dev: eth1}, mtu: 1430}`},
		{"vxlan6-above-dev", `vx0: {kind: vxlan, vxlan: {vni: 1, remote: "fd00:1::2", dev: eth1}, mtu: 1431}`},
		{"vxlan-no-dev", `vx0: {kind: vxlan, vxlan: {vni: 1, remote: 10.0.0.2}, mtu: 9000}`},
		{"bridge-above-port", "br0: {kind: bridge, mtu: 1450}\n      p0: {kind: tap, master: br0, mtu: 1300}"},
		{"bridge-below-port", "br0: {kind: bridge, mtu: 1300}\n      p0: {kind: tap, master: br0, mtu: 1450}"},
		{"ipv6-at-1280", `tap0: {kind: tap, mtu: 1280, addresses: ["fd00:3::1/64"]}`},
		{"ipv6-below-1280", `tap0: {kind: tap, mtu: 1279, addresses: ["fd00:3::1/64"]}`},
		{"ipv6-on-vxlan-below-1280", `vx0: {kind: vxlan, vxlan: {vni: 1, remote: 10.0.0.2, dev: eth0}, mtu: 1279, addresses: ["fd00:3::1/64"]}`},
		{"lo-small-ipv4", `lo: {mtu: 700, addresses: [127.0.0.2/8]}`},
		{"ipv6-route-at-1280", "tap0: {kind: tap, mtu: 1280}\n    routes: [{to: \"fd00:5::/64\", dev: tap0}]"},
		{"ipv6-route-below-1280", "tap0: {kind: tap, mtu: 1279}\n    routes: [{to: \"fd00:5::/64\", dev: tap0}]"},
		{"tap-max", `tap0: {kind: tap, mtu: 65521}`},
		{"tap-above-max", `tap0: {kind: tap, mtu: 65522}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			name := kerneltest.LabName(t)
			text := fmt.Sprintf(`name: %s
nodes:
  a:
    interfaces:
      eth0: {mtu: 1400, addresses: [10.0.0.1/24]}
      eth1: {addresses: ["fd00:1::1/64"]}
      %s
  b:
    interfaces:
      eth0: {addresses: [10.0.0.2/24]}
      eth1: {addresses: ["fd00:1::2/64"]}
links:
  - [a:eth0, b:eth0]
  - [a:eth1, b:eth1]
`, name, tc.iface)
			l, diags := labfile.Parse("mtu.yaml", []byte(text))
			if diags.HasErrors() {
				t.Fatalf("the file does not load: %v", diags.Err())
			}
			vd := validate.Lab(l)
			refused := vd.HasErrors()
			ctx := context.Background()
			desired := plan.Desired(l)
			for _, k := range []struct {
				name string
				k    kernel.Kernel
			}{{"Linux", newLinux(t)}, {"fake", kerneltest.NewFake()}} {
				// Fails: the kernel refused a change, or took it and
				// holds something else than the file says.
				fails := func() string {
					observed, err := k.k.Observe(ctx, l.Name, desired)
					if err != nil {
						t.Fatal(err)
					}
					if _, err := apply.Apply(ctx, k.k, plan.Diff(desired, observed, plan.Options{}), apply.Options{}); err != nil {
						return err.Error()
					}
					observed, err = k.k.Observe(ctx, l.Name, desired)
					if err != nil {
						t.Fatal(err)
					}
					if p := plan.Diff(desired, observed, plan.Options{}); !p.Empty() {
						var still []string
						for _, c := range p.Changes {
							still = append(still, c.Node+" "+c.Describe())
						}
						return "the kernel still differs: " + strings.Join(still, "; ")
					}
					return ""
				}()
				if refused != (fails != "") {
					t.Errorf("%s: validate refuses: %v (%v); up on %s: %q", tc.name, refused, vd.Err(), k.name, fails)
				}
			}
		})
	}
}
