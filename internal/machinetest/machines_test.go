package machinetest

// Integration tests of issue 19: one lab across several machines, each
// machine simulated by a World, netlab run "on" each as a user runs it on
// each host.

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
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
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/labfile"
)

// writeLab writes a lab file into a temporary directory and returns its
// path; the same path rewritten is an edit of the lab.
func writeLab(t *testing.T, file, text string) string {
	t.Helper()
	if file == "" {
		file = filepath.Join(t.TempDir(), "lab.yaml")
	}
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// upOn runs netlab up FILE --machine M on machine m and requires success.
func upOn(t *testing.T, w *World, m, file string) Result {
	t.Helper()
	return must(t, w, m, "up", file, "--machine", m)
}

// requirePlanEmpty requires plan --detailed-exitcode --machine M on
// machine m to find nothing to do (exit 0).
func requirePlanEmpty(t *testing.T, w *World, m, file string) {
	t.Helper()
	r := w.Netlab(t, m, "plan", file, "--machine", m, "--detailed-exitcode")
	if r.Code != 0 {
		t.Errorf("on %s, after up, the plan is not empty (want exit 0): %s", m, r)
	}
}

// nlPing runs netlab ping --lab LAB NODE DST -c 1 on machine m, with
// extra flags.
func nlPing(t *testing.T, w *World, m, labName, node, dst string, args ...string) Result {
	t.Helper()
	return w.Netlab(t, m, append([]string{"ping", "--lab", labName, node, dst, "-c", "1", "-W", "2s"}, args...)...)
}

// requirePing requires a reply to one ping from node on machine m to dst.
func requirePing(t *testing.T, w *World, m, labName, node, dst string, args ...string) {
	t.Helper()
	if r := nlPing(t, w, m, labName, node, dst, args...); r.Code != 0 {
		t.Errorf("on %s, ping from %s to %s: want a reply: %s", m, node, dst, r)
	}
}

// requireNoPing requires no reply (exit 1) to one ping from node on
// machine m to dst, and returns the run for the reason.
func requireNoPing(t *testing.T, w *World, m, labName, node, dst string, args ...string) Result {
	t.Helper()
	r := nlPing(t, w, m, labName, node, dst, args...)
	if r.Code != 1 {
		t.Errorf("on %s, ping from %s to %s: want no reply (exit 1): %s", m, node, dst, r)
	}
	return r
}

// handleIn opens a netlink handle in a namespace file; closed at cleanup.
func handleIn(t *testing.T, path string) *netlink.Handle {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, err := netlink.NewHandleAt(netns.NsHandle(f.Fd()))
	if err != nil {
		t.Fatalf("netlink in %s: %v", path, err)
	}
	t.Cleanup(h.Close)
	return h
}

// machineLinks lists the links of machine m's own namespace, as
// "NAME kind UP|DOWN mtu N", for comparing before and after.
func machineLinks(t *testing.T, w *World, m string) []string {
	t.Helper()
	h := handleIn(t, "/run/netns/"+w.MachineNetNS(t, m))
	links, err := h.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range links {
		a := l.Attrs()
		out = append(out, fmt.Sprintf("%s %s %s mtu %d", a.Name, l.Type(), a.OperState, a.MTU))
	}
	slices.Sort(out)
	return out
}

// nodeNSPath is the file of a lab node's namespace on machine m, seen
// from outside it.
func nodeNSPath(w *World, m, labName, node string) string {
	return w.Dir(m) + "/run/netns/" + labName + "." + node
}

// nodeLink returns the link ifname of a lab node on machine m.
func nodeLink(t *testing.T, w *World, m, labName, node, ifname string) netlink.Link {
	t.Helper()
	l, err := handleIn(t, nodeNSPath(w, m, labName, node)).LinkByName(ifname)
	if err != nil {
		t.Fatalf("on %s, node %s: %s: %v", m, node, ifname, err)
	}
	return l
}

// inodes returns the inode of each namespace file in machine m's
// /run/netns: the same inode is the same namespace, never made again.
func inodes(t *testing.T, w *World, m string) map[string]uint64 {
	t.Helper()
	out := make(map[string]uint64)
	for _, n := range w.NetNS(t, m) {
		var st unix.Stat_t
		if err := unix.Stat(w.Dir(m)+"/run/netns/"+n, &st); err != nil {
			t.Fatal(err)
		}
		out[n] = st.Ino
	}
	return out
}

// vniOf is the VNI netlab gives the link between the two ends in the
// file: as every machine derives it.
func vniOf(t *testing.T, file, a, b string) uint32 {
	t.Helper()
	text, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	l, diags := labfile.Parse(file, text)
	if diags.HasErrors() {
		t.Fatalf("%s: %v", file, diags.Err())
	}
	for _, lk := range l.Links {
		ends := []string{lk.Ends[0].String(), lk.Ends[1].String()}
		if slices.Contains(ends, a) && slices.Contains(ends, b) {
			return lab.LinkVNI(l.Name, lk)
		}
	}
	t.Fatalf("%s: no link %s - %s", file, a, b)
	return 0
}

// crossLab is a lab of two machines: a on m1 linked to b on m2 (a VXLAN at
// each end) and to c on m1 (a veth).
func crossLab(name, m1, m2 string) string {
	return fmt.Sprintf(`name: %s
machines:
  m1: {address: %s}
  m2: {address: %s}
nodes:
  a:
    machine: m1
    interfaces:
      eth0: {addresses: [10.1.0.1/24]}
      eth1: {addresses: [10.1.1.1/24]}
  b:
    machine: m2
    interfaces:
      eth0: {addresses: [10.1.0.2/24]}
  c:
    machine: m1
    interfaces:
      eth0: {addresses: [10.1.1.2/24]}
links:
  - [a:eth0, b:eth0]
  - [a:eth1, c:eth0]
`, name, m1, m2)
}

// TestCrossMachineLink: a link between a on m1 and b on m2 carries pings
// both ways once both machines are up, and a same-machine veth beside it
// works too; after up, plan finds nothing to do on either machine; in a's
// namespace the link is a VXLAN with the derived VNI, unicast to m2's
// address, whose socket is in m1's own namespace (link-netnsid) though
// nothing was added to that namespace's links.
func TestCrossMachineLink(t *testing.T) {
	t.Parallel()
	w := newWorld(t, twoMachines...)
	name := kerneltest.LabName(t)
	file := writeLab(t, "", crossLab(name, "203.0.113.1", "203.0.113.2"))
	before := map[string][]string{"m1": machineLinks(t, w, "m1"), "m2": machineLinks(t, w, "m2")}

	upOn(t, w, "m1", file)
	upOn(t, w, "m2", file)
	if got, want := w.NetNS(t, "m1"), []string{name + ".a", name + ".c"}; !slices.Equal(got, want) {
		t.Errorf("m1's namespaces = %q, want %q (m1's nodes only)", got, want)
	}
	if got, want := w.NetNS(t, "m2"), []string{name + ".b"}; !slices.Equal(got, want) {
		t.Errorf("m2's namespaces = %q, want %q (m2's nodes only)", got, want)
	}
	requirePing(t, w, "m1", name, "a", "10.1.0.2")
	requirePing(t, w, "m2", name, "b", "10.1.0.1")
	requirePing(t, w, "m1", name, "a", "10.1.1.2")
	requirePing(t, w, "m1", name, "c", "10.1.1.1")
	requirePlanEmpty(t, w, "m1", file)
	requirePlanEmpty(t, w, "m2", file)

	for m, links := range before {
		if got := machineLinks(t, w, m); !slices.Equal(got, links) {
			t.Errorf("up changed %s's own namespace: links %q, were %q", m, got, links)
		}
	}

	vni := vniOf(t, file, "a:eth0", "b:eth0")
	for _, end := range []struct{ m, node, remote string }{{"m1", "a", "203.0.113.2"}, {"m2", "b", "203.0.113.1"}} {
		l := nodeLink(t, w, end.m, name, end.node, "eth0")
		vx, ok := l.(*netlink.Vxlan)
		if !ok {
			t.Errorf("on %s, %s:eth0 is a %s, want a vxlan", end.m, end.node, l.Type())
			continue
		}
		if vx.VxlanId != int(vni) {
			t.Errorf("on %s, %s:eth0 has VNI %d, want the derived %d", end.m, end.node, vx.VxlanId, vni)
		}
		if !vx.Group.Equal(netip.MustParseAddr(end.remote).AsSlice()) {
			t.Errorf("on %s, %s:eth0 sends to %v, want the other machine's %s", end.m, end.node, vx.Group, end.remote)
		}
		if vx.Attrs().NetNsID < 0 {
			t.Errorf("on %s, %s:eth0 has no link-netnsid: its UDP socket is not in another namespace (the machine's)", end.m, end.node)
		}
		if vx.Attrs().MTU != 1450 {
			t.Errorf("on %s, %s:eth0 has MTU %d, want 1450 (1500 less 50 of VXLAN over IPv4)", end.m, end.node, vx.Attrs().MTU)
		}
	}
	if l := nodeLink(t, w, "m1", name, "a", "eth1"); l.Type() != "veth" {
		t.Errorf("on m1, a:eth1 (to c, on m1 too) is a %s, want a veth", l.Type())
	}
}

// TestThreeMachines: a triangle of machines, a link across every pair;
// each machine pings its two neighbours, over both machine boundaries
// it has.
func TestThreeMachines(t *testing.T) {
	t.Parallel()
	w := newWorld(t,
		Machine{Name: "m1", Addr: netip.MustParsePrefix("203.0.113.1/24")},
		Machine{Name: "m2", Addr: netip.MustParsePrefix("203.0.113.2/24")},
		Machine{Name: "m3", Addr: netip.MustParsePrefix("203.0.113.3/24")})
	name := kerneltest.LabName(t)
	file := writeLab(t, "", `name: `+name+`
machines:
  m1: {address: 203.0.113.1}
  m2: {address: 203.0.113.2}
  m3: {address: 203.0.113.3}
nodes:
  a:
    machine: m1
    interfaces:
      ab: {addresses: [10.2.1.1/24]}
      ca: {addresses: [10.2.3.1/24]}
  b:
    machine: m2
    interfaces:
      ab: {addresses: [10.2.1.2/24]}
      bc: {addresses: [10.2.2.2/24]}
  c:
    machine: m3
    interfaces:
      bc: {addresses: [10.2.2.3/24]}
      ca: {addresses: [10.2.3.3/24]}
links:
  - [a:ab, b:ab]
  - [b:bc, c:bc]
  - [c:ca, a:ca]
`)
	for _, m := range []string{"m1", "m2", "m3"} {
		upOn(t, w, m, file)
	}
	for _, p := range []struct{ m, node, dst string }{
		{"m1", "a", "10.2.1.2"}, {"m1", "a", "10.2.3.3"},
		{"m2", "b", "10.2.1.1"}, {"m2", "b", "10.2.2.3"},
		{"m3", "c", "10.2.2.2"}, {"m3", "c", "10.2.3.1"},
	} {
		requirePing(t, w, p.m, name, p.node, p.dst)
	}
	for _, m := range []string{"m1", "m2", "m3"} {
		requirePlanEmpty(t, w, m, file)
	}
}

// TestCrossLinkMTU: a cross link's MTU leaves room for VXLAN on a 1500
// underlay: 1450 over IPv4, so a DF ping of 1422 bytes of data (1450 with
// the headers) passes and one of 1423 is refused at a with the MTU; 1430
// over an IPv6 underlay (machines with IPv6 addresses only), 1402 and
// 1403.
func TestCrossLinkMTU(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		m1, m2 netip.Prefix
		mtu    int
	}{
		{"IPv4", netip.MustParsePrefix("203.0.113.1/24"), netip.MustParsePrefix("203.0.113.2/24"), 1450},
		{"IPv6", netip.MustParsePrefix("2001:db8::1/64"), netip.MustParsePrefix("2001:db8::2/64"), 1430},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, Machine{Name: "m1", Addr: tc.m1}, Machine{Name: "m2", Addr: tc.m2})
			name := kerneltest.LabName(t)
			file := writeLab(t, "", crossLab(name, tc.m1.Addr().String(), tc.m2.Addr().String()))
			upOn(t, w, "m1", file)
			upOn(t, w, "m2", file)
			if got := nodeLink(t, w, "m1", name, "a", "eth0").Attrs().MTU; got != tc.mtu {
				t.Errorf("a:eth0 has MTU %d, want %d", got, tc.mtu)
			}
			fits := tc.mtu - 28 // the inner packets are IPv4: 20 + 8 of headers
			requirePing(t, w, "m1", name, "a", "10.1.0.2", "-s", fmt.Sprint(fits), "-M", "do")
			requirePing(t, w, "m2", name, "b", "10.1.0.1", "-s", fmt.Sprint(fits), "-M", "do")
			r := requireNoPing(t, w, "m1", name, "a", "10.1.0.2", "-s", fmt.Sprint(fits+1), "-M", "do")
			if want := fmt.Sprintf("message too long, mtu=%d", tc.mtu); !strings.Contains(r.Stdout, want) {
				t.Errorf("ping -s %d -M do: want %q:\n%s", fits+1, want, r)
			}
			// Without DF the larger one is fragmented, and crosses.
			requirePing(t, w, "m1", name, "a", "10.1.0.2", "-s", "4000")
		})
	}
}

// TestPeerNotUpYet: a machine whose peer is not up yet has its part, and
// pings across fail; once the peer is up, they pass, without a second up
// on the first machine: each end needs only its own machine.
func TestPeerNotUpYet(t *testing.T) {
	t.Parallel()
	w := newWorld(t, twoMachines...)
	name := kerneltest.LabName(t)
	file := writeLab(t, "", crossLab(name, "203.0.113.1", "203.0.113.2"))
	upOn(t, w, "m1", file)
	requireNoPing(t, w, "m1", name, "a", "10.1.0.2", "-W", "500ms")
	requirePing(t, w, "m1", name, "a", "10.1.1.2") // the veth on m1 works alone
	upOn(t, w, "m2", file)
	requirePing(t, w, "m1", name, "a", "10.1.0.2")
	requirePlanEmpty(t, w, "m1", file)
}

// TestEditOnOneMachine: an edit of a node on m2 only (a route), brought
// up on m2, leaves m1 alone: its plan is still empty, its namespaces are
// the same ones (inodes), and the cross link keeps its VNI. (An address
// of b is not such an edit: every node's hosts file names every node's
// addresses, those on m1 too, so m1's plan would then change its hosts
// files, as it should.)
func TestEditOnOneMachine(t *testing.T) {
	t.Parallel()
	w := newWorld(t, twoMachines...)
	name := kerneltest.LabName(t)
	text := crossLab(name, "203.0.113.1", "203.0.113.2")
	file := writeLab(t, "", text)
	upOn(t, w, "m1", file)
	upOn(t, w, "m2", file)
	vni := vniOf(t, file, "a:eth0", "b:eth0")
	before := inodes(t, w, "m1")

	edited := strings.Replace(text, "eth0: {addresses: [10.1.0.2/24]}", "eth0: {addresses: [10.1.0.2/24]}\n    routes:\n      - {to: 10.9.0.0/16, via: 10.1.0.1}", 1)
	if edited == text {
		t.Fatal("the edit of b did not apply to the lab text")
	}
	writeLab(t, file, edited)
	if r := w.Netlab(t, "m2", "plan", file, "--machine", "m2", "--detailed-exitcode"); r.Code != 2 {
		t.Errorf("on m2, the edit of b: want a plan with changes (exit 2): %s", r)
	}
	upOn(t, w, "m2", file)
	requirePlanEmpty(t, w, "m1", file)
	requirePlanEmpty(t, w, "m2", file)
	if got := inodes(t, w, "m1"); !maps.Equal(got, before) {
		t.Errorf("m1's namespaces after an edit on m2: %v, were %v (made again?)", got, before)
	}
	if got := vniOf(t, file, "a:eth0", "b:eth0"); got != vni {
		t.Errorf("the cross link's VNI went from %d to %d with an edit elsewhere", vni, got)
	}
	for _, end := range []struct{ m, node string }{{"m1", "a"}, {"m2", "b"}} {
		if got := nodeLink(t, w, end.m, name, end.node, "eth0").(*netlink.Vxlan).VxlanId; got != int(vni) {
			t.Errorf("on %s, %s:eth0 has VNI %d after the edit, want %d", end.m, end.node, got, vni)
		}
	}
	routes, err := handleIn(t, nodeNSPath(w, "m2", name, "b")).RouteGet(net.ParseIP("10.9.1.1"))
	if err != nil || len(routes) == 0 || !routes[0].Gw.Equal(net.ParseIP("10.1.0.1")) {
		t.Errorf("on m2, b's route to 10.9.1.1 = %v (%v), want via 10.1.0.1, the edit", routes, err)
	}
	requirePing(t, w, "m1", name, "a", "10.1.0.2")
}

// bigLab is a lab of 20 nodes on m1, the first four linked to a node each
// on m2 (10.3.I.1 to .2), the others in veth pairs on m1 (n05 10.3.5.1 to
// n06 10.3.5.2, ...).
func bigLab(name string) string {
	text := bigLabNodes(name)
	for i := 6; i <= 20; i += 2 {
		text = strings.Replace(text, fmt.Sprintf("10.3.%d.1/24", i), fmt.Sprintf("10.3.%d.2/24", i-1), 1)
	}
	return text
}

func bigLabNodes(name string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\nmachines:\n  m1: {address: 203.0.113.1}\n  m2: {address: 203.0.113.2}\nnodes:\n", name)
	for i := 1; i <= 20; i++ {
		fmt.Fprintf(&b, "  n%02d:\n    machine: m1\n    interfaces:\n      eth0: {addresses: [10.3.%d.1/24]}\n", i, i)
	}
	for i := 1; i <= 4; i++ {
		fmt.Fprintf(&b, "  b%02d:\n    machine: m2\n    interfaces:\n      eth0: {addresses: [10.3.%d.2/24]}\n", i, i)
	}
	b.WriteString("links:\n")
	for i := 1; i <= 4; i++ {
		fmt.Fprintf(&b, "  - [n%02d:eth0, b%02d:eth0]\n", i, i)
	}
	for i := 5; i <= 20; i += 2 {
		fmt.Fprintf(&b, "  - [n%02d:eth0, n%02d:eth0]\n", i, i+1)
	}
	return b.String()
}

// TestUpKilled: up on m1 of a lab of 20 nodes, killed (SIGKILL) after a
// random short time, is finished by the next up: its plan is then empty
// and traffic crosses to m2 and between m1's nodes. Each round starts
// from nothing on m1 (a whole up takes some 50ms here, so the kill lands
// in the midst of it).
func TestUpKilled(t *testing.T) {
	t.Parallel()
	w := newWorld(t, twoMachines...)
	name := kerneltest.LabName(t)
	file := writeLab(t, "", bigLab(name))
	upOn(t, w, "m2", file)
	own := machineLinks(t, w, "m1")

	killed := 0
	for round := range 3 {
		if round > 0 {
			must(t, w, "m1", "down", "--lab", name)
		}
		delay := time.Duration(5+rand.IntN(60)) * time.Millisecond
		cmd := w.Start(t, "m1", "up", file, "--machine", "m1")
		time.Sleep(delay)
		cmd.Process.Signal(syscall.SIGKILL)
		if r := Wait(cmd); r.Signal == syscall.SIGKILL {
			killed++
			t.Logf("round %d: up killed after %s, with %d namespaces made", round, delay, len(w.NetNS(t, "m1")))
		} else {
			t.Logf("round %d: up ended before the kill after %s: %s", round, delay, r)
		}

		upOn(t, w, "m1", file)
		requirePlanEmpty(t, w, "m1", file)
		if got := len(w.NetNS(t, "m1")); got != 20 {
			t.Errorf("round %d: m1 has %d namespaces after up, want 20: %q", round, got, w.NetNS(t, "m1"))
		}
		for i := 1; i <= 4; i++ {
			requirePing(t, w, "m1", name, fmt.Sprintf("n%02d", i), fmt.Sprintf("10.3.%d.2", i))
		}
		requirePing(t, w, "m1", name, "n05", "10.3.5.2")
		requirePing(t, w, "m1", name, "n20", "10.3.19.1")
		if t.Failed() {
			break
		}
	}
	requirePlanEmpty(t, w, "m2", file)
	if got := machineLinks(t, w, "m1"); !slices.Equal(got, own) {
		t.Errorf("the killed ups left links in m1's own namespace: %q, was %q", got, own)
	}
	if killed == 0 {
		t.Logf("no up was killed before it ended: this run tested only ups after complete ones")
	}
}

// TestDownThenUp: up right after down on m1 makes the cross links again.
// The kernel frees a deleted namespace, and the links in it, once nothing
// holds it, and then later, on a work queue; a cross link's vxlan there
// kept its VNI and port taken in the machine's namespace, so that the
// next up failed with "add vxlan: file exists" until down deleted those
// vxlans itself. The first round holds n01's namespace open across down,
// as a shell left in it would, which made the failure certain; the others
// race the kernel's cleanup, which failed most runs within a few rounds.
func TestDownThenUp(t *testing.T) {
	t.Parallel()
	w := newWorld(t, twoMachines...)
	name := kerneltest.LabName(t)
	file := writeLab(t, "", bigLab(name))
	upOn(t, w, "m2", file)
	for round := range 3 {
		upOn(t, w, "m1", file)
		var held *os.File
		if round == 0 {
			f, err := os.Open(nodeNSPath(w, "m1", name, "n01"))
			if err != nil {
				t.Fatal(err)
			}
			held = f
		}
		must(t, w, "m1", "down", "--lab", name)
		r := w.Netlab(t, "m1", "up", file, "--machine", "m1")
		if held != nil {
			held.Close()
		}
		if r.Code != 0 {
			t.Fatalf("round %d: up right after down: %s", round, r)
		}
		must(t, w, "m1", "down", "--lab", name)
	}
	upOn(t, w, "m1", file)
	for i := 1; i <= 4; i++ {
		requirePing(t, w, "m1", name, fmt.Sprintf("n%02d", i), fmt.Sprintf("10.3.%d.2", i))
	}
}

// labFilesOf lists the files of lab name in machine m's /run/netlab.
func labFilesOf(t *testing.T, w *World, m, name string) []string {
	t.Helper()
	names, err := readNames(w.Dir(m) + kerneltest.RunDir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range names {
		if n == name || strings.HasPrefix(n, name+".") {
			out = append(out, n)
		}
	}
	return out
}

// TestDownOneMachine: down on m1 removes m1's part only: m2's namespaces
// are the same ones and its plan is empty; after down on both, nothing
// of the lab is left on either machine.
func TestDownOneMachine(t *testing.T) {
	t.Parallel()
	w := newWorld(t, twoMachines...)
	name := kerneltest.LabName(t)
	file := writeLab(t, "", crossLab(name, "203.0.113.1", "203.0.113.2"))
	upOn(t, w, "m1", file)
	upOn(t, w, "m2", file)
	m2 := inodes(t, w, "m2")

	downs := [][]string{{"down", "--lab", name}}
	if r := must(t, w, "m1", "down", "--help"); strings.Contains(r.Stdout, "--machine") {
		downs = append(downs, []string{"down", file, "--machine", "m1"})
	}
	for i, down := range downs {
		if i > 0 {
			upOn(t, w, "m1", file)
		}
		must(t, w, "m1", down...)
		if got := w.NetNS(t, "m1"); len(got) != 0 {
			t.Errorf("netlab %s on m1 left namespaces %q", strings.Join(down, " "), got)
		}
		if got := inodes(t, w, "m2"); !maps.Equal(got, m2) {
			t.Errorf("netlab %s on m1 touched m2: its namespaces %v, were %v", strings.Join(down, " "), got, m2)
		}
		requirePlanEmpty(t, w, "m2", file)
	}
	must(t, w, "m2", "down", "--lab", name)
	for _, m := range []string{"m1", "m2"} {
		if got := w.NetNS(t, m); len(got) != 0 {
			t.Errorf("after down on both, %s has namespaces %q", m, got)
		}
		if got := labFilesOf(t, w, m, name); len(got) != 0 {
			t.Errorf("after down on both, %s has files of the lab in /run/netlab: %q", m, got)
		}
	}
}

// TestWrongMachineRefused: up for m2 run on m1 is refused before any
// change, naming m2's address and telling this is m1; so is up without
// --machine on a lab with machines.
func TestWrongMachineRefused(t *testing.T) {
	t.Parallel()
	w := newWorld(t, twoMachines...)
	name := kerneltest.LabName(t)
	file := writeLab(t, "", crossLab(name, "203.0.113.1", "203.0.113.2"))
	r := w.Netlab(t, "m1", "up", file, "--machine", "m2")
	out := r.Stdout + r.Stderr
	if r.Code != 1 || !strings.Contains(out, "no interface of this machine has address 203.0.113.2") || !strings.Contains(out, "--machine m1") {
		t.Errorf("up --machine m2 on m1: want exit 1, naming 203.0.113.2 and suggesting --machine m1: %s", r)
	}
	if got := w.NetNS(t, "m1"); len(got) != 0 {
		t.Errorf("the refused up made namespaces on m1: %q", got)
	}
	r = w.Netlab(t, "m1", "up", file)
	if r.Code == 0 || !strings.Contains(r.Stdout+r.Stderr, "--machine") {
		t.Errorf("up without --machine of a lab with machines: want a failure that asks for --machine: %s", r)
	}
	if got := w.NetNS(t, "m1"); len(got) != 0 {
		t.Errorf("the refused up made namespaces on m1: %q", got)
	}
	if got := labFilesOf(t, w, "m1", name); len(got) != 0 {
		t.Errorf("the refused ups left files in m1's /run/netlab: %q", got)
	}
}

// TestTraceLeavesMachine: a trace whose probe crosses to another machine
// says where it left this one, by which VXLAN, and follows the answer
// from where it comes back in; status names the far machine. Before,
// the trace ended "lost" and said there was no answer.
func TestTraceLeavesMachine(t *testing.T) {
	t.Parallel()
	w := newWorld(t, twoMachines...)
	name := kerneltest.LabName(t)
	file := writeLab(t, "", crossLab(name, "203.0.113.1", "203.0.113.2"))
	upOn(t, w, "m1", file)
	upOn(t, w, "m2", file)
	vni := vniOf(t, file, "a:eth0", "b:eth0")
	r := must(t, w, "m1", "trace", "--lab", name, "a", "10.1.0.2")
	for _, want := range []string{
		fmt.Sprintf("left this machine at a postrouting by eth0, the VXLAN to 203.0.113.2 (VNI %d)", vni),
		"answer icmp 10.1.0.2 -> 10.1.0.1 echo-reply",
		"delivered to a",
	} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("trace from a to b on the other machine: no %q in\n%s", want, r.Stdout)
		}
	}
	if strings.Contains(r.Stdout, "no answer") {
		t.Errorf("trace says no answer, though the probe was answered:\n%s", r.Stdout)
	}
	st := must(t, w, "m1", "status", "--lab", name)
	if want := fmt.Sprintf("vxlan to m2 (VNI %d)", vni); !strings.Contains(st.Stdout, want) {
		t.Errorf("status on m1: no %q in\n%s", want, st.Stdout)
	}
}
