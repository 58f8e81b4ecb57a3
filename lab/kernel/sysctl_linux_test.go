package kernel_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/state"
)

// TestSysctlProblems looks keys up where a node's sysctls will be set: in a
// fresh namespace, which lacks the keys only the root namespace has
// (net.core.default_qdisc) and those of devices not made yet, and in a
// node's own namespace, which has its devices' keys. A key netlab could
// not both set and read back is a problem too: one a namespace may only
// read (net.ipv4.conf.all.mc_forwarding), and an action with nothing to
// read (net.ipv4.route.flush).
func TestSysctlProblems(t *testing.T) {
	t.Parallel()
	eachKernel(t, func(t *testing.T, k *testKernel) {
		ctx := context.Background()
		keys := []string{
			"net.ipv4.ip_forward", "net.core.default_qdisc", "net.ipv4.no_such_key", "net.ipv4.conf",
			"net.ipv4.conf.default.rp_filter", "net.ipv4.conf.lo.rp_filter", "net.ipv4.conf.eth0.rp_filter",
			"net.ipv4.conf.all.mc_forwarding", "net.ipv4.tcp_available_congestion_control", "net.ipv4.route.flush",
		}
		got, err := k.SysctlProblems(ctx, "", keys)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]kernel.SysctlProblem{
			"net.core.default_qdisc": kernel.SysctlAbsent, "net.ipv4.no_such_key": kernel.SysctlAbsent,
			"net.ipv4.conf": kernel.SysctlAbsent, "net.ipv4.conf.eth0.rp_filter": kernel.SysctlAbsent,
			"net.ipv4.conf.all.mc_forwarding":           kernel.SysctlReadOnly,
			"net.ipv4.tcp_available_congestion_control": kernel.SysctlReadOnly,
			"net.ipv4.route.flush":                      kernel.SysctlWriteOnly,
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("missing in a fresh namespace (-want +got):\n%s", diff)
		}

		name := kerneltest.LabName(t)
		upLab(t, k, parseLab(t, labText(name, `name: LAB
nodes:
  a:
    interfaces:
      eth0: {}
  b: {}
links:
  - [a:eth0, b:eth0]
`)))
		got, err = k.SysctlProblems(ctx, state.NetNSName(name, "a"), []string{"net.ipv4.conf.eth0.rp_filter", "net.ipv4.conf.eth9.rp_filter", "net.ipv4.conf.eth0.mc_forwarding"})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[string]kernel.SysctlProblem{"net.ipv4.conf.eth9.rp_filter": kernel.SysctlAbsent, "net.ipv4.conf.eth0.mc_forwarding": kernel.SysctlReadOnly}, got); diff != "" {
			t.Errorf("missing in node a (-want +got):\n%s", diff)
		}
	})
}

// TestSysctlTry writes values in a fresh namespace and reads them back:
// the kernel's reading of "01" and of a short vector, and its refusal of
// "true", each with the key of a device as the default device's.
func TestSysctlTry(t *testing.T) {
	t.Parallel()
	eachKernel(t, func(t *testing.T, k *testKernel) {
		got, err := k.SysctlTry(context.Background(), []kernel.SysctlWrite{
			{Key: "net.ipv4.ip_forward", Value: "01"},
			{Key: "net.ipv4.ip_forward", Value: "true"},
			{Key: "net.ipv4.conf.default.rp_filter", Value: "0x2"},
			{Key: "net.ipv4.ip_local_port_range", Value: "20000 30000"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 4 {
			t.Fatalf("%d results for 4 writes", len(got))
		}
		for i, want := range []string{"1", "", "2", "20000\t30000"} {
			if got[i].ReadBack != want {
				t.Errorf("write %d reads back as %q (err %v), want %q", i, got[i].ReadBack, got[i].Err, want)
			}
		}
		if !errors.Is(got[1].Err, unix.EINVAL) {
			t.Errorf("ip_forward = true: error %v, want EINVAL", got[1].Err)
		}
	})
}
