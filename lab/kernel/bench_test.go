package kernel_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"netlab/lab"
	"netlab/lab/apply"
	"netlab/lab/kernel"
	"netlab/lab/labfile"
	"netlab/lab/plan"
	"netlab/lab/reconcile"
	"netlab/lab/state"
	"netlab/lab/validate"
)

// The reconciler benchmark: up, no-op up, plan and down of generated labs,
// each beside a baseline that does the same kernel work with hand-written
// netlink calls and nothing else (no observe, no diff, no markers). Run it
// with `just bench`, which prints the two side by side.

var benchSizes = []int{10, 50, 100, 200}

func benchLabName() string {
	var b [3]byte
	rand.Read(b[:])
	return fmt.Sprintf("nltest%x", b)
}

// starLab is one host with a bridge and n-1 leaves, each on a veth port.
func starLab(name string, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\nnodes:\n  host:\n    interfaces:\n      br0: {kind: bridge, addresses: [10.0.0.1/16]}\n", name)
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "      p%d: {master: br0}\n", i)
	}
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "  n%d:\n    interfaces:\n      eth0: {addresses: [10.0.%d.%d/16]}\n    routes: [{to: default, via: 10.0.0.1}]\n", i, i/250, i%250+2)
	}
	b.WriteString("links:\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "  - [n%d:eth0, host:p%d]\n", i, i)
	}
	return b.String()
}

// chainLab is n routers in a line, each /30 between neighbours, with a
// default route toward the first.
func chainLab(name string, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\nnodes:\n", name)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "  r%d:\n    sysctls: {net.ipv4.ip_forward: 1}\n    interfaces:\n", i)
		if i > 1 {
			fmt.Fprintf(&b, "      left: {addresses: [%s/30]}\n", chainAddr(i-1, 2))
		}
		if i < n {
			fmt.Fprintf(&b, "      right: {addresses: [%s/30]}\n", chainAddr(i, 1))
		}
		if i > 1 {
			fmt.Fprintf(&b, "    routes: [{to: default, via: %s}]\n", chainAddr(i-1, 1))
		}
	}
	if n > 1 {
		b.WriteString("links:\n")
	}
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "  - [r%d:right, r%d:left]\n", i, i+1)
	}
	return b.String()
}

// chainAddr is host h (1 or 2) of the i-th /30.
func chainAddr(i, h int) string {
	base := i * 4
	return fmt.Sprintf("10.1.%d.%d", base/256, base%256+h)
}

func loadBenchLab(b *testing.B, text string) *lab.Lab {
	l, diags := labfile.Parse("bench.yaml", []byte(text))
	diags.Append(validate.Lab(l)...)
	if diags.HasErrors() {
		b.Fatalf("generated lab is invalid:\n%v", diags.Err())
	}
	return l
}

func requireRootB(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("the reconciler benchmark needs root to create namespaces")
	}
}

// netlabUp is netlab up: the whole pipeline, validate and the sysctl
// check included, as the command runs it.
func netlabUp(b *testing.B, l *lab.Lab) {
	k := kernel.NewLinux()
	defer k.Close()
	if _, err := reconcile.Up(context.Background(), k, l, reconcile.Options{}); err != nil {
		b.Fatal(err)
	}
}

// netlabPlan is netlab plan.
func netlabPlan(b *testing.B, l *lab.Lab) *plan.Plan {
	k := kernel.NewLinux()
	defer k.Close()
	planned, err := reconcile.Plan(context.Background(), k, l, reconcile.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return planned.Plan
}

func netlabDown(b *testing.B, name string) {
	k := kernel.NewLinux()
	defer k.Close()
	if _, err := apply.Down(context.Background(), k, name, nil); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkReconcile(b *testing.B) {
	requireRootB(b)
	shapes := []struct {
		name string
		gen  func(string, int) string
		base func(b *testing.B, name string, n int)
	}{
		{"star", starLab, baselineStar},
		{"chain", chainLab, baselineChain},
	}
	for _, shape := range shapes {
		for _, n := range benchSizes {
			name := benchLabName()
			l := loadBenchLab(b, shape.gen(name, n))
			b.Cleanup(func() { netlabDown(b, name) })
			prefix := fmt.Sprintf("%s-%d/", shape.name, n)
			b.Run(prefix+"netlab-up", func(b *testing.B) {
				for b.Loop() {
					b.StopTimer()
					netlabDown(b, name)
					b.StartTimer()
					netlabUp(b, l)
				}
			})
			b.Run(prefix+"netlab-noop-up", func(b *testing.B) {
				netlabUp(b, l)
				for b.Loop() {
					netlabUp(b, l)
				}
			})
			b.Run(prefix+"netlab-plan", func(b *testing.B) {
				netlabUp(b, l)
				for b.Loop() {
					if p := netlabPlan(b, l); !p.Empty() {
						b.Fatalf("plan of a lab that is up is not empty: %s", p.Summary())
					}
				}
			})
			b.Run(prefix+"netlab-down", func(b *testing.B) {
				for b.Loop() {
					b.StopTimer()
					netlabUp(b, l)
					b.StartTimer()
					netlabDown(b, name)
				}
			})
			bname := benchLabName()
			b.Cleanup(func() { baselineDown(b, bname, n, shape.name) })
			b.Run(prefix+"baseline-up", func(b *testing.B) {
				for b.Loop() {
					b.StopTimer()
					baselineDown(b, bname, n, shape.name)
					b.StartTimer()
					shape.base(b, bname, n)
				}
			})
			b.Run(prefix+"baseline-down", func(b *testing.B) {
				for b.Loop() {
					b.StopTimer()
					baselineDown(b, bname, n, shape.name) // left up by baseline-up
					shape.base(b, bname, n)
					b.StartTimer()
					baselineDown(b, bname, n, shape.name)
				}
			})
		}
	}
}

// The baseline: what a hand-written program would do with the netlink
// library, straight through, with the same namespaces, devices, addresses
// and routes as the lab, and no reading or checking.

type rawNS struct {
	fd netns.NsHandle
	h  *netlink.Handle
}

func rawNewNS(b *testing.B, name string) rawNS {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // the thread ends in the new namespace
		ns, err := netns.NewNamed(name)
		if err == nil {
			ns.Close()
			// The same namespace as netlab's: what NetNSAdd sets in
			// each (IPv6 DAD off), so that both make the kernel send
			// the same packets while they build.
			for _, sc := range state.NetNSSysctls {
				if err == nil {
					err = os.WriteFile("/proc/sys/"+strings.ReplaceAll(sc.Key, ".", "/"), []byte(sc.Value), 0o644)
				}
			}
		}
		errc <- err
	}()
	if err := <-errc; err != nil {
		b.Fatalf("baseline: netns %s: %v", name, err)
	}
	fd, err := netns.GetFromName(name)
	if err != nil {
		b.Fatal(err)
	}
	h, err := netlink.NewHandleAt(fd)
	if err != nil {
		b.Fatal(err)
	}
	lo, _ := h.LinkByName("lo")
	must(b, h.LinkSetAlias(lo, "baseline"))
	must(b, h.LinkSetUp(lo))
	return rawNS{fd, h}
}

func (r rawNS) close() { r.h.Close(); r.fd.Close() }

func must(b *testing.B, err error) {
	if err != nil {
		b.Helper()
		b.Fatal(err)
	}
}

func rawAddr(b *testing.B, h *netlink.Handle, name, cidr string) netlink.Link {
	l, err := h.LinkByName(name)
	must(b, err)
	a, err := netlink.ParseAddr(cidr)
	must(b, err)
	must(b, h.AddrAdd(l, a))
	return l
}

func baselineStar(b *testing.B, name string, n int) {
	host := rawNewNS(b, name+".host")
	defer host.close()
	must(b, host.h.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "br0"}}))
	br := rawAddr(b, host.h, "br0", "10.0.0.1/16")
	must(b, host.h.LinkSetUp(br))
	for i := 1; i < n; i++ {
		leaf := rawNewNS(b, fmt.Sprintf("%s.n%d", name, i))
		veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: fmt.Sprintf("p%d", i), MasterIndex: br.Attrs().Index}, PeerName: "eth0", PeerNamespace: netlink.NsFd(leaf.fd)}
		must(b, host.h.LinkAdd(veth))
		p, err := host.h.LinkByName(veth.Name)
		must(b, err)
		must(b, host.h.LinkSetUp(p))
		eth := rawAddr(b, leaf.h, "eth0", fmt.Sprintf("10.0.%d.%d/16", i/250, i%250+2))
		must(b, leaf.h.LinkSetUp(eth))
		must(b, leaf.h.RouteAdd(&netlink.Route{Gw: net.ParseIP("10.0.0.1")}))
		leaf.close()
	}
}

func baselineChain(b *testing.B, name string, n int) {
	nss := make([]rawNS, n+1)
	for i := 1; i <= n; i++ {
		nss[i] = rawNewNS(b, fmt.Sprintf("%s.r%d", name, i))
	}
	for i := 1; i < n; i++ {
		veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "right"}, PeerName: "left", PeerNamespace: netlink.NsFd(nss[i+1].fd)}
		must(b, nss[i].h.LinkAdd(veth))
	}
	for i := 1; i <= n; i++ {
		h := nss[i].h
		if i > 1 {
			must(b, h.LinkSetUp(rawAddr(b, h, "left", chainAddr(i-1, 2)+"/30")))
			must(b, h.RouteAdd(&netlink.Route{Gw: net.ParseIP(chainAddr(i-1, 1))}))
		}
		if i < n {
			must(b, h.LinkSetUp(rawAddr(b, h, "right", chainAddr(i, 1)+"/30")))
		}
		must(b, kernel.InNetNS(nss[i].fd, func() error {
			return os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0o644)
		}))
		nss[i].close()
	}
}

// baselineDown deletes the lab's namespaces as netlab must: only those
// whose lo carries the marker (the baseline reads lo's alias, and the
// baseline labs are marked on creation like netlab's), one at a time.
func baselineDown(b *testing.B, name string, n int, shape string) {
	var names []string
	if shape == "star" {
		names = append(names, name+".host")
		for i := 1; i < n; i++ {
			names = append(names, fmt.Sprintf("%s.n%d", name, i))
		}
	} else {
		for i := 1; i <= n; i++ {
			names = append(names, fmt.Sprintf("%s.r%d", name, i))
		}
	}
	for _, ns := range names {
		fd, err := netns.GetFromName(ns)
		if err != nil {
			continue // absent on the first round
		}
		h, err := netlink.NewHandleAt(fd)
		if err != nil {
			b.Fatal(err)
		}
		lo, err := h.LinkByName("lo")
		h.Close()
		fd.Close()
		if err != nil || lo.Attrs().Alias != "baseline" {
			b.Fatalf("baseline: %s is not marked", ns)
		}
		must(b, netns.DeleteNamed(ns))
	}
}
