package kernel_test

import (
	"context"
	"errors"
	"net/netip"
	"os/exec"
	"strings"
	"testing"

	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/state"
)

// TestNetNSForeign checks that the kernel refuses to take or delete a
// namespace of a lab's name that netlab did not mark.
func TestNetNSForeign(t *testing.T) {
	t.Parallel()
	eachKernel(t, func(t *testing.T, k *testKernel) {
		ctx := context.Background()
		name := kerneltest.LabName(t)
		netnsName := state.NetNSName(name, "a")
		k.hand(t, "ip netns add "+netnsName, "ip -n "+netnsName+" link add eth0 type bridge")

		var fe *kernel.ForeignError
		if err := k.NetNSAdd(ctx, name, "a"); !errors.As(err, &fe) {
			t.Errorf("NetNSAdd over a namespace made by hand: err = %v, want ForeignError", err)
		}
		if err := k.NetNSDel(ctx, netnsName); !errors.As(err, &fe) {
			t.Errorf("NetNSDel of a namespace made by hand: err = %v, want ForeignError", err)
		}
		s, err := k.Observe(ctx, name, nil)
		if err != nil {
			t.Fatal(err)
		}
		if n := s.Nodes["a"]; n == nil || !n.Foreign || len(n.Links) != 0 {
			t.Errorf("Observe: node a = %+v, want Foreign with nothing read", n)
		}
		labs, err := k.Labs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, li := range labs {
			if li.Name == name {
				t.Errorf("Labs lists %s, which has only a namespace made by hand", name)
			}
		}
		// Still there, with the link made by hand: a hand change of it
		// works.
		if err := k.tryHand("ip -n " + netnsName + " link set eth0 mtu 1400"); err != nil {
			t.Errorf("the hand-made link is gone: %v", err)
		}
		// The lo marker of another node or lab does not make it netlab's.
		k.hand(t, "ip -n "+netnsName+" link set lo alias "+state.NodeMarker(name, "b"))
		if err := k.NetNSDel(ctx, netnsName); !errors.As(err, &fe) {
			t.Errorf("NetNSDel of a namespace marked for another node: err = %v, want ForeignError", err)
		}
	})
}

// TestNetNSDeletedByHand deletes a namespace behind the back of a kernel
// that has it open, then has the same kernel create it again: the new
// namespace, not the old one the kernel still held, must be the one that
// gets marked, read and changed.
func TestNetNSDeletedByHand(t *testing.T) {
	t.Parallel()
	eachKernel(t, func(t *testing.T, k *testKernel) {
		ctx := context.Background()
		name := kerneltest.LabName(t)
		netnsName := state.NetNSName(name, "a")
		if err := k.NetNSAdd(ctx, name, "a"); err != nil {
			t.Fatal(err)
		}
		if err := k.AddrAdd(ctx, netnsName, "lo", netip.MustParsePrefix("192.0.2.1/32")); err != nil {
			t.Fatal(err)
		}
		k.hand(t, "ip netns del "+netnsName)

		s, err := k.Observe(ctx, name, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Nodes) != 0 {
			t.Fatalf("Observe after the namespace was deleted by hand: nodes %v, want none", s.NodeNames())
		}
		if err := k.NetNSAdd(ctx, name, "a"); err != nil {
			t.Fatal(err)
		}
		if k.linux {
			out, err := exec.Command("ip", "-n", netnsName, "-o", "link", "show", "lo").CombinedOutput()
			if err != nil {
				t.Fatalf("ip link show: %v: %s", err, out)
			}
			if !strings.Contains(string(out), "alias "+state.NodeMarker(name, "a")) || !strings.Contains(string(out), "UP") {
				t.Errorf("the new namespace's lo is not marked and up: %s", out)
			}
		}
		s, err = k.Observe(ctx, name, nil)
		if err != nil {
			t.Fatal(err)
		}
		if n := s.Nodes["a"]; n == nil || n.Foreign || len(n.Links["lo"].Addrs) != 2 || !n.Links["lo"].Up || n.Links["lo"].Alias != state.NodeMarker(name, "a") {
			// 127.0.0.1/8 and ::1/128 only: 192.0.2.1 was in the old one.
			t.Errorf("Observe reads a stale namespace: node a = %+v, lo = %+v", n, n.Links["lo"])
		}
	})
}
