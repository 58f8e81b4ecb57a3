// Command rawlab is the baseline netlab's benchmark measures against: a
// plain, single-threaded program that builds the star or chain lab of
// internal/benchlab with vishvananda/netlink, straight through in the
// naive order, and nothing else: no reading of what is there, no plan, no
// record, no check. It makes the same namespaces, devices, addresses,
// routes and sysctls as `netlab up` of that lab file, so that both make
// the kernel do the same work.
//
//	rawlab -shape star|chain -n N -name NAME up
//	rawlab -name NAME down
//
// Each namespace it makes is marked (lo's alias is rawlab:NAME:NODE), and
// down deletes the namespaces NAME.* that carry that mark and no other:
// an unmarked one is left alone and named in the error.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"netlab/internal/benchlab"
	"netlab/lab/name"
	"netlab/lab/state"
)

// netnsDir is where named namespaces are bind-mounted, by ip(8), netns
// and netlab alike.
const netnsDir = "/run/netns"

// Exit codes, as netlab's: 1 a failure, 64 bad usage.
const (
	exitFailure = 1
	exitUsage   = 64
)

func main() {
	// Every namespace switch happens on this one thread, which the main
	// goroutine keeps: the program is single-threaded in what it asks
	// of the kernel.
	runtime.LockOSThread()
	os.Exit(run(os.Args[1:], os.Stderr))
}

// run parses and checks the arguments, then brings the lab up or down.
// Nothing is touched before every argument passed its check.
func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("rawlab", flag.ContinueOnError)
	fs.SetOutput(stderr)
	shapeFlag := fs.String("shape", "", "the lab's shape: star or chain (up)")
	n := fs.Int("n", 0, fmt.Sprintf("the lab's node count, 1 to %d (up)", benchlab.MaxNodes))
	labFlag := fs.String("name", "", "the lab's name, as a netlab lab name; its namespaces are NAME.NODE")
	bridgesUp := fs.String("bridges-up", "first", "star: bring each bridge up first (the naive order) or last, after all its ports (the best order)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: rawlab -shape star|chain -n N -name NAME up\n       rawlab -name NAME down\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "rawlab: "+format+"\n", a...)
		fs.Usage()
		return exitUsage
	}
	if fs.NArg() != 1 || fs.Arg(0) != "up" && fs.Arg(0) != "down" {
		return usage("give one command, up or down, after the flags (got %q)", fs.Args())
	}
	lab, err := name.Parse("lab", *labFlag)
	if err != nil {
		return usage("-name: %v", err)
	}
	var runErr error
	switch fs.Arg(0) {
	case "up":
		shape, err := benchlab.ParseShape(*shapeFlag)
		if err != nil {
			return usage("-shape: %v", err)
		}
		if err := benchlab.CheckNodes(*n); err != nil {
			return usage("-n: %v", err)
		}
		if *bridgesUp != "first" && *bridgesUp != "last" {
			return usage("-bridges-up: want first or last, got %q", *bridgesUp)
		}
		runErr = up(lab.String(), shape, *n, *bridgesUp == "last")
	case "down":
		if *shapeFlag != "" || *n != 0 || *bridgesUp != "first" {
			return usage("down takes only -name: it deletes every namespace NAME.* that rawlab marked")
		}
		runErr = down(lab.String())
	}
	if runErr != nil {
		fmt.Fprintf(stderr, "rawlab: %v\n", runErr)
		return exitFailure
	}
	return 0
}

// marker is the alias rawlab gives lo in each namespace it makes.
func marker(lab, node string) string { return "rawlab:" + lab + ":" + node }

// up builds the lab, after checking that none of its namespaces exists.
// With bridgesLast a star's bridges come up after all their ports.
func up(lab string, shape benchlab.Shape, n int, bridgesLast bool) error {
	present, err := labNetNS(lab)
	if err != nil {
		return err
	}
	if len(present) > 0 {
		return fmt.Errorf("namespace %s exists already: run rawlab -name %s down first", present[0], lab)
	}
	orig, err := netns.Get()
	if err != nil {
		return fmt.Errorf("get the current namespace: %w", err)
	}
	b := &builder{lab: lab, orig: orig, bridgesLast: bridgesLast}
	if shape == benchlab.Star {
		return b.star(n)
	}
	return b.chain(n)
}

// A builder makes the namespaces of one lab from the thread main locked,
// which it always brings back to orig.
type builder struct {
	lab  string
	orig netns.NsHandle
	// bridgesLast brings each bridge up only after its ports: the
	// kernel then does not walk the bridge's ports for each new one.
	bridgesLast bool
}

// A node is an open namespace of the lab and a netlink socket in it.
type node struct {
	name string
	fd   netns.NsHandle
	h    *netlink.Handle
}

func (n *node) close() { n.h.Close(); n.fd.Close() }

// newNode makes the namespace LAB.NODE as a hand-written program does
// (netns.NewNamed), sets in it what netlab sets in every namespace it
// makes (state.NetNSSysctls), marks lo and brings it up.
func (b *builder) newNode(nodeName string) (*node, error) {
	full := b.lab + "." + nodeName
	fd, err := netns.NewNamed(full) // moves this thread into it
	if err != nil {
		netns.Set(b.orig)
		return nil, fmt.Errorf("namespace %s: %w", full, err)
	}
	err = setSysctls(state.NetNSSysctls)
	if serr := netns.Set(b.orig); serr != nil {
		return nil, fmt.Errorf("namespace %s: switch back: %w", full, serr)
	}
	if err != nil {
		fd.Close()
		return nil, fmt.Errorf("namespace %s: %w", full, err)
	}
	h, err := netlink.NewHandleAt(fd)
	if err != nil {
		fd.Close()
		return nil, fmt.Errorf("namespace %s: netlink socket: %w", full, err)
	}
	nd := &node{name: nodeName, fd: fd, h: h}
	lo, err := h.LinkByName("lo")
	if err == nil {
		err = h.LinkSetAlias(lo, marker(b.lab, nodeName))
	}
	if err == nil {
		err = h.LinkSetUp(lo)
	}
	if err != nil {
		nd.close()
		return nil, fmt.Errorf("namespace %s: mark lo: %w", full, err)
	}
	return nd, nil
}

// setSysctls writes settings in the calling thread's namespace; a key the
// kernel does not have (no IPv6) is skipped, as netlab skips it.
func setSysctls(settings []state.Setting) error {
	for _, sc := range settings {
		path, err := sysctlPath(sc.Key)
		if err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(sc.Value), 0o644); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("sysctl %s: %w", sc.Key, err)
		}
	}
	return nil
}

// sysctlPath is the /proc/sys file of a network sysctl key: refused
// unless it starts with net. and holds no slash and no "..", as netlab's.
func sysctlPath(key string) (string, error) {
	if !strings.HasPrefix(key, "net.") || strings.Contains(key, "/") || strings.Contains(key, "..") {
		return "", fmt.Errorf("sysctl %q: not a net. key", key)
	}
	return "/proc/sys/" + strings.ReplaceAll(key, ".", "/"), nil
}

// inNode runs fn with this thread in nd's namespace, then switches back.
func (b *builder) inNode(nd *node, fn func() error) error {
	if err := netns.Set(nd.fd); err != nil {
		return fmt.Errorf("enter %s.%s: %w", b.lab, nd.name, err)
	}
	err := fn()
	if serr := netns.Set(b.orig); serr != nil {
		return fmt.Errorf("leave %s.%s: %w", b.lab, nd.name, serr)
	}
	return err
}

// addAddrUp gives the link ifname of nd the address cidr, brings it up
// and returns it.
func addAddrUp(nd *node, ifname, cidr string) (netlink.Link, error) {
	l, err := addAddr(nd, ifname, cidr)
	if err != nil {
		return nil, err
	}
	if err := nd.h.LinkSetUp(l); err != nil {
		return nil, fmt.Errorf("node %s: set %s up: %w", nd.name, ifname, err)
	}
	return l, nil
}

// addAddr gives the link ifname of nd the address cidr and returns it.
func addAddr(nd *node, ifname, cidr string) (netlink.Link, error) {
	l, err := nd.h.LinkByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("node %s: find %s: %w", nd.name, ifname, err)
	}
	a, err := netlink.ParseAddr(cidr)
	if err != nil {
		return nil, fmt.Errorf("node %s: address %s: %w", nd.name, cidr, err)
	}
	if err := nd.h.AddrAdd(l, a); err != nil {
		return nil, fmt.Errorf("node %s: add address %s to %s: %w", nd.name, cidr, ifname, err)
	}
	return l, nil
}

// defaultRoute adds nd's default route via gw.
func defaultRoute(nd *node, gw string) error {
	if err := nd.h.RouteAdd(&netlink.Route{Gw: net.ParseIP(gw)}); err != nil {
		return fmt.Errorf("node %s: default route via %s: %w", nd.name, gw, err)
	}
	return nil
}

// star makes the host and its bridges, each addressed and up first
// (last with bridgesLast), then each leaf in turn: its namespace, the
// veth with its end in the leaf, the host end enslaved to its bridge and
// up, the leaf's address, up, default route.
func (b *builder) star(n int) error {
	host, err := b.newNode(benchlab.StarHost)
	if err != nil {
		return err
	}
	defer host.close()
	bridges := make([]netlink.Link, benchlab.StarBridges(n))
	for k := range bridges {
		name := benchlab.StarBridge(k)
		if err := host.h.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name}}); err != nil {
			return fmt.Errorf("node %s: add bridge %s: %w", host.name, name, err)
		}
		addr := addAddrUp
		if b.bridgesLast {
			addr = addAddr
		}
		if bridges[k], err = addr(host, name, benchlab.StarBridgeAddr(k)); err != nil {
			return err
		}
	}
	for i := 1; i < n; i++ {
		leaf, err := b.newNode(benchlab.StarLeaf(i))
		if err != nil {
			return err
		}
		err = b.starLeaf(host, bridges[benchlab.StarBridgeOf(i)], leaf, i)
		leaf.close()
		if err != nil {
			return err
		}
	}
	if b.bridgesLast {
		for _, br := range bridges {
			if err := host.h.LinkSetUp(br); err != nil {
				return fmt.Errorf("node %s: set %s up: %w", host.name, br.Attrs().Name, err)
			}
		}
	}
	return nil
}

func (b *builder) starLeaf(host *node, br netlink.Link, leaf *node, i int) error {
	port := benchlab.StarPort(i)
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: port}, PeerName: benchlab.StarLeafIf, PeerNamespace: netlink.NsFd(leaf.fd)}
	if err := host.h.LinkAdd(veth); err != nil {
		return fmt.Errorf("node %s: add veth %s: %w", host.name, port, err)
	}
	p, err := host.h.LinkByName(port)
	if err != nil {
		return fmt.Errorf("node %s: find %s: %w", host.name, port, err)
	}
	if err := host.h.LinkSetMaster(p, br); err != nil {
		return fmt.Errorf("node %s: enslave %s to %s: %w", host.name, port, br.Attrs().Name, err)
	}
	if err := host.h.LinkSetUp(p); err != nil {
		return fmt.Errorf("node %s: set %s up: %w", host.name, port, err)
	}
	if _, err := addAddrUp(leaf, benchlab.StarLeafIf, benchlab.StarLeafAddr(i)); err != nil {
		return err
	}
	return defaultRoute(leaf, benchlab.StarGateway(benchlab.StarBridgeOf(i)))
}

// chain makes every router's namespace, then the veths between
// neighbours, then in each router its addresses (each link up), its
// default route and ip_forward=1.
func (b *builder) chain(n int) error {
	routers := make([]*node, n+1) // routers[i] is r<i>
	defer func() {
		for _, r := range routers {
			if r != nil {
				r.close()
			}
		}
	}()
	for i := 1; i <= n; i++ {
		r, err := b.newNode(benchlab.ChainRouter(i))
		if err != nil {
			return err
		}
		routers[i] = r
	}
	for i := 1; i < n; i++ {
		veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: benchlab.ChainRight}, PeerName: benchlab.ChainLeft, PeerNamespace: netlink.NsFd(routers[i+1].fd)}
		if err := routers[i].h.LinkAdd(veth); err != nil {
			return fmt.Errorf("node %s: add veth %s: %w", routers[i].name, benchlab.ChainRight, err)
		}
	}
	for i := 1; i <= n; i++ {
		r := routers[i]
		if i > 1 {
			if _, err := addAddrUp(r, benchlab.ChainLeft, benchlab.ChainCIDR(i-1, 2)); err != nil {
				return err
			}
		}
		if i < n {
			if _, err := addAddrUp(r, benchlab.ChainRight, benchlab.ChainCIDR(i, 1)); err != nil {
				return err
			}
		}
		if i > 1 {
			if err := defaultRoute(r, benchlab.ChainAddr(i-1, 1)); err != nil {
				return err
			}
		}
		err := b.inNode(r, func() error {
			return setSysctls([]state.Setting{{Key: "net.ipv4.ip_forward", Value: "1"}})
		})
		if err != nil {
			return fmt.Errorf("node %s: %w", r.name, err)
		}
	}
	return nil
}

// labNetNS lists the names in netnsDir that start with LAB.
func labNetNS(lab string) ([]string, error) {
	entries, err := os.ReadDir(netnsDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), lab+".") {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// down deletes the namespaces LAB.NODE whose lo carries rawlab's marker
// for that lab and node; any other of that prefix is left alone and
// named in the error.
func down(lab string) error {
	present, err := labNetNS(lab)
	if err != nil {
		return err
	}
	var foreign []string
	for _, full := range present {
		nodeName := strings.TrimPrefix(full, lab+".")
		path, err := netnsPath(lab, nodeName)
		if err != nil {
			foreign = append(foreign, full) // not a name rawlab makes
			continue
		}
		if !marked(path, lab, nodeName) {
			foreign = append(foreign, full)
			continue
		}
		if err := unix.Unmount(path, unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW); err != nil {
			return fmt.Errorf("delete namespace %s: unmount: %w", full, err)
		}
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("delete namespace %s: %w", full, err)
		}
	}
	if len(foreign) > 0 {
		return fmt.Errorf("left alone %d namespace(s) rawlab did not make (no rawlab marker on lo): %s", len(foreign), strings.Join(foreign, " "))
	}
	return nil
}

// netnsPath is the one place a namespace name becomes a path: the file
// of LAB.NODE in netnsDir, refused unless both are valid names (so no
// slash, dot or ".." can lead elsewhere).
func netnsPath(lab, nodeName string) (string, error) {
	if name.Problem(lab) != "" || name.Problem(nodeName) != "" {
		return "", fmt.Errorf("namespace %q.%q: not a lab and node name", lab, nodeName)
	}
	return filepath.Join(netnsDir, lab+"."+nodeName), nil
}

// marked reports whether the namespace at path, opened without following
// a link, has lo with rawlab's marker of lab and node.
func marked(path, lab, nodeName string) bool {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return false
	}
	ns := netns.NsHandle(fd)
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return false // not a namespace (an empty file, say)
	}
	defer h.Close()
	lo, err := h.LinkByName("lo")
	return err == nil && lo.Attrs().Alias == marker(lab, nodeName)
}
