package check_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"netlab/lab"
	"netlab/lab/check"
	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/plan"
	"netlab/lab/reconcile"
)

// The check tests that the fake network can express are written once and
// run on two networks: always on kerneltest.Net, built from the lab file
// as fakeNet builds it, and, as root, on the real kernel, where the lab is
// brought up with netlab's pipeline. The scenario and the assertions are
// the same on both; what the fake does not simulate (see kerneltest.Net:
// firewall rules of the lab, the link layer, ICMP errors from routers,
// tentative addresses) keeps its tests on the real kernel alone.

// network is where a dual test's labs run.
type network struct {
	fake *kerneltest.Net // nil on the real kernel
	// k is the kernel labs are brought up in on the fake, where the
	// network is then built from the lab file: the plans are the
	// pipeline's own on both.
	k *kerneltest.Fake
}

// own is a network for a subtest of its own: on the fake a new one, as a
// machine of its own; the real kernel is one for all.
func (n *network) own() *network {
	if n.fake == nil {
		return n
	}
	return &network{fake: kerneltest.NewNet(), k: kerneltest.NewFake()}
}

// onBothNets runs fn on the fake network and, as root, on the real
// kernel, each as a parallel subtest.
func onBothNets(t *testing.T, fn func(t *testing.T, n *network)) {
	t.Helper()
	t.Run("fake", func(t *testing.T) {
		t.Parallel()
		fn(t, &network{fake: kerneltest.NewNet(), k: kerneltest.NewFake()})
	})
	t.Run("linux", func(t *testing.T) {
		kerneltest.RequireRoot(t)
		t.Parallel()
		fn(t, &network{})
	})
}

// up brings l up: on the real kernel as netlab up does, on the fake by
// adding its namespaces to the network.
func (n *network) up(t *testing.T, l *lab.Lab) {
	t.Helper()
	if n.fake != nil {
		upIn(t, n.k, l)
		addFakeLab(n.fake, l)
		return
	}
	up(t, l)
}

// upEdited applies l to a lab that is running already, as netlab up does
// after the student edited the file, and returns the plan. On the fake,
// the network is then the edited lab's alone.
func (n *network) upEdited(t *testing.T, l *lab.Lab) *plan.Plan {
	t.Helper()
	if n.fake == nil {
		return upEdited(t, l)
	}
	p := upIn(t, n.k, l)
	n.fake = fakeNet(l)
	return p
}

// upIn runs netlab up's pipeline on l in k and returns its plan.
func upIn(t *testing.T, k kernel.Kernel, l *lab.Lab) *plan.Plan {
	t.Helper()
	res, err := reconcile.Up(context.Background(), k, l, reconcile.Options{})
	if err != nil {
		t.Fatalf("up: %v", err)
	}
	return res.Plan
}

// upEdited applies l to a lab running in the real kernel, as netlab up
// does after the student edited the file, and returns the plan.
func upEdited(t *testing.T, l *lab.Lab) *plan.Plan {
	t.Helper()
	k := kernel.NewLinux()
	defer k.Close()
	return upIn(t, k, l)
}

// netns is what the checks run in.
func (n *network) netns() kernel.NetNS {
	if n.fake != nil {
		return n.fake
	}
	return kernel.NewLinux()
}

// run runs the lab's checks on the network and logs each result.
func (n *network) run(t *testing.T, l *lab.Lab) []check.Result {
	t.Helper()
	return runOn(t, n.netns(), l)
}

// delRoute deletes a route by hand, as ip -n NETNS route del TO does.
func (n *network) delRoute(t *testing.T, netns, to string) {
	t.Helper()
	if n.fake == nil {
		ip(t, "-n", netns, "route", "del", to)
		return
	}
	p := netip.MustParsePrefix(strings.Replace(to, "default", "0.0.0.0/0", 1))
	if err := n.fake.DelRoute(netns, p); err != nil {
		t.Fatal(err)
	}
}
