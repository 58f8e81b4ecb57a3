package check_test

import (
	"net/netip"
	"strings"
	"testing"

	"netlab/lab"
	"netlab/lab/check"
	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
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
}

// onBothNets runs fn on the fake network and, as root, on the real
// kernel, each as a parallel subtest.
func onBothNets(t *testing.T, fn func(t *testing.T, n *network)) {
	t.Helper()
	t.Run("fake", func(t *testing.T) {
		t.Parallel()
		fn(t, &network{fake: kerneltest.NewNet()})
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
		addFakeLab(n.fake, l)
		return
	}
	up(t, l)
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
