package machinetest

// Integration tests of issue 19: one lab across several machines, each
// machine simulated by a World, netlab run "on" each as a user runs it on
// each host.

import (
	"fmt"
	"math/rand/v2"
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

var _, _, _, _ = rand.IntN, strings.Cut, syscall.SIGKILL, time.Second
