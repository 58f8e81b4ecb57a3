package kernel_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"netlab/lab"
	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/labfile"
	"netlab/lab/plan"
	"netlab/lab/reconcile"
	"netlab/lab/state"
	"netlab/lab/validate"
	"netlab/topologies"
)

func TestMain(m *testing.M) {
	// The real kernel starts commands and processes in nodes through
	// this binary, again, as netlab's launcher.
	kernel.AnswerLauncher()
	if len(os.Args) > 1 && helpers[os.Args[1]] != nil {
		os.Exit(helpers[os.Args[1]](os.Args[2:]))
	}
	os.Exit(kerneltest.LeakCheck(m).Run())
}

// parseLab loads and validates a lab file given as text.
func parseLab(t *testing.T, text string) *lab.Lab {
	t.Helper()
	l, diags := labfile.Parse("test.yaml", []byte(text))
	diags.Append(validate.Lab(l)...)
	if diags.HasErrors() {
		t.Fatalf("lab file is invalid: %v\n%s", diags.Err(), text)
	}
	return l
}

// singleIP is the built-in default lab renamed to name.
func singleIP(t *testing.T, name string) *lab.Lab {
	t.Helper()
	text := string(topologies.Default())
	if !strings.Contains(text, "name: single-ip\n") {
		t.Fatal("the default lab no longer has the line \"name: single-ip\"")
	}
	return parseLab(t, strings.Replace(text, "name: single-ip\n", "name: "+name+"\n", 1))
}

// newLinux returns a real kernel that is closed when the test ends.
func newLinux(t *testing.T) *kernel.Linux {
	k := kernel.NewLinux()
	t.Cleanup(func() { k.Close() })
	return k
}

// planLab runs netlab plan's pipeline (reconcile.Plan) on l, with l
// itself as the last up's record: what differs is drift.
func planLab(t *testing.T, k kernel.Kernel, l *lab.Lab) (*state.State, *plan.Plan) {
	t.Helper()
	return planSince(t, k, l, plan.Desired(l))
}

// planSince runs netlab plan's pipeline on l, with last as the state of
// the last up: changes to follow an edit of the file are not drift.
func planSince(t *testing.T, k kernel.Kernel, l *lab.Lab, last *state.State) (*state.State, *plan.Plan) {
	t.Helper()
	planned, err := reconcile.Plan(context.Background(), k, l, reconcile.Options{LastApplied: last})
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	return planned.Desired, planned.Plan
}

// upLab runs netlab up's pipeline (reconcile.Up) on l.
func upLab(t *testing.T, k kernel.Kernel, l *lab.Lab) *reconcile.Result {
	t.Helper()
	res, err := reconcile.Up(context.Background(), k, l, reconcile.Options{})
	if err != nil {
		t.Fatalf("up: %v", err)
	}
	return res
}

// applyPlanned runs netlab up's pipeline on l, which must carry out
// exactly the changes of p, the plan the test looked at.
func applyPlanned(t *testing.T, k kernel.Kernel, l *lab.Lab, p *plan.Plan) {
	t.Helper()
	res := upLab(t, k, l)
	// Up keeps no record here, so it labels no drift: compare the changes.
	changes := func(p *plan.Plan) []string {
		var out []string
		for _, c := range p.Changes {
			out = append(out, fmt.Sprintf("node %s: %s %s", c.Node, c.Action.Symbol(), c.Describe()))
		}
		slices.Sort(out)
		return out
	}
	if got, want := changes(res.Plan), changes(p); !slices.Equal(got, want) {
		t.Errorf("up planned\n%s\nwant the plan looked at\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if res.Applied != len(p.Changes) {
		t.Errorf("applied %d of %d changes", res.Applied, len(p.Changes))
	}
}

// openNS opens a namespace of NetNSDir for the test.
func openNS(t *testing.T, name string) netns.NsHandle {
	t.Helper()
	fd, err := netns.GetFromPath(filepath.Join(kernel.NetNSDir, name))
	if err != nil {
		t.Fatalf("open namespace %s: %v", name, err)
	}
	t.Cleanup(func() { fd.Close() })
	return fd
}

// nsHandle is a netlink socket inside a namespace, for the test's own
// reads and writes.
func nsHandle(t *testing.T, fd netns.NsHandle) *netlink.Handle {
	t.Helper()
	h, err := netlink.NewHandleAt(fd)
	if err != nil {
		t.Fatalf("netlink handle: %v", err)
	}
	t.Cleanup(h.Close)
	return h
}

// ipCmd runs ip(8) as a person would to change a lab by hand.
func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// udpEchoServer listens on addr:0 inside the namespace and answers every
// datagram with its payload and the source address it came from. The
// socket is created inside the namespace and keeps it, so it can be
// served from any goroutine.
func udpEchoServer(t *testing.T, fd netns.NsHandle, addr netip.Addr) netip.AddrPort {
	t.Helper()
	var conn *net.UDPConn
	err := kernel.InNetNS(fd, func() error {
		var err error
		conn, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr, 0)))
		return err
	})
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return // closed
			}
			reply := fmt.Appendf(nil, "%s from %s", buf[:n], from.Addr())
			conn.WriteToUDPAddrPort(reply, from)
		}
	}()
	return conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

var errNoAnswer = errors.New("no answer")

// udpProbe sends datagrams from a socket created inside the namespace at
// fd to dst until an answer comes back or wait passes, and returns the
// answer. It fails at once with the error the kernel reports (a refused
// port, an unreachable host), and with errNoAnswer after wait.
func udpProbe(fd netns.NsHandle, dst netip.AddrPort, wait time.Duration) (string, error) {
	var conn *net.UDPConn
	err := kernel.InNetNS(fd, func() error {
		var err error
		conn, err = net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(dst))
		return err
	})
	if err != nil {
		return "", err
	}
	defer conn.Close()
	payload := fmt.Sprintf("probe-%d", time.Now().UnixNano())
	deadline := time.Now().Add(wait)
	buf := make([]byte, 1500)
	for time.Now().Before(deadline) {
		if _, err := conn.Write([]byte(payload)); err != nil {
			return "", err
		}
		rd := time.Now().Add(200 * time.Millisecond)
		if rd.After(deadline) {
			rd = deadline
		}
		conn.SetReadDeadline(rd)
		for {
			n, err := conn.Read(buf)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				break // send again
			}
			if err != nil {
				return "", err
			}
			if got := string(buf[:n]); strings.HasPrefix(got, payload+" ") {
				return strings.TrimPrefix(got, payload+" "), nil
			}
			// An answer to an earlier datagram of this probe: read on.
		}
	}
	return "", fmt.Errorf("udp %s: %w within %s", dst, errNoAnswer, wait)
}

// TestUpSingleIPTraffic brings up the built-in default lab and proves with
// real datagrams that its containers reach each other and the host's
// bridge, and that the probe does fail where traffic cannot pass.
func TestUpSingleIPTraffic(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	name := kerneltest.LabName(t)
	l := singleIP(t, name)
	k := newLinux(t)
	upLab(t, k, l)

	ns := func(node string) netns.NsHandle { return openNS(t, state.NetNSName(name, node)) }
	c1, c2, c3, host := ns("c1"), ns("c2"), ns("c3"), ns("host")
	targets := []struct {
		node string
		fd   netns.NsHandle
		addr string
	}{
		{"c2", c2, "192.168.31.11"},
		{"c3", c3, "192.168.31.12"},
		{"host", host, "192.168.31.1"},
	}
	servers := make(map[string]netip.AddrPort)
	for _, tg := range targets {
		servers[tg.node] = udpEchoServer(t, tg.fd, netip.MustParseAddr(tg.addr))
	}
	for _, tg := range targets {
		got, err := udpProbe(c1, servers[tg.node], 10*time.Second)
		if err != nil {
			t.Fatalf("c1 -> %s (%s): %v", tg.node, servers[tg.node], err)
		}
		if got != "from 192.168.31.10" {
			t.Errorf("c1 -> %s: the server saw %q, want \"from 192.168.31.10\"", tg.node, got)
		}
	}

	t.Run("closed_port_refused", func(t *testing.T) {
		// A port nobody listens on in c2: c2's kernel answers with ICMP
		// port unreachable, which the probe must report.
		closed := netip.AddrPortFrom(servers["c2"].Addr(), servers["c2"].Port()^1)
		_, err := udpProbe(c1, closed, 5*time.Second)
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("c1 -> %s: err = %v, want connection refused", closed, err)
		}
	})

	t.Run("link_down_blocks", func(t *testing.T) {
		h2 := nsHandle(t, c2)
		veth, err := h2.LinkByName("veth0")
		if err != nil {
			t.Fatal(err)
		}
		if err := h2.LinkSetDown(veth); err != nil {
			t.Fatal(err)
		}
		if got, err := udpProbe(c1, servers["c2"], time.Second); !errors.Is(err, errNoAnswer) {
			t.Errorf("c1 -> c2 with c2's veth0 down: got %q, %v; want no answer", got, err)
		}
		if _, err := udpProbe(c1, servers["c3"], 5*time.Second); err != nil {
			t.Errorf("c1 -> c3 while only c2 is cut off: %v", err)
		}

		// up repairs the drift, and traffic flows again.
		// The kernel dropped c2's default route with the link.
		_, p := planLab(t, k, l)
		var got []string
		for _, c := range p.Changes {
			got = append(got, fmt.Sprintf("%s %s %s drift=%v", c.Node, c.Action.Symbol(), c.Describe(), c.Drift))
		}
		want := []string{"c2 ~ link veth0: up false -> true drift=true", "c2 + route default via 192.168.31.1 drift=true"}
		if !slices.Equal(got, want) {
			t.Fatalf("plan after setting c2's veth0 down:\n%s\ngot  %q\nwant %q", planText(p), got, want)
		}
		upLab(t, k, l)
		if _, err := udpProbe(c1, servers["c2"], 10*time.Second); err != nil {
			t.Errorf("c1 -> c2 after up repaired veth0: %v", err)
		}
	})
}

// planText renders a plan for failure messages.
func planText(p *plan.Plan) string {
	var b bytes.Buffer
	p.WriteText(&b)
	return b.String()
}

// TestSecondUpChangesNothing applies the default lab twice and watches the
// kernel's own change notifications in every namespace of the lab during
// the second: none may come before the test's own sentinel write.
func TestSecondUpChangesNothing(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	name := kerneltest.LabName(t)
	l := singleIP(t, name)
	k := newLinux(t)
	upLab(t, k, l)

	type watch struct {
		node   string
		fd     netns.NsHandle
		h      *netlink.Handle
		links  chan netlink.LinkUpdate
		addrs  chan netlink.AddrUpdate
		routes chan netlink.RouteUpdate
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	var watches []*watch
	for _, n := range l.Nodes {
		fd := openNS(t, state.NetNSName(name, n.Name))
		w := &watch{node: n.Name, fd: fd, h: nsHandle(t, fd),
			links: make(chan netlink.LinkUpdate, 1024), addrs: make(chan netlink.AddrUpdate, 1024), routes: make(chan netlink.RouteUpdate, 1024)}
		fail := func(err error) {
			select {
			case <-done: // the socket was closed at the end of the test
			default:
				t.Errorf("node %s: subscription: %v", n.Name, err)
			}
		}
		if err := netlink.LinkSubscribeWithOptions(w.links, done, netlink.LinkSubscribeOptions{Namespace: &w.fd, ErrorCallback: fail}); err != nil {
			t.Fatal(err)
		}
		if err := netlink.AddrSubscribeWithOptions(w.addrs, done, netlink.AddrSubscribeOptions{Namespace: &w.fd, ErrorCallback: fail}); err != nil {
			t.Fatal(err)
		}
		if err := netlink.RouteSubscribeWithOptions(w.routes, done, netlink.RouteSubscribeOptions{Namespace: &w.fd, ErrorCallback: fail}); err != nil {
			t.Fatal(err)
		}
		watches = append(watches, w)
	}

	// The first up's links come up, and IPv6 checks its link-local
	// addresses, in the background for a second or two: wait until that
	// has happened and the kernel has gone quiet, so that only the second
	// up is watched.
	deadline := time.Now().Add(20 * time.Second)
	for _, w := range watches {
		waitSettled(t, w.node, w.fd, w.h, deadline)
	}
	drain := func() int {
		n := 0
		for _, w := range watches {
			n += len(w.links) + len(w.addrs) + len(w.routes)
			for len(w.links) > 0 {
				<-w.links
			}
			for len(w.addrs) > 0 {
				<-w.addrs
			}
			for len(w.routes) > 0 {
				<-w.routes
			}
		}
		return n
	}
	// Quiet: no notification for three polls in a row (300ms).
	for quiet := 0; quiet < 3; {
		if time.Now().After(deadline) {
			t.Fatal("the lab's namespaces did not go quiet within 20s of up")
		}
		time.Sleep(100 * time.Millisecond)
		if drain() > 0 {
			quiet = 0
		} else {
			quiet++
		}
	}

	// The second up.
	secondUp(t, k, l)

	// The sentinel: a link of the test's own (a bridge: the kernel may
	// lack the dummy driver), brought up with an address, in each
	// namespace. The first link, address and route notification of each
	// namespace must be about it.
	for _, w := range watches {
		d := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "nlsentinel"}}
		if err := w.h.LinkAdd(d); err != nil {
			t.Fatalf("node %s: add sentinel: %v", w.node, err)
		}
		sl, err := w.h.LinkByName("nlsentinel")
		if err != nil {
			t.Fatal(err)
		}
		if err := w.h.LinkSetUp(sl); err != nil {
			t.Fatal(err)
		}
		if err := w.h.AddrAdd(sl, &netlink.Addr{IPNet: &net.IPNet{IP: net.IPv4(192, 0, 2, 99), Mask: net.CIDRMask(32, 32)}}); err != nil {
			t.Fatal(err)
		}
		idx := sl.Attrs().Index
		wait := time.After(10 * time.Second)
		select {
		case u := <-w.links:
			if int(u.Index) != idx {
				t.Errorf("node %s: link notification during the second up: %s (index %d, flags %v)", w.node, u.Attrs().Name, u.Index, u.Attrs().Flags)
			}
		case <-wait:
			t.Errorf("node %s: the sentinel's link notification never came", w.node)
		}
		select {
		case u := <-w.addrs:
			if u.LinkIndex != idx {
				t.Errorf("node %s: address notification during the second up: %s on index %d (new %v)", w.node, u.LinkAddress.String(), u.LinkIndex, u.NewAddr)
			}
		case <-wait:
			t.Errorf("node %s: the sentinel's address notification never came", w.node)
		}
		select {
		case u := <-w.routes:
			if u.LinkIndex != idx {
				t.Errorf("node %s: route notification during the second up: %s (type %d)", w.node, u.Route.String(), u.Type)
			}
		case <-wait:
			t.Errorf("node %s: the sentinel's route notification never came", w.node)
		}
	}
}

// waitSettled polls a namespace until the kernel has finished bringing its
// links up: each link that is up has its carrier (operstate up), holds
// its IPv6 link-local address when IPv6 is on, and no address is still
// tentative.
func waitSettled(t *testing.T, node string, fd netns.NsHandle, h *netlink.Handle, deadline time.Time) {
	t.Helper()
	ipv6 := false
	kernel.InNetNS(fd, func() error {
		data, err := os.ReadFile("/proc/sys/net/ipv6/conf/default/disable_ipv6")
		ipv6 = err == nil && strings.TrimSpace(string(data)) == "0"
		return nil
	})
	for {
		why := unsettled(h, ipv6)
		if why == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s did not settle after up: %s", node, why)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func unsettled(h *netlink.Handle, ipv6 bool) string {
	links, err := h.LinkList()
	if err != nil {
		return err.Error()
	}
	addrs, err := h.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return err.Error()
	}
	for _, a := range addrs {
		if a.Flags&unix.IFA_F_TENTATIVE != 0 {
			return "address " + a.IPNet.String() + " is tentative"
		}
	}
	for _, nl := range links {
		at := nl.Attrs()
		if at.Flags&net.FlagUp == 0 || at.Flags&net.FlagLoopback != 0 {
			continue
		}
		if at.OperState != netlink.OperUp {
			return fmt.Sprintf("link %s is %s", at.Name, at.OperState)
		}
		if !ipv6 {
			continue
		}
		hasLL := false
		for _, a := range addrs {
			if a.LinkIndex == at.Index && a.IP.To4() == nil && a.IP.IsLinkLocalUnicast() {
				hasLL = true
			}
		}
		if !hasLL {
			return "link " + at.Name + " has no IPv6 link-local address yet"
		}
	}
	return ""
}

// TestKernelOpsIdempotent checks that each write can be repeated and each
// delete of something already gone succeeds, as apply relies on.
func TestKernelOpsIdempotent(t *testing.T) {
	t.Parallel()
	eachKernel(t, func(t *testing.T, k *testKernel) {
		ctx := context.Background()
		name := kerneltest.LabName(t)
		a, b := state.NetNSName(name, "a"), state.NetNSName(name, "b")
		for range 2 {
			for _, node := range []string{"a", "b"} {
				if err := k.NetNSAdd(ctx, name, node); err != nil {
					t.Fatalf("NetNSAdd %s: %v", node, err)
				}
			}
		}
		ea := &state.Link{Name: "eth0", Kind: "veth", Up: true, MTU: 1400, Alias: state.LinkMarker(name, "b:eth0")}
		eb := &state.Link{Name: "eth0", Kind: "veth", Up: true, MTU: 1400, Alias: state.LinkMarker(name, "a:eth0")}
		if err := k.LinkAdd(ctx, a, ea, b, eb); err != nil {
			t.Fatal(err)
		}
		p := netip.MustParsePrefix("192.0.2.1/24")
		p6 := netip.MustParsePrefix("2001:db8::1/64")
		r := state.Route{To: netip.MustParsePrefix("198.51.100.0/24"), Via: netip.MustParseAddr("192.0.2.2")}
		for range 2 {
			for _, pp := range []netip.Prefix{p, p6} {
				if err := k.AddrAdd(ctx, a, "eth0", pp); err != nil {
					t.Fatalf("AddrAdd %s: %v", pp, err)
				}
			}
			if err := k.RouteReplace(ctx, a, r); err != nil {
				t.Fatalf("RouteReplace: %v", err)
			}
			if err := k.SysctlSet(ctx, a, "net.ipv4.ip_forward", "1"); err != nil {
				t.Fatalf("SysctlSet: %v", err)
			}
		}
		s, err := k.Observe(ctx, name, &state.State{Nodes: map[string]*state.Node{"a": {Sysctls: map[string]string{"net.ipv4.ip_forward": "1"}}}})
		if err != nil {
			t.Fatal(err)
		}
		la := s.Nodes["a"].Links["eth0"]
		lb := s.Nodes["b"].Links["eth0"]
		switch {
		case la == nil || lb == nil:
			t.Fatalf("observed links: a %v, b %v", s.Nodes["a"].LinkNames(), s.Nodes["b"].LinkNames())
		case !la.Owned || !lb.Owned || la.Peer != "b:eth0" || lb.Peer != "a:eth0":
			t.Errorf("veth ends: a %+v, b %+v; want both owned, each the other's peer", la, lb)
		case la.MTU != 1400 || lb.MTU != 1400 || !la.Up || !lb.Up:
			t.Errorf("veth ends: a mtu %d up %v, b mtu %d up %v; want 1400, up", la.MTU, la.Up, lb.MTU, lb.Up)
		}
		if !slices.Contains(la.Addrs, p) || !slices.Contains(la.Addrs, p6) {
			t.Errorf("addresses of a:eth0 = %v, want %s and %s among them", la.Addrs, p, p6)
		}
		if got := s.Nodes["a"].Sysctls["net.ipv4.ip_forward"]; got != "1" {
			t.Errorf("sysctl = %q, want 1", got)
		}
		found := false
		for _, rr := range s.Nodes["a"].Routes {
			if rr.To == r.To && rr.Via == r.Via && rr.Owned {
				found = true
			}
		}
		if !found {
			t.Errorf("route %v not observed as netlab's in %+v", r, s.Nodes["a"].Routes)
		}

		for range 2 {
			if err := k.RouteDel(ctx, a, r); err != nil {
				t.Errorf("RouteDel: %v", err)
			}
			if err := k.AddrDel(ctx, a, "eth0", p); err != nil {
				t.Errorf("AddrDel: %v", err)
			}
			if err := k.LinkDel(ctx, a, "eth0"); err != nil {
				t.Errorf("LinkDel: %v", err)
			}
			if err := k.AddrDel(ctx, a, "eth0", p); err != nil {
				t.Errorf("AddrDel on a link that is gone: %v", err)
			}
			if err := k.NetNSDel(ctx, a); err != nil {
				t.Errorf("NetNSDel: %v", err)
			}
		}
		if list, err := k.NetNSList(ctx, name); err != nil || slices.ContainsFunc(list, func(i kernel.NetNSInfo) bool { return i.Name == a }) {
			t.Errorf("namespaces of the lab after NetNSDel of %s: %v (%v)", a, list, err)
		}
		if _, err := os.Stat(filepath.Join(kernel.NetNSDir, a)); k.linux && !errors.Is(err, os.ErrNotExist) {
			t.Errorf("namespace %s still there after NetNSDel: %v", a, err)
		}
	})
}

// secondUp runs up again on a lab that is up, as netlab up does, and
// requires it to plan nothing (no unmanaged object either), apply nothing
// and verify.
func secondUp(t *testing.T, k kernel.Kernel, l *lab.Lab) {
	t.Helper()
	_, p := planLab(t, k, l)
	if !p.Empty() || len(p.Unmanaged) > 0 || len(p.Conflicts) > 0 {
		t.Fatalf("second plan is not empty:\n%s", planText(p))
	}
	if res := upLab(t, k, l); res.Applied != 0 {
		t.Fatalf("second up: applied %d changes; want 0", res.Applied)
	}
}

// TestLinkDownByHandRepaired sets c2's veth0 of the default lab down by
// hand: the kernel drops c2's default route with it, so the plan is the
// link set up again and the route added back, both drift; up makes them
// and a second up changes nothing. (TestUpSingleIPTraffic proves with
// datagrams, on the real kernel, that the repair lets traffic through.)
func TestLinkDownByHandRepaired(t *testing.T) {
	t.Parallel()
	eachKernel(t, func(t *testing.T, k *testKernel) {
		name := kerneltest.LabName(t)
		l := singleIP(t, name)
		upLab(t, k, l)
		k.hand(t, "ip -n "+state.NetNSName(name, "c2")+" link set veth0 down")
		_, p := planLab(t, k, l)
		var got []string
		for _, c := range p.Changes {
			got = append(got, fmt.Sprintf("%s %s %s drift=%v", c.Node, c.Action.Symbol(), c.Describe(), c.Drift))
		}
		want := []string{"c2 ~ link veth0: up false -> true drift=true", "c2 + route default via 192.168.31.1 drift=true"}
		if !slices.Equal(got, want) {
			t.Fatalf("plan after setting c2's veth0 down:\n%s\ngot  %q\nwant %q", planText(p), got, want)
		}
		applyPlanned(t, k, l, p)
		secondUp(t, k, l)
	})
}
