package kernel_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"netlab/lab/kernel/kerneltest"
	"netlab/lab/state"
)

// TestSysctlMissing looks keys up where a node's sysctls will be set: in a
// fresh namespace, which lacks the keys only the root namespace has
// (net.core.default_qdisc) and those of devices not made yet, and in a
// node's own namespace, which has its devices' keys.
func TestSysctlMissing(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	ctx := context.Background()
	k := newLinux(t)
	keys := []string{
		"net.ipv4.ip_forward", "net.core.default_qdisc", "net.ipv4.no_such_key", "net.ipv4.conf",
		"net.ipv4.conf.default.rp_filter", "net.ipv4.conf.lo.rp_filter", "net.ipv4.conf.eth0.rp_filter",
	}
	got, err := k.SysctlMissing(ctx, "", keys)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"net.core.default_qdisc", "net.ipv4.no_such_key", "net.ipv4.conf", "net.ipv4.conf.eth0.rp_filter"}
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
	got, err = k.SysctlMissing(ctx, state.NetNSName(name, "a"), []string{"net.ipv4.conf.eth0.rp_filter", "net.ipv4.conf.eth9.rp_filter"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"net.ipv4.conf.eth9.rp_filter"}, got); diff != "" {
		t.Errorf("missing in node a (-want +got):\n%s", diff)
	}
}
