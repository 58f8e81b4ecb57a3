package kerneltest_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/sys/unix"

	"netlab/lab"
	"netlab/lab/apply"
	"netlab/lab/device"
	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/labfile"
	"netlab/lab/plan"
	"netlab/lab/reconcile"
	"netlab/lab/state"
	"netlab/lab/validate"
	"netlab/topologies"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var ctx = context.Background()

// netIP compares netip values, which have unexported fields.
var netIP = cmpopts.EquateComparable(netip.Prefix{}, netip.Addr{})

// observe reads a lab from the fake and fails the test on error.
func observe(t *testing.T, k *kerneltest.Fake, lab string, want *state.State) *state.State {
	t.Helper()
	s, err := k.Observe(ctx, lab, want)
	if err != nil {
		t.Fatalf("observe %s: %v", lab, err)
	}
	return s
}

// link returns an observed link, failing the test if it is missing.
func link(t *testing.T, s *state.State, node, name string) *state.Link {
	t.Helper()
	n := s.Nodes[node]
	if n == nil || n.Links[name] == nil {
		t.Fatalf("no link %s:%s in the observed state", node, name)
	}
	return n.Links[name]
}

func veth(name, peer string) *state.Link {
	return &state.Link{Name: name, Kind: "veth", Up: true, Alias: state.LinkMarker("t", peer), Peer: peer}
}

// pair makes namespaces t.a and t.b joined by a veth a:eth0 - b:eth0.
func pair(t *testing.T) *kerneltest.Fake {
	t.Helper()
	k := kerneltest.NewFake()
	for _, node := range []string{"a", "b"} {
		if err := k.NetNSAdd(ctx, "t", node); err != nil {
			t.Fatal(err)
		}
	}
	if err := k.LinkAdd(ctx, "t.a", veth("eth0", "b:eth0"), "t.b", veth("eth0", "a:eth0")); err != nil {
		t.Fatal(err)
	}
	return k
}

func TestNetNS(t *testing.T) {
	k := kerneltest.NewFake()
	if err := k.NetNSAdd(ctx, "t", "a"); err != nil {
		t.Fatal(err)
	}
	s := observe(t, k, "t", nil)
	lo := link(t, s, "a", "lo")
	if lo.Alias != state.NodeMarker("t", "a") || !lo.Up || lo.Kind != "loopback" || lo.Index != 1 {
		t.Errorf("lo = %+v, want it marked, up, loopback, ifindex 1", lo)
	}
	wantAddrs := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/8"), netip.MustParsePrefix("::1/128")}
	if diff := cmp.Diff(wantAddrs, lo.Addrs, netIP); diff != "" {
		t.Errorf("lo addresses (-want +got):\n%s", diff)
	}

	// Again on a marked namespace: marked again, lo up again.
	k.MustSeed(t, "ip -n t.a link set lo down")
	if err := k.NetNSAdd(ctx, "t", "a"); err != nil {
		t.Errorf("NetNSAdd of a marked namespace: %v", err)
	}
	if lo := link(t, observe(t, k, "t", nil), "a", "lo"); !lo.Up {
		t.Error("NetNSAdd of a marked namespace left lo down")
	}

	// A namespace of the lab's name without the marker is foreign.
	k.MustSeed(t, "ip netns add t.x", "ip netns add t.y", "ip -n t.y link set lo alias netlab:t:x")
	for _, node := range []string{"x", "y"} {
		var fe *kernel.ForeignError
		if err := k.NetNSAdd(ctx, "t", node); !errors.As(err, &fe) || fe.NetNS != "t."+node {
			t.Errorf("NetNSAdd of unmarked t.%s: %v, want a ForeignError", node, err)
		}
		if err := k.NetNSDel(ctx, "t."+node); !errors.As(err, &fe) {
			t.Errorf("NetNSDel of unmarked t.%s: %v, want a ForeignError", node, err)
		}
		if n := observe(t, k, "t", nil).Nodes[node]; n == nil || !n.Foreign || len(n.Links) != 0 {
			t.Errorf("observed node %s = %+v, want foreign and empty", node, n)
		}
	}
	if err := k.NetNSDel(ctx, "t.gone"); err != nil {
		t.Errorf("NetNSDel of a missing namespace: %v", err)
	}
	if err := k.NetNSDel(ctx, "nodot"); err == nil {
		t.Error("NetNSDel of a name netlab never makes succeeded")
	}
	labs, err := k.Labs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]kernel.LabInfo{{Name: "t", Nodes: []string{"a"}}}, labs); diff != "" {
		t.Errorf("Labs (-want +got):\n%s", diff)
	}
	if err := k.NetNSDel(ctx, "t.a"); err != nil {
		t.Fatal(err)
	}
	if got := k.String(); got != "ip -n t.y link set lo alias netlab:t:x\nip netns add t.x\nip netns add t.y\n" {
		t.Errorf("String() after deleting t.a:\n%s", got)
	}
}

func TestVeth(t *testing.T) {
	k := pair(t)
	s := observe(t, k, "t", nil)
	a, b := link(t, s, "a", "eth0"), link(t, s, "b", "eth0")
	if a.Index != 2 || b.Index != 2 {
		t.Errorf("ifindexes %d, %d: want 2 in each namespace (lo is 1)", a.Index, b.Index)
	}
	if a.PeerIndex != b.Index || b.PeerIndex != a.Index {
		t.Errorf("peer indexes %d, %d do not point at each other", a.PeerIndex, b.PeerIndex)
	}
	if a.Peer != "b:eth0" || b.Peer != "a:eth0" || !a.Owned || !b.Owned {
		t.Errorf("ends %+v and %+v: want owned, each naming the other", a, b)
	}
	if a.MAC == "" || a.MAC == b.MAC || a.MTU != 1500 || a.OperState != "up" {
		t.Errorf("end a: mac %q (b %q) mtu %d operstate %s: want distinct generated MACs, mtu 1500, up", a.MAC, b.MAC, a.MTU, a.OperState)
	}

	// A name that exists, at either end.
	err := k.LinkAdd(ctx, "t.a", veth("eth0", "b:eth1"), "t.b", veth("eth1", "a:eth0"))
	if !kernel.IsExist(err) {
		t.Errorf("LinkAdd of an existing name: %v, want EEXIST", err)
	}
	err = k.LinkAdd(ctx, "t.a", veth("eth1", "b:eth0"), "t.b", veth("eth0", "a:eth1"))
	if !kernel.IsExist(err) {
		t.Errorf("LinkAdd of an existing peer name: %v, want EEXIST", err)
	}
	if got := len(observe(t, k, "t", nil).Nodes["a"].Links); got != 2 {
		t.Errorf("a failed LinkAdd left %d links in t.a, want 2", got)
	}

	// Ifindexes are not reused.
	k.MustSeed(t, "ip -n t.a link add eth1 type veth peer name eth1 netns t.b")
	if got := link(t, observe(t, k, "t", nil), "a", "eth1").Index; got != 3 {
		t.Errorf("third link of t.a has ifindex %d, want 3", got)
	}

	// Deleting one end deletes the other; deleting what is gone succeeds.
	if err := k.LinkDel(ctx, "t.b", "eth0"); err != nil {
		t.Fatal(err)
	}
	if l := observe(t, k, "t", nil).Nodes["a"].Links["eth0"]; l != nil {
		t.Errorf("peer a:eth0 survived the delete of b:eth0")
	}
	for _, del := range []func() error{
		func() error { return k.LinkDel(ctx, "t.a", "eth0") },
		func() error { return k.LinkDel(ctx, "t.gone", "eth0") },
		func() error { return k.AddrDel(ctx, "t.a", "eth1", netip.MustParsePrefix("10.0.0.1/24")) },
		func() error { return k.AddrDel(ctx, "t.a", "nope", netip.MustParsePrefix("10.0.0.1/24")) },
		func() error { return k.RouteDel(ctx, "t.a", state.Route{To: netip.MustParsePrefix("10.9.0.0/16")}) },
	} {
		if err := del(); err != nil {
			t.Errorf("delete of something missing: %v", err)
		}
	}

	// Deleting a namespace deletes the peer ends it held.
	if err := k.NetNSDel(ctx, "t.b"); err != nil {
		t.Fatal(err)
	}
	if l := observe(t, k, "t", nil).Nodes["a"].Links["eth1"]; l != nil {
		t.Errorf("a:eth1 survived the delete of its peer's namespace")
	}
}

// TestResolvePeers checks that Observe checks peer claims: an end that
// claims a peer it is not paired with shows no peer.
func TestResolvePeers(t *testing.T) {
	k := pair(t)
	k.MustSeed(t, "ip netns add t.c", "ip -n t.c link set lo alias netlab:t:c up",
		"ip -n t.c link add eth0 type veth peer name eth1 netns t.a",
		"ip -n t.c link set eth0 alias netlab:t:a:eth0",
		"ip -n t.a link set eth1 alias netlab:t:c:eth0")
	s := observe(t, k, "t", nil)
	if p := link(t, s, "c", "eth0").Peer; p != "" {
		t.Errorf("c:eth0 claims a:eth0, which is paired with b:eth0, and shows peer %q", p)
	}
	if p := link(t, s, "a", "eth0").Peer; p != "b:eth0" {
		t.Errorf("a:eth0 shows peer %q, want b:eth0", p)
	}
}

func TestMaster(t *testing.T) {
	k := pair(t)
	br := &state.Link{Name: "br0", Kind: "bridge", Up: true, Alias: state.LinkMarker("t", "")}
	if err := k.LinkAdd(ctx, "t.a", br, "", nil); err != nil {
		t.Fatal(err)
	}
	port := veth("eth1", "b:eth1")
	port.Master = "br9"
	if err := k.LinkAdd(ctx, "t.a", port, "t.b", veth("eth1", "a:eth1")); err == nil {
		t.Error("LinkAdd with a missing master succeeded")
	}
	for _, master := range []string{"eth0", "lo", "br9", "br0x"} {
		l := &state.Link{Name: "eth0", Master: master}
		if err := k.LinkSet(ctx, "t.a", l, []state.LinkAttr{state.AttrMaster}); err == nil {
			t.Errorf("LinkSet master %s (not a bridge) succeeded", master)
		}
	}
	if err := k.LinkSet(ctx, "t.a", &state.Link{Name: "br0", Master: "br0"}, []state.LinkAttr{state.AttrMaster}); err == nil {
		t.Error("a bridge became its own port")
	}
	if err := k.LinkSet(ctx, "t.a", &state.Link{Name: "eth0", Master: "br0", MTU: 9000}, []state.LinkAttr{state.AttrMTU, state.AttrMaster}); err != nil {
		t.Fatal(err)
	}
	s := observe(t, k, "t", nil)
	if got := link(t, s, "a", "eth0").Master; got != "br0" {
		t.Errorf("master of eth0 = %q, want br0", got)
	}
	if got := link(t, s, "a", "br0").MTU; got != 9000 {
		t.Errorf("bridge MTU = %d, want 9000, the MTU of its only port", got)
	}
	// Deleting the bridge releases its port.
	if err := k.LinkDel(ctx, "t.a", "br0"); err != nil {
		t.Fatal(err)
	}
	if got := link(t, observe(t, k, "t", nil), "a", "eth0").Master; got != "" {
		t.Errorf("master of eth0 after its bridge went = %q, want none", got)
	}
	for _, kind := range []device.Kind{"dummy"} {
		err := k.LinkAdd(ctx, "t.a", &state.Link{Name: "x0", Kind: kind}, "", nil)
		if !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("LinkAdd kind %s: %v, want ErrUnsupported as kernel.Linux", kind, err)
		}
	}
	if err := k.LinkSet(ctx, "t.a", &state.Link{Name: "nope", Up: true}, []state.LinkAttr{state.AttrUp}); !errors.Is(err, unix.ENODEV) {
		t.Errorf("LinkSet of a missing link: %v, want ENODEV", err)
	}
}

// TestRoutes checks what the kernel does to routes: it needs an up device
// and a reachable gateway, and drops routes with their device, when the
// device goes down, and (IPv4) when it loses its last IPv4 address.
func TestRoutes(t *testing.T) {
	setup := `
ip netns add t.a
ip -n t.a link set lo alias netlab:t:a up
ip -n t.a link add eth0 type dummy
ip -n t.a addr add 10.0.0.1/24 dev eth0
ip -n t.a addr add 10.0.1.1/24 dev eth0
ip -n t.a addr add fd00::1/64 dev eth0
`
	route := func(s string) state.Route {
		var r state.Route
		to, via, _ := strings.Cut(s, " via ")
		r.To = netip.MustParsePrefix(to)
		if via != "" {
			r.Via = netip.MustParseAddr(via)
		}
		return r
	}
	v4, v6 := route("10.9.0.0/16 via 10.0.0.254"), route("fd09::/48 via fd00::fe")
	routes := func(k *kerneltest.Fake) []string {
		var out []string
		for _, r := range observe(t, k, "t", nil).Nodes["a"].Routes {
			out = append(out, state.RouteText(r))
		}
		return out
	}
	k := kerneltest.NewFake()
	k.MustSeed(t, setup)
	if err := k.RouteReplace(ctx, "t.a", v4); !errors.Is(err, unix.ENETDOWN) && !errors.Is(err, unix.ENETUNREACH) {
		t.Errorf("route via a down device: %v, want ENETUNREACH", err)
	}
	k.MustSeed(t, "ip -n t.a link set eth0 up")
	if err := k.RouteReplace(ctx, "t.a", route("10.9.0.0/16 via 10.5.0.1")); !errors.Is(err, unix.ENETUNREACH) {
		t.Errorf("route via an unreachable gateway: %v, want ENETUNREACH", err)
	}
	for _, r := range []state.Route{v4, v6} {
		if err := k.RouteReplace(ctx, "t.a", r); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"10.9.0.0/16 via 10.0.0.254 dev eth0", "fd09::/48 via fd00::fe dev eth0 metric 1024"}
	if diff := cmp.Diff(want, routes(k)); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}
	if s := observe(t, k, "t", nil); !s.Nodes["a"].Routes[0].Owned {
		t.Errorf("a route of RouteReplace is not owned")
	}

	// One IPv4 address left: the routes stay; none: the IPv4 route goes.
	k.MustSeed(t, "ip -n t.a addr del 10.0.1.1/24 dev eth0")
	if diff := cmp.Diff(want, routes(k)); diff != "" {
		t.Errorf("routes after deleting one of two IPv4 addresses (-want +got):\n%s", diff)
	}
	k.MustSeed(t, "ip -n t.a addr del 10.0.0.1/24 dev eth0")
	if diff := cmp.Diff(want[1:], routes(k)); diff != "" {
		t.Errorf("routes after deleting the last IPv4 address (-want +got):\n%s", diff)
	}

	// Down: every route goes, and the IPv6 addresses.
	k.MustSeed(t, "ip -n t.a link set eth0 down")
	if got := routes(k); len(got) != 0 {
		t.Errorf("routes after the device went down: %q", got)
	}
	if got := link(t, observe(t, k, "t", nil), "a", "eth0").Addrs; len(got) != 0 {
		t.Errorf("addresses of a device set down: %v, want none (it had only IPv6 ones left)", got)
	}

	// A delete with metric 0 takes the route of lowest metric, whatever
	// the order the routes were added in.
	k = kerneltest.NewFake()
	k.MustSeed(t, setup, "ip -n t.a link set eth0 up",
		"ip -n t.a route add default via 10.0.0.254 metric 10",
		"ip -n t.a route add default via 10.0.0.253")
	if err := k.RouteDel(ctx, "t.a", route("0.0.0.0/0")); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"default via 10.0.0.254 dev eth0 metric 10"}, routes(k)); diff != "" {
		t.Errorf("routes after deleting default with metric 0 (-want +got):\n%s", diff)
	}

	// A hand-made route is not owned, and deleting its device takes it.
	k = kerneltest.NewFake()
	k.MustSeed(t, setup, "ip -n t.a link set eth0 up", "ip -n t.a route add 10.9.0.0/16 via 10.0.0.254")
	if r := observe(t, k, "t", nil).Nodes["a"].Routes; len(r) != 1 || r[0].Owned {
		t.Errorf("hand-made routes %+v: want one, not owned", r)
	}
	k.MustSeed(t, "ip -n t.a link del eth0")
	if got := routes(k); len(got) != 0 {
		t.Errorf("routes after their device went: %q", got)
	}
}

func TestSysctl(t *testing.T) {
	k := pair(t)
	if err := k.SysctlSet(ctx, "t.a", "net.ipv4.ip_forward", "1\n"); err != nil {
		t.Fatal(err)
	}
	if err := k.SysctlSet(ctx, "t.a", "kernel.panic", "1"); err == nil {
		t.Error("SysctlSet of a key outside net. succeeded")
	}
	want := state.New("t")
	want.Nodes["a"] = state.NewNode("a", "t.a")
	want.Nodes["a"].Sysctls["net.ipv4.ip_forward"] = "0"
	want.Nodes["a"].Sysctls["net.ipv4.conf.all.rp_filter"] = "0"
	got := observe(t, k, "t", want).Nodes["a"].Sysctls
	if diff := cmp.Diff(map[string]string{"net.ipv4.ip_forward": "1"}, got); diff != "" {
		t.Errorf("sysctls (-want +got):\n%s", diff)
	}
	if got := observe(t, k, "t", nil).Nodes["a"].Sysctls; len(got) != 0 {
		t.Errorf("sysctls read without a want: %v", got)
	}
}

// TestObserveCopies checks that what Observe returns is the caller's.
func TestObserveCopies(t *testing.T) {
	k := pair(t)
	k.MustSeed(t, "ip -n t.a addr add 10.0.0.1/24 dev eth0", "ip -n t.a route add 10.9.0.0/16 via 10.0.0.2")
	before := k.String()
	s := observe(t, k, "t", nil)
	l := link(t, s, "a", "eth0")
	l.Name, l.Up, l.MTU, l.Master = "x", false, 1, "br0"
	l.Addrs[0] = netip.MustParsePrefix("192.0.2.1/32")
	s.Nodes["a"].Routes[0].Via = netip.MustParseAddr("10.0.0.3")
	delete(s.Nodes["b"].Links, "eth0")
	s.Nodes["a"].Sysctls["net.x"] = "1"
	if got := k.String(); got != before {
		t.Errorf("changing an observed state changed the kernel (-before +after):\n%s", cmp.Diff(before, got))
	}
	if diff := cmp.Diff(observe(t, k, "t", nil), observe(t, k, "t", nil), netIP); diff != "" {
		t.Errorf("two observations differ:\n%s", diff)
	}
}

func TestFailOn(t *testing.T) {
	k := pair(t)
	errBoom := errors.New("boom")
	writes := k.Writes()
	before := k.String()
	addr := netip.MustParsePrefix("10.0.0.1/24")
	k.FailOn("AddrAdd", errBoom, 2)
	if err := k.AddrAdd(ctx, "t.a", "eth0", addr); err != nil {
		t.Fatalf("first AddrAdd: %v", err)
	}
	if err := k.AddrDel(ctx, "t.a", "eth0", addr); err != nil {
		t.Fatal(err)
	}
	if err := k.AddrAdd(ctx, "t.a", "eth0", addr); !errors.Is(err, errBoom) {
		t.Fatalf("second AddrAdd: %v, want the injected error", err)
	}
	if got := k.String(); got != before {
		t.Errorf("a failed call changed the kernel (-before +after):\n%s", cmp.Diff(before, got))
	}
	if err := k.AddrAdd(ctx, "t.a", "eth0", addr); err != nil {
		t.Errorf("third AddrAdd: %v (only the second should fail)", err)
	}

	k.FailOn(kerneltest.AnyWrite, unix.EPERM, 2)
	if err := k.SysctlSet(ctx, "t.a", "net.ipv4.ip_forward", "1"); err != nil {
		t.Fatal(err)
	}
	if err := k.NetNSDel(ctx, "t.b"); !kernel.IsPerm(err) {
		t.Errorf("second write after FailOn(AnyWrite): %v, want EPERM", err)
	}
	if _, err := k.Observe(ctx, "t", nil); err != nil {
		t.Fatal(err)
	}
	if got := k.Writes() - writes; got != 6 {
		t.Errorf("Writes() counted %d writes, want 6 (failed ones count, Observe does not)", got)
	}
	k.FailOn("Observe", unix.EINTR, 1)
	if _, err := k.Observe(ctx, "t", nil); !errors.Is(err, unix.EINTR) {
		t.Errorf("Observe: %v, want the injected EINTR", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := k.LinkDel(cancelled, "t.a", "eth0"); !errors.Is(err, context.Canceled) {
		t.Errorf("LinkDel with a cancelled context: %v", err)
	}
}

// TestConcurrent runs labs up and down from many goroutines at once; run
// with -race.
func TestConcurrent(t *testing.T) {
	k := kerneltest.NewFake()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("c%d", i)
			text := fmt.Sprintf("name: %s\nnodes:\n  a:\n    interfaces:\n      eth0: {addresses: [10.0.0.1/24]}\n  b: {}\nlinks:\n  - [a:eth0, b:eth0]\n", name)
			l, diags := labfile.Parse(name, []byte(text))
			if diags.HasErrors() {
				t.Error(diags.Err())
				return
			}
			for range 5 {
				if _, err := reconcile.Up(ctx, k, l, reconcile.Options{}); err != nil {
					t.Error(err)
					return
				}
				_ = k.String()
				if _, err := k.Labs(ctx); err != nil {
					t.Error(err)
				}
				if _, err := apply.Down(ctx, k, name, nil); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if got := k.String(); got != "" {
		t.Errorf("kernel not empty after every lab went down:\n%s", got)
	}
}

// TestString checks the transcript of what is not netlab's: unmarked
// namespaces, links and routes made by hand, and a veth between two labs.
func TestString(t *testing.T) {
	k := kerneltest.NewFake()
	k.MustSeed(t, `
ip netns add t.a
ip netns exec t.a sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n t.a link set lo alias netlab:t:a up
ip -n t.a link add dummy0 type dummy
ip -n t.a link set dummy0 address 02:00:00:00:00:01 up
ip -n t.a addr add 10.0.0.1/24 dev dummy0
ip -n t.a route add 10.9.0.0/16 via 10.0.0.2 metric 5
ip -n t.a route add 10.8.0.0/16 dev dummy0 proto 78
ip netns add u.b
ip netns exec u.b sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n u.b link set lo alias netlab:u:b up
ip -n u.b link add eth0 type veth peer name eth9 netns t.a
ip -n u.b link set eth0 alias netlab:u:a:eth9 mtu 1400
ip netns add foreign
ip -n foreign link set lo mtu 1500 up
ip -n foreign addr add 192.0.2.1/32 dev lo
ip netns exec foreign sysctl -w net.ipv4.ip_forward=1
`)
	want := `ip -n foreign addr add 192.0.2.1/32 dev lo
ip -n foreign link set lo mtu 1500 up
ip -n t.a addr add 10.0.0.1/24 dev dummy0
ip -n t.a link add dummy0 type dummy
ip -n t.a link add eth9 type veth peer name eth0 netns u.b
ip -n t.a link set dummy0 alias '' address 02:00:00:00:00:01 up
ip -n t.a link set eth9 alias ''
ip -n t.a link set lo alias netlab:t:a up
ip -n t.a route replace 10.8.0.0/16 dev dummy0 proto 78
ip -n t.a route replace 10.9.0.0/16 via 10.0.0.2 metric 5 proto boot
ip -n u.b link set eth0 alias netlab:u:a:eth9 mtu 1400
ip -n u.b link set lo alias netlab:u:b up
ip netns add foreign
ip netns add t.a
ip netns add u.b
ip netns exec foreign sysctl -qw net.ipv4.ip_forward=1
ip netns exec t.a sysctl -qw net.ipv6.conf.default.accept_dad=0
ip netns exec u.b sysctl -qw net.ipv6.conf.default.accept_dad=0
`
	got := k.String()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("String() (-want +got):\n%s", diff)
	}
}

// TestSeedString runs the transcript of a kernel by hand on an empty one,
// in the order of a plan, and gets the same transcript back.
func TestSeedString(t *testing.T) {
	k := upDefault(t)
	again := kerneltest.NewFake()
	l := defaultLab(t)
	for _, c := range reconcile.Diff(plan.Desired(l), nil, nil, false).Changes {
		if c.Object == plan.NFTables {
			// Seed takes ip commands only; a table is set as up sets it.
			if err := again.NFTableSet(context.Background(), c.NetNS, c.NFT); err != nil {
				t.Fatal(err)
			}
			continue
		}
		again.MustSeed(t, c.Cmds()...)
	}
	if diff := cmp.Diff(k.String(), again.String()); diff != "" {
		t.Errorf("transcripts differ (-up +seeded):\n%s", diff)
	}
	for _, bad := range []string{
		"ip link add eth0 type bridge",       // the machine's eth0 is there
		"ip -n t.nope link add x type dummy", // missing namespace
		"tc qdisc show",
		"ip -n single-ip.c1 link del nope",
		"ip -n single-ip.c1 addr del 10.1.1.1/24 dev veth0",
		"ip -n single-ip.c1 route del 10.1.0.0/16",
		"ip -n single-ip.c1 route add default via 192.168.31.1",
		"ip -n single-ip.c1 link set veth0 alias 'unterminated",
		"ip netns add single-ip.c1",
	} {
		if err := k.Seed(bad); err == nil {
			t.Errorf("Seed(%q) succeeded", bad)
		}
	}
}

func defaultLab(t *testing.T) *lab.Lab {
	t.Helper()
	l, diags := labfile.Parse(topologies.DefaultName, topologies.Default())
	diags.Append(validate.Lab(l)...)
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	return l
}

// upDefault brings the default lab up on an empty fake.
func upDefault(t *testing.T) *kerneltest.Fake {
	t.Helper()
	l := defaultLab(t)
	k := kerneltest.NewFake()
	if _, err := reconcile.Up(ctx, k, l, reconcile.Options{}); err != nil {
		t.Fatal(err)
	}
	return k
}

// TestTranscript pins the transcript of the default lab.
func TestTranscript(t *testing.T) {
	golden(t, upDefault(t).String())
}

func golden(t *testing.T, got string) {
	t.Helper()
	path := filepath.Join("testdata", t.Name()+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

func TestNFTable(t *testing.T) {
	k := pair(t)
	rule := &state.NFRule{Source: netip.MustParsePrefix("10.0.0.0/24"), Out: "eth0", Action: "masquerade"}
	rule.Tag = state.RuleTag(rule.Text())
	table := &state.NFTable{Chains: []*state.NFChain{{
		Name: "nat_postrouting", Type: "nat", Hook: "postrouting", Priority: state.PrioritySrcNAT, Policy: "accept",
		Rules: []*state.NFRule{rule},
	}}}
	if err := k.NFTableSet(ctx, "t.a", table); err != nil {
		t.Fatal(err)
	}
	got := observe(t, k, "t", nil).Nodes["a"].NFT
	if got == nil || got.Signature() != table.Signature() {
		t.Fatalf("observed table %+v, want the signature of the one set", got)
	}
	if r := got.Chains[0].Rules[0]; r.Action != "" || r.Tag != rule.Tag {
		t.Errorf("observed rule %+v: want its tag only, as the kernel shows it", r)
	}
	c := &plan.Change{Action: plan.Create, Object: plan.NFTables, NetNS: "t.a", Name: state.NFTableName, NFT: table}
	if s := k.String(); !strings.Contains(s, c.Cmds()[0]) {
		t.Errorf("transcript lacks the table:\n%s", s)
	}

	// A failed replacement leaves the old table; nil deletes it.
	k.FailOn("NFTableSet", unix.EINVAL, 1)
	if err := k.NFTableSet(ctx, "t.a", &state.NFTable{}); !errors.Is(err, unix.EINVAL) {
		t.Fatalf("NFTableSet: %v, want the injected EINVAL", err)
	}
	if got := observe(t, k, "t", nil).Nodes["a"].NFT; got.Signature() != table.Signature() {
		t.Errorf("a failed NFTableSet changed the table to %+v", got)
	}
	if err := k.NFTableSet(ctx, "t.a", nil); err != nil {
		t.Fatal(err)
	}
	if got := observe(t, k, "t", nil).Nodes["a"].NFT; got != nil {
		t.Errorf("table after NFTableSet(nil): %+v", got)
	}
}
