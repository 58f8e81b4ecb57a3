package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"netlab/internal/benchlab"
	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/labfile"
	"netlab/lab/reconcile"
	"netlab/lab/validate"
)

func TestMain(m *testing.M) { os.Exit(kerneltest.LeakCheck(m).Run()) }

// runLocked runs rawlab as main does, on a locked thread of its own that
// is thrown away afterwards (no thread that moved between namespaces
// serves the tests again), and returns its exit code and standard error.
func runLocked(args ...string) (int, string) {
	type result struct {
		code int
		out  string
	}
	done := make(chan result)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		var stderr bytes.Buffer
		code := run(args, &stderr)
		done <- result{code, stderr.String()}
	}()
	r := <-done
	return r.code, r.out
}

// Every bad argument is refused with the usage exit code and a message
// that names what is wrong, before anything is made: no namespace of the
// lab appears.
func TestRefusesBadInputs(t *testing.T) {
	lab := kerneltest.NewLabName() // a name no namespace has; nothing is made under it
	for _, tc := range []struct {
		args []string
		says string
	}{
		{nil, "give one command"},
		{[]string{"-name", lab, "-shape", "star", "-n", "3"}, "give one command"},
		{[]string{"-name", lab, "-shape", "star", "-n", "3", "up", "down"}, "give one command"},
		{[]string{"-name", lab, "-shape", "star", "-n", "3", "sideways"}, "give one command"},
		{[]string{"-shape", "star", "-n", "3", "up"}, "lab name"},
		{[]string{"-name", "Nltest", "-shape", "star", "-n", "3", "up"}, "lowercase"},
		{[]string{"-name", "../etc", "-shape", "star", "-n", "3", "up"}, "lab name"},
		{[]string{"-name", lab + ".x", "-shape", "star", "-n", "3", "up"}, "lab name"},
		{[]string{"-name", "nltest/a", "down"}, "lab name"},
		{[]string{"-name", "nltestabcdefgh", "down"}, "at most 12"},
		{[]string{"-name", lab, "-shape", "ring", "-n", "3", "up"}, "unknown shape"},
		{[]string{"-name", lab, "-n", "3", "up"}, "unknown shape"},
		{[]string{"-name", lab, "-shape", "chain", "up"}, "out of range"},
		{[]string{"-name", lab, "-shape", "chain", "-n", "-2", "up"}, "out of range"},
		{[]string{"-name", lab, "-shape", "chain", "-n", "10001", "up"}, "out of range"},
		{[]string{"-name", lab, "-shape", "chain", "-n", "three", "up"}, "invalid value"},
		{[]string{"-name", lab, "-shape", "star", "down"}, "down takes only -name"},
		{[]string{"-name", lab, "-n", "5", "down"}, "down takes only -name"},
		{[]string{"-name", lab, "-bogus", "down"}, "not defined"},
		{[]string{"-name", lab, "-shape", "star", "-n", "3", "-bridges-up", "never", "up"}, "want first or last"},
		{[]string{"-name", lab, "-bridges-up", "last", "down"}, "down takes only -name"},
	} {
		code, stderr := runLocked(tc.args...)
		if code != exitUsage {
			t.Errorf("rawlab %q: exit %d, want %d (usage); stderr:\n%s", tc.args, code, exitUsage, stderr)
		}
		if !strings.Contains(stderr, tc.says) {
			t.Errorf("rawlab %q: stderr does not say %q:\n%s", tc.args, tc.says, stderr)
		}
	}
	if left, _ := labNetNS(lab); len(left) > 0 {
		t.Errorf("refused commands made namespaces: %v", left)
	}
}

// up refuses a lab whose namespace exists already (made by someone else
// here), and changes nothing: the namespace is still unmarked and alone.
func TestUpRefusesExistingNamespace(t *testing.T) {
	kerneltest.RequireRoot(t)
	lab := kerneltest.LabName(t)
	ipNetNSAdd(t, lab+".n2")
	code, stderr := runLocked("-name", lab, "-shape", "star", "-n", "3", "up")
	if code != exitFailure || !strings.Contains(stderr, lab+".n2 exists already") {
		t.Fatalf("up over an existing namespace: exit %d, stderr:\n%s", code, stderr)
	}
	if got, _ := labNetNS(lab); !slices.Equal(got, []string{lab + ".n2"}) {
		t.Errorf("after the refused up the lab's namespaces are %v, want only %s.n2", got, lab)
	}
	if alias := loAlias(t, lab+".n2"); alias != "" {
		t.Errorf("the existing namespace's lo got alias %q", alias)
	}
}

// down deletes the namespaces rawlab marked and leaves alone every other
// namespace of the lab's prefix: one with no marker, one whose marker is
// another node's, and a symbolic link to a marked namespace. It says
// which, and fails.
func TestDownDeletesOnlyMarked(t *testing.T) {
	kerneltest.RequireRoot(t)
	lab := kerneltest.LabName(t)
	if code, stderr := runLocked("-name", lab, "-shape", "star", "-n", "3", "up"); code != 0 {
		t.Fatalf("up: exit %d:\n%s", code, stderr)
	}
	ipNetNSAdd(t, lab+".stranger")
	ipNetNSAdd(t, lab+".other")
	if out, err := exec.Command("ip", "-n", lab+".other", "link", "set", "lo", "alias", marker(lab, "n1")).CombinedOutput(); err != nil {
		t.Fatalf("ip link set alias: %v: %s", err, out)
	}
	link := filepath.Join(netnsDir, lab+".link")
	if err := os.Symlink(filepath.Join(netnsDir, lab+".host"), link); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(link) })

	code, stderr := runLocked("-name", lab, "down")
	if code != exitFailure {
		t.Errorf("down with foreign namespaces: exit %d, want %d; stderr:\n%s", code, exitFailure, stderr)
	}
	want := []string{lab + ".link", lab + ".other", lab + ".stranger"}
	for _, ns := range want {
		if !strings.Contains(stderr, ns) {
			t.Errorf("the error does not name %s:\n%s", ns, stderr)
		}
	}
	got, _ := labNetNS(lab)
	if !slices.Equal(got, want) {
		t.Errorf("after down the lab's namespaces are %v, want %v", got, want)
	}
	if alias := loAlias(t, lab+".stranger"); alias != "" {
		t.Errorf("the unmarked namespace's lo has alias %q", alias)
	}
}

// A second down of a lab that is gone succeeds and does nothing.
func TestDownTwice(t *testing.T) {
	kerneltest.RequireRoot(t)
	lab := kerneltest.LabName(t)
	if code, stderr := runLocked("-name", lab, "-shape", "chain", "-n", "3", "up"); code != 0 {
		t.Fatalf("up: exit %d:\n%s", code, stderr)
	}
	for range 2 {
		if code, stderr := runLocked("-name", lab, "down"); code != 0 {
			t.Fatalf("down: exit %d:\n%s", code, stderr)
		}
	}
	if got, _ := labNetNS(lab); len(got) > 0 {
		t.Errorf("after down: %v", got)
	}
}

// The raw program and netlab make the same lab: for every node, the same
// links (kind, master, up), addresses, routes and the sysctls both set,
// so that the benchmark compares the same kernel work.
func TestSameLabAsNetlab(t *testing.T) {
	kerneltest.RequireRoot(t)
	for _, tc := range []struct {
		shape     benchlab.Shape
		n         int
		perBridge int    // leaves per bridge, for a star of several
		bridgesUp string // -bridges-up
	}{{benchlab.Star, 4, 0, "first"}, {benchlab.Star, 6, 2, "first"}, {benchlab.Star, 6, 2, "last"}, {benchlab.Chain, 4, 0, "first"}, {benchlab.Chain, 1, 0, "first"}} {
		t.Run(fmt.Sprintf("%s-%d-%d-%s", tc.shape, tc.n, tc.perBridge, tc.bridgesUp), func(t *testing.T) {
			if tc.perBridge > 0 {
				was := benchlab.StarPortsPerBridge
				benchlab.StarPortsPerBridge = tc.perBridge
				t.Cleanup(func() { benchlab.StarPortsPerBridge = was })
			}
			raw, nl := kerneltest.LabName(t), kerneltest.LabName(t)
			if code, stderr := runLocked("-name", raw, "-shape", string(tc.shape), "-n", fmt.Sprint(tc.n), "-bridges-up", tc.bridgesUp, "up"); code != 0 {
				t.Fatalf("rawlab up: exit %d:\n%s", code, stderr)
			}
			l, diags := labfile.Parse("bench.yaml", []byte(benchlab.File(tc.shape, nl, tc.n)))
			diags.Append(validate.Lab(l)...)
			if diags.HasErrors() {
				t.Fatal(diags.Err())
			}
			k := kernel.NewLinux()
			defer k.Close()
			if _, err := reconcile.Up(context.Background(), k, l, reconcile.Options{}); err != nil {
				t.Fatalf("netlab up: %v", err)
			}
			if tc.perBridge > 0 {
				if got := describe(t, raw+"."+benchlab.StarHost).Links; !slices.Contains(got, "p5 veth master=br2 up") {
					t.Fatalf("the raw star's host has no port p5 on br2: %v", got)
				}
			}
			for _, node := range benchlab.Nodes(tc.shape, tc.n) {
				got, want := describe(t, raw+"."+node), describe(t, nl+"."+node)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("node %s: raw lab differs from netlab's (-netlab +raw):\n%s", node, diff)
				}
			}
		})
	}
}

// nsView is what the comparison looks at in a namespace.
type nsView struct {
	Links  []string // "name kind master=M up"
	Addrs  []string // "link cidr", IPv4
	Routes []string // "dst via gw dev link", IPv4 main table
	Sysctl []string
}

func describe(t *testing.T, nsName string) nsView {
	t.Helper()
	fd, err := netns.GetFromName(nsName)
	if err != nil {
		t.Fatalf("open %s: %v", nsName, err)
	}
	defer fd.Close()
	h, err := netlink.NewHandleAt(fd)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	links, err := h.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	names := map[int]string{}
	for _, l := range links {
		names[l.Attrs().Index] = l.Attrs().Name
	}
	var v nsView
	for _, l := range links {
		a := l.Attrs()
		s := a.Name + " " + l.Type()
		if a.MasterIndex != 0 {
			s += " master=" + names[a.MasterIndex]
		}
		if a.Flags&net.FlagUp != 0 {
			s += " up"
		}
		v.Links = append(v.Links, s)
		addrs, err := h.AddrList(l, netlink.FAMILY_V4)
		if err != nil {
			t.Fatal(err)
		}
		for _, ad := range addrs {
			v.Addrs = append(v.Addrs, a.Name+" "+ad.IPNet.String())
		}
	}
	routes, err := h.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range routes {
		v.Routes = append(v.Routes, fmt.Sprintf("%v via %v dev %s", r.Dst, r.Gw, names[r.LinkIndex]))
	}
	err = kernel.InNetNS(fd, func() error {
		for _, key := range []string{"net/ipv4/ip_forward", "net/ipv6/conf/default/accept_dad"} {
			b, err := os.ReadFile("/proc/sys/" + key)
			if err != nil {
				return err
			}
			v.Sysctl = append(v.Sysctl, key+"="+strings.TrimSpace(string(b)))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(v.Links)
	slices.Sort(v.Addrs)
	slices.Sort(v.Routes)
	return v
}

// ipNetNSAdd makes a bare namespace with ip(8), as someone else would; the
// lab's clean-up (kerneltest.LabName) removes it.
func ipNetNSAdd(t *testing.T, nsName string) {
	t.Helper()
	if out, err := exec.Command("ip", "netns", "add", nsName).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", nsName, err, out)
	}
}

// loAlias is the alias of lo in the namespace.
func loAlias(t *testing.T, nsName string) string {
	t.Helper()
	fd, err := unix.Open(filepath.Join(netnsDir, nsName), unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		t.Fatalf("open %s: %v", nsName, err)
	}
	ns := netns.NsHandle(fd)
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	lo, err := h.LinkByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	return lo.Attrs().Alias
}
