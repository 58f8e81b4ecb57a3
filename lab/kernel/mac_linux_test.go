package kernel_test

import (
	"context"
	"fmt"
	"testing"

	"netlab/lab/apply"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/labfile"
	"netlab/lab/plan"
	"netlab/lab/validate"
)

// TestMACValidateMatchesLinux builds labs with a MAC on a device, or among
// a source macvlan's senders, straight from the file and without
// validation, on the real kernel and on the fake: for each, validate
// refuses the file exactly when Linux (and the fake, which stands in for it
// in the other tests) refuses to build it. The fake runs always, Linux as
// root.
func TestMACValidateMatchesLinux(t *testing.T) {
	cases := []struct{ name, iface string }{
		{"unicast", `tap0: {kind: tap, mac: "02:00:00:00:00:01"}`},
		{"multicast", `tap0: {kind: tap, mac: "01:00:5e:00:00:01"}`},
		{"odd-first-octet", `tap0: {kind: tap, mac: "03:00:00:00:00:01"}`},
		{"zero", `tap0: {kind: tap, mac: "00:00:00:00:00:00"}`},
		{"broadcast", `tap0: {kind: tap, mac: "ff:ff:ff:ff:ff:ff"}`},
		{"bridge-multicast", `br0: {kind: bridge, mac: "33:33:00:00:00:01"}`},
		{"tun", `tun0: {kind: tun, mac: "02:00:00:00:00:01"}`},
		{"source-unicast", `mv0: {kind: macvlan, macvlan: {parent: eth0, mode: source, source-macs: ["02:00:00:00:00:09"]}}`},
		{"source-multicast", `mv0: {kind: macvlan, macvlan: {parent: eth0, mode: source, source-macs: ["01:80:c2:00:00:00"]}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			eachKernel(t, func(t *testing.T, k *testKernel) {
				name := kerneltest.LabName(t)
				text := fmt.Sprintf("name: %s\nnodes:\n  a:\n    interfaces:\n      eth0: {}\n      %s\n  b:\n    interfaces:\n      eth0: {}\nlinks:\n  - [a:eth0, b:eth0]\n", name, tc.iface)
				l, diags := labfile.Parse("mac.yaml", []byte(text))
				if diags.HasErrors() {
					t.Fatalf("the file does not load: %v", diags.Err())
				}
				refused := validate.Lab(l).HasErrors()
				ctx := context.Background()
				desired := plan.Desired(l)
				observed, err := k.Observe(ctx, l.Name, desired)
				if err != nil {
					t.Fatal(err)
				}
				_, err = apply.Apply(ctx, k, plan.Diff(desired, observed, plan.Options{}), apply.Options{})
				if refused != (err != nil) {
					t.Errorf("%s: validate refuses: %v, the kernel fails up: %v", tc.name, refused, err)
				}
			})
		})
	}
}
