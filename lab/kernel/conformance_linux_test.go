package kernel_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/plan"
	"netlab/lab/state"
)

// The conformance suite: one table of operations, each case a sequence of
// kernel.Kernel calls and what a kernel must answer and show after them,
// run against the fake always and, as root, against the real kernel, in
// namespaces of a throw-away lab (kerneltest.LabName, removed when the
// test ends, pass or fail). Both must give the case's want, so a
// difference between the fake and the real kernel fails, and
// TestConformanceCoversKernel fails when a method of kernel.Kernel has no
// case.
//
// What is compared is what netlab relies on: each call's outcome (ok, or
// the class of its error), and the observed state without what the
// kernel chooses by itself (ifindexes, generated MACs, the link-local and
// loopback addresses, routes not netlab's, counters, oper state).

// conformanceCase is one sequence of calls. run makes them through c,
// which writes each outcome and observation; want is what c must have
// written, with LAB for the lab's name and HOST for its link in the
// machine's namespace.
type conformanceCase struct {
	name    string
	methods []string // the methods of kernel.Kernel the case is about
	run     func(c *conformance)
	want    string
}

// conformance is a case being run on one kernel.
type conformance struct {
	t    *testing.T
	k    kernel.Kernel
	lab  string
	host string // a link name in the machine's namespace, unique to the lab
	// etcDir is the real kernel's hosts directory, a test's own ("" for
	// the fake).
	etcDir string
	b      strings.Builder
}

// plantHosts writes a node's hosts file by hand, as an admin would.
func (c *conformance) plantHosts(netns, content string) {
	if f, ok := c.k.(*kerneltest.Fake); ok {
		f.PlantHosts(netns, content)
		return
	}
	dir := filepath.Join(c.etcDir, netns)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "hosts"), []byte(content), 0o644); err != nil {
		c.t.Fatal(err)
	}
}

var cctx = context.Background()

// ns is the namespace of a node of the lab.
func (c *conformance) ns(node string) string { return state.NetNSName(c.lab, node) }

// do writes the outcome of a call.
func (c *conformance) do(what string, err error) {
	fmt.Fprintf(&c.b, "%s: %s\n", what, outcome(err))
}

// must is do for a call the rest of the case needs: it stops the case on
// an error.
func (c *conformance) must(what string, err error) {
	c.do(what, err)
	if err != nil {
		c.t.Fatalf("%s: %v\n%s", what, err, c.b.String())
	}
}

// outcome classes an error as netlab tells errors apart.
func outcome(err error) string {
	var fe *kernel.ForeignError
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &fe):
		return "foreign"
	case kernel.IsExist(err):
		return "exists"
	case kernel.IsNotFound(err):
		return "not found"
	case kernel.IsPerm(err):
		return "not permitted"
	case errors.Is(err, errors.ErrUnsupported), errors.Is(err, unix.EOPNOTSUPP):
		return "unsupported"
	case errors.Is(err, unix.EINVAL):
		return "invalid"
	case errors.Is(err, unix.ENETUNREACH):
		return "unreachable"
	}
	return "error " + err.Error() // no class: the fake and the kernel will differ
}

// observe writes the lab as Observe reads it, with want (may be nil).
func (c *conformance) observe(want *state.State) {
	s, err := c.k.Observe(cctx, c.lab, want)
	if err != nil {
		c.t.Fatalf("observe: %v", err)
	}
	for _, name := range s.NodeNames() {
		n := s.Nodes[name]
		if n.Foreign {
			fmt.Fprintf(&c.b, "node %s: foreign\n", name)
			continue
		}
		fmt.Fprintf(&c.b, "node %s\n", name)
		for _, ln := range n.LinkNames() {
			c.b.WriteString("  " + linkText(n.Links[ln]) + "\n")
		}
		for _, r := range n.Routes {
			if r.Owned {
				fmt.Fprintf(&c.b, "  route %s\n", state.RouteText(r))
			}
		}
		for _, key := range slices.Sorted(maps.Keys(n.Sysctls)) {
			fmt.Fprintf(&c.b, "  sysctl %s = %s\n", key, n.Sysctls[key])
		}
		for _, name := range slices.Sorted(maps.Keys(n.Procs)) {
			p := n.Procs[name]
			fmt.Fprintf(&c.b, "  process %s %q running %v\n", name, p.Argv, p.Pid > 0 && p.Start > 0 && !p.StartedAt.IsZero())
		}
		for _, p := range n.Others {
			fmt.Fprintf(&c.b, "  other %q\n", p.Argv)
		}
		if n.Hosts != nil {
			fmt.Fprintf(&c.b, "  hosts foreign %v: %q\n", n.Hosts.Foreign, n.Hosts.Content)
		}
		if n.NFT != nil {
			for _, ch := range n.NFT.Chains {
				fmt.Fprintf(&c.b, "  chain %s %s hook %s priority %d policy %s:", ch.Name, ch.Type, ch.Hook, ch.Priority, ch.Policy)
				for _, r := range ch.Rules {
					c.b.WriteString(" " + r.Tag)
				}
				c.b.WriteString("\n")
			}
		}
	}
}

// linkText is a link as the suite compares it.
func linkText(l *state.Link) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s mtu %d", l.Name, l.Kind, l.MTU)
	if l.Up {
		b.WriteString(" up")
	}
	if l.Master != "" {
		b.WriteString(" master " + l.Master)
	}
	if l.Alias != "" {
		b.WriteString(" alias " + l.Alias)
	}
	if l.Peer != "" {
		b.WriteString(" peer " + l.Peer)
	}
	if !l.Egress.IsZero() {
		b.WriteString(" egress " + l.Egress.String())
	}
	if l.OtherQdisc != "" {
		b.WriteString(" other qdisc " + l.OtherQdisc)
	}
	// The suite's MACs; the kernel's own are random. A bridge given none
	// takes its first port's in the kernel and not in the fake: netlab
	// compares a MAC only when the file gives one.
	if strings.HasPrefix(l.MAC, "02:0c:") && l.Kind != "bridge" {
		b.WriteString(" mac " + l.MAC)
	}
	for _, p := range l.Addrs {
		if !state.KernelAddr(l.Kind, p) {
			b.WriteString(" " + p.String())
		}
	}
	switch l.Kind {
	case "macvlan":
		fmt.Fprintf(&b, " mode %s parent %s", l.Mode, l.Parent)
		if len(l.SourceMACs) > 0 {
			b.WriteString(" source " + strings.Join(l.SourceMACs, ","))
		}
	case "vxlan":
		fmt.Fprintf(&b, " vni %d port %d remote %s dev %s learning %v", l.VNI, l.Port, l.Remote, l.Dev, l.Learning)
		for _, e := range l.FDB {
			b.WriteString(" fdb " + e.String())
		}
	case "tun", "tap":
		fmt.Fprintf(&b, " owner %s group %s", state.IDText(l.TunOwner), state.IDText(l.TunGroup))
	}
	return b.String()
}

// marked is a link as netlab makes it: with the lab's marker.
func (c *conformance) marked(l state.Link, peer string) *state.Link {
	l.Alias = state.LinkMarker(c.lab, peer)
	return &l
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

func id(v uint32) *uint32 { return &v }

var conformanceCases = []conformanceCase{
	{
		name:    "namespaces",
		methods: []string{"NetNSAdd", "NetNSDel", "NetNSList", "Labs", "Observe", "Close"},
		run: func(c *conformance) {
			c.must("add a", c.k.NetNSAdd(cctx, c.lab, "a"))
			c.do("add a again", c.k.NetNSAdd(cctx, c.lab, "a"))
			c.must("add b", c.k.NetNSAdd(cctx, c.lab, "b"))
			// b unmarked by hand, as if someone else made it.
			c.must("unmark b", c.k.LinkSet(cctx, c.ns("b"), &state.Link{Name: "lo"}, []state.LinkAttr{state.AttrAlias}))
			c.do("add b, unmarked", c.k.NetNSAdd(cctx, c.lab, "b"))
			c.do("del b, unmarked", c.k.NetNSDel(cctx, c.ns("b")))
			list, err := c.k.NetNSList(cctx, c.lab)
			c.do("list", err)
			for _, ns := range list {
				fmt.Fprintf(&c.b, "  %s node %s marked %v stub %v\n", ns.Name, ns.Node, ns.Marked, ns.Stub)
			}
			labs, err := c.k.Labs(cctx)
			c.do("labs", err)
			for _, l := range labs {
				if l.Name == c.lab {
					fmt.Fprintf(&c.b, "  %s %v\n", l.Name, l.Nodes)
				}
			}
			c.observe(nil)
			c.do("del a", c.k.NetNSDel(cctx, c.ns("a")))
			c.do("del a again", c.k.NetNSDel(cctx, c.ns("a")))
			c.do("del a name netlab never makes", c.k.NetNSDel(cctx, "nodot"))
			c.observe(nil)
		},
		want: `add a: ok
add a again: ok
add b: ok
unmark b: ok
add b, unmarked: foreign
del b, unmarked: foreign
list: ok
  LAB.a node a marked true stub false
  LAB.b node b marked false stub false
labs: ok
  LAB [a]
node a
  lo loopback mtu 65536 up alias netlab:LAB:a
node b: foreign
del a: ok
del a again: ok
del a name netlab never makes: error delete namespace "nodot": not a netlab name
node b: foreign
`,
	},
	{
		name:    "veth and bridge",
		methods: []string{"LinkAdd", "LinkDel"},
		run: func(c *conformance) {
			c.must("add a", c.k.NetNSAdd(cctx, c.lab, "a"))
			c.must("add b", c.k.NetNSAdd(cctx, c.lab, "b"))
			c.must("bridge", c.k.LinkAdd(cctx, c.ns("a"), c.marked(state.Link{Name: "br0", Kind: "bridge", Up: true, Addrs: nil}, ""), "", nil))
			c.must("veth", c.k.LinkAdd(cctx, c.ns("a"), c.marked(state.Link{Name: "p1", Kind: "veth", Master: "br0", Up: true, MTU: 1400, MAC: "02:0c:00:00:00:01"}, "b:eth0"),
				c.ns("b"), c.marked(state.Link{Name: "eth0", Kind: "veth", Up: true}, "a:p1")))
			c.do("veth again", c.k.LinkAdd(cctx, c.ns("a"), c.marked(state.Link{Name: "p1", Kind: "veth"}, "b:x"), c.ns("b"), c.marked(state.Link{Name: "x", Kind: "veth"}, "a:p1")))
			c.do("master not a bridge", c.k.LinkAdd(cctx, c.ns("b"), c.marked(state.Link{Name: "br1", Kind: "bridge", Master: "eth0"}, ""), "", nil))
			c.do("bridge with stp", c.k.LinkAdd(cctx, c.ns("b"), c.marked(state.Link{Name: "br2", Kind: "bridge", STP: true}, ""), "", nil))
			c.observe(nil)
			c.do("del b:eth0", c.k.LinkDel(cctx, c.ns("b"), "eth0"))
			c.do("del b:eth0 again", c.k.LinkDel(cctx, c.ns("b"), "eth0"))
			c.do("del lo", c.k.LinkDel(cctx, c.ns("a"), "lo"))
			c.observe(nil)
		},
		want: `add a: ok
add b: ok
bridge: ok
veth: ok
veth again: exists
master not a bridge: unsupported
bridge with stp: ok
node a
  br0 bridge mtu 1400 up alias netlab:LAB
  lo loopback mtu 65536 up alias netlab:LAB:a
  p1 veth mtu 1400 up master br0 alias netlab:LAB:b:eth0 peer b:eth0 mac 02:0c:00:00:00:01
node b
  br2 bridge mtu 1500 alias netlab:LAB
  eth0 veth mtu 1500 up alias netlab:LAB:a:p1 peer a:p1
  lo loopback mtu 65536 up alias netlab:LAB:b
del b:eth0: ok
del b:eth0 again: ok
del lo: unsupported
node a
  br0 bridge mtu 1500 up alias netlab:LAB
  lo loopback mtu 65536 up alias netlab:LAB:a
node b
  br2 bridge mtu 1500 alias netlab:LAB
  lo loopback mtu 65536 up alias netlab:LAB:b
`,
	},
	{
		name:    "devices",
		methods: []string{"LinkAdd", "LinkSet"},
		run: func(c *conformance) {
			c.must("add a", c.k.NetNSAdd(cctx, c.lab, "a"))
			c.must("add b", c.k.NetNSAdd(cctx, c.lab, "b"))
			c.must("veth", c.k.LinkAdd(cctx, c.ns("a"), c.marked(state.Link{Name: "eth0", Kind: "veth", Up: true, MTU: 9000}, "b:eth0"),
				c.ns("b"), c.marked(state.Link{Name: "eth0", Kind: "veth", Up: true, MTU: 9000}, "a:eth0")))
			c.must("address", c.k.AddrAdd(cctx, c.ns("a"), "eth0", pfx("10.7.0.1/24")))
			mv := c.marked(state.Link{Name: "mv0", Kind: "macvlan", Up: true, Device: state.Device{Mode: "bridge", ParentNetNS: c.ns("b")}}, "b:eth0")
			mv.Parent = "b:eth0"
			c.must("macvlan on b:eth0", c.k.LinkAdd(cctx, c.ns("a"), mv, "", nil))
			src := c.marked(state.Link{Name: "mv1", Kind: "macvlan", Device: state.Device{Mode: "source", SourceMACs: []string{"02:0c:00:00:00:02"}}}, "a:eth0")
			src.Parent = "a:eth0"
			c.must("source macvlan", c.k.LinkAdd(cctx, c.ns("a"), src, "", nil))
			kernelEntry := state.FDBEntry{MAC: "00:00:00:00:00:00", Dst: ip("192.0.2.2")}
			vx := c.marked(state.Link{Name: "vx0", Kind: "vxlan", Up: true, Device: state.Device{VNI: 42, Port: 4789, Remote: ip("192.0.2.2"), Dev: "eth0",
				FDB: []state.FDBEntry{kernelEntry, {MAC: "00:00:00:00:00:00", Dst: ip("192.0.2.3")}}}}, "")
			c.must("vxlan", c.k.LinkAdd(cctx, c.ns("a"), vx, "", nil))
			c.must("tun", c.k.LinkAdd(cctx, c.ns("a"), c.marked(state.Link{Name: "tun0", Kind: "tun", MTU: 1400, Device: state.Device{TunOwner: id(1000)}}, ""), "", nil))
			c.must("tap", c.k.LinkAdd(cctx, c.ns("a"), c.marked(state.Link{Name: "tap0", Kind: "tap", Up: true, MAC: "02:0c:00:00:00:03", Device: state.Device{TunGroup: id(100)}}, ""), "", nil))
			c.do("tun with a mac", c.k.LinkAdd(cctx, c.ns("a"), c.marked(state.Link{Name: "tun1", Kind: "tun", MAC: "02:0c:00:00:00:04"}, ""), "", nil))
			c.observe(nil)

			src.SourceMACs = []string{"02:0c:00:00:00:05", "02:0c:00:00:00:06"}
			c.do("set source macs", c.k.LinkSet(cctx, c.ns("a"), src, []state.LinkAttr{state.AttrSourceMACs}))
			vx.FDB = []state.FDBEntry{kernelEntry, {MAC: "00:00:00:00:00:00", Dst: ip("192.0.2.4")}}
			c.do("set fdb", c.k.LinkSet(cctx, c.ns("a"), vx, []state.LinkAttr{state.AttrFDB}))
			c.do("mtu of a macvlan above its parent's", c.k.LinkSet(cctx, c.ns("a"), &state.Link{Name: "mv0", MTU: 9100}, []state.LinkAttr{state.AttrMTU}))
			c.do("parent's mtu lowered", c.k.LinkSet(cctx, c.ns("b"), &state.Link{Name: "eth0", MTU: 8000}, []state.LinkAttr{state.AttrMTU}))
			c.do("del b:eth0, the parent", c.k.LinkDel(cctx, c.ns("b"), "eth0"))
			c.observe(nil)
		},
		want: `add a: ok
add b: ok
veth: ok
address: ok
macvlan on b:eth0: ok
source macvlan: ok
vxlan: ok
tun: ok
tap: ok
tun with a mac: unsupported
node a
  eth0 veth mtu 9000 up alias netlab:LAB:b:eth0 peer b:eth0 10.7.0.1/24
  lo loopback mtu 65536 up alias netlab:LAB:a
  mv0 macvlan mtu 9000 up alias netlab:LAB:b:eth0 mode bridge parent b:eth0
  mv1 macvlan mtu 9000 alias netlab:LAB:a:eth0 mode source parent a:eth0 source 02:0c:00:00:00:02
  tap0 tap mtu 1500 up alias netlab:LAB mac 02:0c:00:00:00:03 owner (none) group 100
  tun0 tun mtu 1400 alias netlab:LAB owner 1000 group (none)
  vx0 vxlan mtu 8950 up alias netlab:LAB vni 42 port 4789 remote 192.0.2.2 dev eth0 learning false fdb 00:00:00:00:00:00 dst 192.0.2.2 fdb 00:00:00:00:00:00 dst 192.0.2.3
node b
  eth0 veth mtu 9000 up alias netlab:LAB:a:eth0 peer a:eth0
  lo loopback mtu 65536 up alias netlab:LAB:b
set source macs: ok
set fdb: ok
mtu of a macvlan above its parent's: invalid
parent's mtu lowered: ok
del b:eth0, the parent: ok
node a
  lo loopback mtu 65536 up alias netlab:LAB:a
  tap0 tap mtu 1500 up alias netlab:LAB mac 02:0c:00:00:00:03 owner (none) group 100
  tun0 tun mtu 1400 alias netlab:LAB owner 1000 group (none)
node b
  lo loopback mtu 65536 up alias netlab:LAB:b
`,
	},
	{
		name:    "link attributes",
		methods: []string{"LinkSet"},
		run: func(c *conformance) {
			c.must("add a", c.k.NetNSAdd(cctx, c.lab, "a"))
			c.must("bridge", c.k.LinkAdd(cctx, c.ns("a"), c.marked(state.Link{Name: "br0", Kind: "bridge", Up: true}, ""), "", nil))
			c.must("tap", c.k.LinkAdd(cctx, c.ns("a"), c.marked(state.Link{Name: "t0", Kind: "tap"}, ""), "", nil))
			c.do("set master, mtu, mac, up", c.k.LinkSet(cctx, c.ns("a"), &state.Link{Name: "t0", Master: "br0", MTU: 1300, MAC: "02:0c:00:00:00:07", Up: true}, []state.LinkAttr{state.AttrMaster, state.AttrMTU, state.AttrMAC, state.AttrUp}))
			c.observe(nil)
			c.do("set nomaster, alias, down", c.k.LinkSet(cctx, c.ns("a"), &state.Link{Name: "t0", Alias: "x"}, []state.LinkAttr{state.AttrMaster, state.AttrAlias, state.AttrUp}))
			c.do("set a multicast mac", c.k.LinkSet(cctx, c.ns("a"), &state.Link{Name: "t0", MAC: "03:0c:00:00:00:07"}, []state.LinkAttr{state.AttrMAC}))
			c.do("set mtu 10", c.k.LinkSet(cctx, c.ns("a"), &state.Link{Name: "t0", MTU: 10}, []state.LinkAttr{state.AttrMTU}))
			c.do("set a missing link", c.k.LinkSet(cctx, c.ns("a"), &state.Link{Name: "nope", Up: true}, []state.LinkAttr{state.AttrUp}))
			c.observe(nil)
		},
		want: `add a: ok
bridge: ok
tap: ok
set master, mtu, mac, up: ok
node a
  br0 bridge mtu 1300 up alias netlab:LAB
  lo loopback mtu 65536 up alias netlab:LAB:a
  t0 tap mtu 1300 up master br0 alias netlab:LAB mac 02:0c:00:00:00:07 owner (none) group (none)
set nomaster, alias, down: ok
set a multicast mac: not found
set mtu 10: invalid
set a missing link: not found
node a
  br0 bridge mtu 1500 up alias netlab:LAB
  lo loopback mtu 65536 up alias netlab:LAB:a
  t0 tap mtu 1300 alias x mac 02:0c:00:00:00:07 owner (none) group (none)
`,
	},
	{
		// Issue 18: a bridge's STP and timers, a port's flags, a link's
		// permanent neighbours (bridge18_linux_test.go in lab/check has
		// the traffic).
		name:    "stp, port flags, neighbours",
		methods: []string{"NeighReplace", "NeighDel"},
		run: func(c *conformance) {
			c.must("add a", c.k.NetNSAdd(cctx, c.lab, "a"))
			c.must("add b", c.k.NetNSAdd(cctx, c.lab, "b"))
			stp := &state.STPSettings{ForwardDelay: 2 * time.Second, HelloTime: time.Second, MaxAge: 6 * time.Second, Priority: 4096}
			c.do("stp bridge", c.k.LinkAdd(cctx, c.ns("a"), c.marked(state.Link{Name: "br0", Kind: "bridge", Up: true, STP: true, STPSettings: stp}, ""), "", nil))
			hairpin := state.DefaultPortFlags
			hairpin.Hairpin = true
			c.do("port with hairpin", c.k.LinkAdd(cctx, c.ns("a"), c.marked(state.Link{Name: "p1", Kind: "veth", Master: "br0", Up: true, BridgePort: &hairpin}, "b:eth0"),
				c.ns("b"), c.marked(state.Link{Name: "eth0", Kind: "veth", Neighbors: []state.Neighbor{{IP: netip.MustParseAddr("10.0.0.2"), MAC: "02:0c:00:00:00:02"}}}, "a:p1")))
			bridgeText(c)
			c.do("neigh replace", c.k.NeighReplace(cctx, c.ns("b"), "eth0", state.Neighbor{IP: netip.MustParseAddr("2001:db8::3"), MAC: "02:0c:00:00:00:03"}))
			c.do("neigh replace, new mac", c.k.NeighReplace(cctx, c.ns("b"), "eth0", state.Neighbor{IP: netip.MustParseAddr("10.0.0.2"), MAC: "02:0c:00:00:00:04"}))
			c.do("neigh del", c.k.NeighDel(cctx, c.ns("b"), "eth0", state.Neighbor{IP: netip.MustParseAddr("2001:db8::3")}))
			c.do("neigh del, gone", c.k.NeighDel(cctx, c.ns("b"), "eth0", state.Neighbor{IP: netip.MustParseAddr("2001:db8::3")}))
			c.do("neigh on a missing link", c.k.NeighReplace(cctx, c.ns("b"), "nope", state.Neighbor{IP: netip.MustParseAddr("10.0.0.9"), MAC: "02:0c:00:00:00:09"}))
			noLearning := state.DefaultPortFlags
			noLearning.Learning = false
			c.do("set port flags", c.k.LinkSet(cctx, c.ns("a"), &state.Link{Name: "p1", BridgePort: &noLearning}, []state.LinkAttr{state.AttrPort}))
			c.do("stp off", c.k.LinkSet(cctx, c.ns("a"), &state.Link{Name: "br0"}, []state.LinkAttr{state.AttrSTP}))
			c.do("set neighbors", c.k.LinkSet(cctx, c.ns("b"), &state.Link{Name: "eth0", Neighbors: []state.Neighbor{{IP: netip.MustParseAddr("10.0.0.5"), MAC: "02:0c:00:00:00:05"}}}, []state.LinkAttr{state.AttrNeighbors}))
			bridgeText(c)
		},
		want: `add a: ok
add b: ok
stp bridge: ok
port with hairpin: ok
a br0 stp true forward-delay 2s hello-time 1s max-age 6s priority 4096
a p1 port hairpin on isolated off learning on flood on mcast-flood on bcast-flood on state disabled
b eth0 neighbors [10.0.0.2 lladdr 02:0c:00:00:00:02]
neigh replace: ok
neigh replace, new mac: ok
neigh del: ok
neigh del, gone: ok
neigh on a missing link: not found
set port flags: ok
stp off: ok
set neighbors: ok
a br0 stp false forward-delay 2s hello-time 1s max-age 6s priority 4096
a p1 port hairpin off isolated off learning off flood on mcast-flood on bcast-flood on state disabled
b eth0 neighbors [10.0.0.5 lladdr 02:0c:00:00:00:05]
`,
	},
	{
		// What every kernel netlab runs on has (veth, bridge and tbf,
		// which the tests need anyway), and netlab's egress qdisc.
		name:    "capabilities and egress",
		methods: []string{"Lacks"},
		run: func(c *conformance) {
			lacks, err := c.k.Lacks(cctx, []kernel.Need{"veth", "bridge", kernel.NeedTBF})
			c.do("lacks veth, bridge, tbf", err)
			fmt.Fprintf(&c.b, "  lacking %d\n", len(lacks))
			c.must("add a", c.k.NetNSAdd(cctx, c.lab, "a"))
			c.must("tap with a rate", c.k.LinkAdd(cctx, c.ns("a"), c.marked(state.Link{Name: "t0", Kind: "tap", Up: true, Egress: state.Impairment{Rate: 10e6}}, ""), "", nil))
			c.observe(nil)
			c.do("set rate 2mbit", c.k.LinkSet(cctx, c.ns("a"), &state.Link{Name: "t0", Egress: state.Impairment{Rate: 2e6}}, []state.LinkAttr{state.AttrEgress}))
			c.observe(nil)
			c.do("set none", c.k.LinkSet(cctx, c.ns("a"), &state.Link{Name: "t0"}, []state.LinkAttr{state.AttrEgress}))
			c.do("set none again", c.k.LinkSet(cctx, c.ns("a"), &state.Link{Name: "t0"}, []state.LinkAttr{state.AttrEgress}))
			c.observe(nil)
		},
		want: `lacks veth, bridge, tbf: ok
  lacking 0
add a: ok
tap with a rate: ok
node a
  lo loopback mtu 65536 up alias netlab:LAB:a
  t0 tap mtu 1500 up alias netlab:LAB egress rate 10mbit owner (none) group (none)
set rate 2mbit: ok
node a
  lo loopback mtu 65536 up alias netlab:LAB:a
  t0 tap mtu 1500 up alias netlab:LAB egress rate 2mbit owner (none) group (none)
set none: ok
set none again: ok
node a
  lo loopback mtu 65536 up alias netlab:LAB:a
  t0 tap mtu 1500 up alias netlab:LAB owner (none) group (none)
`,
	},
	{
		name:    "addresses and routes",
		methods: []string{"AddrAdd", "AddrDel", "RouteReplace", "RouteDel"},
		// The route in the machine's namespace names a device it has not,
		// so that a kernel without the guard changes nothing either.
		run: func(c *conformance) {
			c.must("add a", c.k.NetNSAdd(cctx, c.lab, "a"))
			c.must("add b", c.k.NetNSAdd(cctx, c.lab, "b"))
			c.must("veth", c.k.LinkAdd(cctx, c.ns("a"), c.marked(state.Link{Name: "eth0", Kind: "veth", Up: true}, "b:eth0"),
				c.ns("b"), c.marked(state.Link{Name: "eth0", Kind: "veth", Up: true}, "a:eth0")))
			a := c.ns("a")
			c.do("addr 10.7.0.1/24", c.k.AddrAdd(cctx, a, "eth0", pfx("10.7.0.1/24")))
			c.do("addr 10.7.0.1/24 again", c.k.AddrAdd(cctx, a, "eth0", pfx("10.7.0.1/24")))
			c.do("addr fd07::1/64", c.k.AddrAdd(cctx, a, "eth0", pfx("fd07::1/64")))
			c.do("addr on a missing link", c.k.AddrAdd(cctx, a, "nope", pfx("10.8.0.1/24")))
			c.do("route via 10.7.0.2", c.k.RouteReplace(cctx, a, state.Route{To: pfx("10.9.0.0/16"), Via: ip("10.7.0.2")}))
			c.do("route replaced via 10.7.0.3", c.k.RouteReplace(cctx, a, state.Route{To: pfx("10.9.0.0/16"), Via: ip("10.7.0.3")}))
			c.do("route metric 10 dev eth0", c.k.RouteReplace(cctx, a, state.Route{To: pfx("10.10.0.0/16"), Dev: "eth0", Metric: 10}))
			c.do("route v6 default", c.k.RouteReplace(cctx, a, state.Route{To: pfx("::/0"), Via: ip("fd07::2")}))
			c.do("route via a gateway on no subnet", c.k.RouteReplace(cctx, a, state.Route{To: pfx("10.11.0.0/16"), Via: ip("10.99.0.1")}))
			c.do("route in the machine's namespace", c.k.RouteReplace(cctx, state.HostNetNS, state.Route{To: pfx("203.0.113.0/24"), Dev: "nope"}))
			c.observe(nil)
			c.do("del route 10.10.0.0/16 metric 10", c.k.RouteDel(cctx, a, state.Route{To: pfx("10.10.0.0/16"), Metric: 10}))
			c.do("del it again", c.k.RouteDel(cctx, a, state.Route{To: pfx("10.10.0.0/16"), Metric: 10}))
			c.do("del addr 10.7.0.1/24", c.k.AddrDel(cctx, a, "eth0", pfx("10.7.0.1/24")))
			c.do("del it again", c.k.AddrDel(cctx, a, "eth0", pfx("10.7.0.1/24")))
			c.observe(nil) // the IPv4 route went with the last IPv4 address
			c.do("eth0 down", c.k.LinkSet(cctx, a, &state.Link{Name: "eth0"}, []state.LinkAttr{state.AttrUp}))
			c.observe(nil) // the IPv6 address and route went with up
		},
		want: `add a: ok
add b: ok
veth: ok
addr 10.7.0.1/24: ok
addr 10.7.0.1/24 again: ok
addr fd07::1/64: ok
addr on a missing link: not found
route via 10.7.0.2: ok
route replaced via 10.7.0.3: ok
route metric 10 dev eth0: ok
route v6 default: ok
route via a gateway on no subnet: unreachable
route in the machine's namespace: not permitted
node a
  eth0 veth mtu 1500 up alias netlab:LAB:b:eth0 peer b:eth0 10.7.0.1/24 fd07::1/64
  lo loopback mtu 65536 up alias netlab:LAB:a
  route 10.9.0.0/16 via 10.7.0.3 dev eth0
  route 10.10.0.0/16 dev eth0 metric 10
  route default via fd07::2 dev eth0 metric 1024
node b
  eth0 veth mtu 1500 up alias netlab:LAB:a:eth0 peer a:eth0
  lo loopback mtu 65536 up alias netlab:LAB:b
del route 10.10.0.0/16 metric 10: ok
del it again: ok
del addr 10.7.0.1/24: ok
del it again: ok
node a
  eth0 veth mtu 1500 up alias netlab:LAB:b:eth0 peer b:eth0 fd07::1/64
  lo loopback mtu 65536 up alias netlab:LAB:a
  route default via fd07::2 dev eth0 metric 1024
node b
  eth0 veth mtu 1500 up alias netlab:LAB:a:eth0 peer a:eth0
  lo loopback mtu 65536 up alias netlab:LAB:b
eth0 down: ok
node a
  eth0 veth mtu 1500 alias netlab:LAB:b:eth0 peer b:eth0
  lo loopback mtu 65536 up alias netlab:LAB:a
node b
  eth0 veth mtu 1500 up alias netlab:LAB:a:eth0 peer a:eth0
  lo loopback mtu 65536 up alias netlab:LAB:b
`,
	},
	{
		name:    "sysctls",
		methods: []string{"SysctlSet", "SysctlProblems", "SysctlTry"},
		run: func(c *conformance) {
			c.must("add a", c.k.NetNSAdd(cctx, c.lab, "a"))
			a := c.ns("a")
			c.do("ip_forward 1", c.k.SysctlSet(cctx, a, "net.ipv4.ip_forward", "1"))
			c.do("rp_filter of lo 2", c.k.SysctlSet(cctx, a, "net.ipv4.conf.lo.rp_filter", "02"))
			c.do("a missing key", c.k.SysctlSet(cctx, a, "net.ipv4.nonexistent", "1"))
			c.do("ip_forward x", c.k.SysctlSet(cctx, a, "net.ipv4.ip_forward", "x"))
			// A key no kernel has, so that a kernel without the guard
			// changes nothing either.
			c.do("in the machine's namespace", c.k.SysctlSet(cctx, state.HostNetNS, "net.ipv4.nonexistent", "1"))
			keys := []string{"net.ipv4.ip_forward", "net.ipv4.conf.eth9.forwarding", "net.ipv4.nonexistent", "net.ipv6.conf.default.forwarding", "net.ipv4.route.flush"}
			for _, netns := range []string{a, ""} {
				problems, err := c.k.SysctlProblems(cctx, netns, keys)
				c.do(fmt.Sprintf("problems in %q", strings.ReplaceAll(netns, c.lab, "LAB")), err)
				for _, k := range slices.Sorted(maps.Keys(problems)) {
					fmt.Fprintf(&c.b, "  %s %s\n", k, problems[k])
				}
			}
			trials, err := c.k.SysctlTry(cctx, []kernel.SysctlWrite{
				{Key: "net.ipv4.ip_forward", Value: "01"},
				{Key: "net.ipv4.ip_forward", Value: "x"},
				{Key: "net.ipv4.tcp_rmem", Value: "4096  131072 6291456"},
			})
			c.do("try three values", err)
			for _, tr := range trials {
				fmt.Fprintf(&c.b, "  %q %s\n", tr.ReadBack, outcome(tr.Err))
			}
			want := state.New(c.lab)
			want.Nodes["a"] = state.NewNode("a", a)
			want.Nodes["a"].Sysctls = map[string]string{"net.ipv4.ip_forward": "1", "net.ipv4.conf.lo.rp_filter": "2"}
			c.observe(want)
		},
		want: `add a: ok
ip_forward 1: ok
rp_filter of lo 2: ok
a missing key: not found
ip_forward x: invalid
in the machine's namespace: not permitted
problems in "LAB.a": ok
  net.ipv4.conf.eth9.forwarding does not exist
  net.ipv4.nonexistent does not exist
  net.ipv4.route.flush is write-only (an action, not a setting netlab can read back)
problems in "": ok
  net.ipv4.conf.eth9.forwarding does not exist
  net.ipv4.nonexistent does not exist
  net.ipv4.route.flush is write-only (an action, not a setting netlab can read back)
try three values: ok
  "1" ok
  "" invalid
  "4096\t131072\t6291456" ok
node a
  lo loopback mtu 65536 up alias netlab:LAB:a
  sysctl net.ipv4.conf.lo.rp_filter = 2
  sysctl net.ipv4.ip_forward = 1
`,
	},
	{
		name:    "nftables",
		methods: []string{"NFTableSet"},
		run: func(c *conformance) {
			l := parseLab(c.t, "name: "+c.lab+`
nodes:
  a:
    interfaces:
      eth0: {addresses: [10.7.0.1/24]}
    nat:
      - {action: masquerade, source: 10.7.0.0/24, out: eth0}
      - {action: dnat, in: eth0, proto: tcp, dport: 80, to: "10.7.0.2:8080"}
  b:
    interfaces:
      eth0: {addresses: [10.7.0.2/24]}
links:
  - [a:eth0, b:eth0]
`)
			t := plan.Desired(l).Nodes["a"].NFT
			c.must("add a", c.k.NetNSAdd(cctx, c.lab, "a"))
			c.do("set", c.k.NFTableSet(cctx, c.ns("a"), t))
			c.observe(nil)
			one := &state.NFTable{}
			for _, ch := range t.Chains {
				if ch.Hook == "postrouting" {
					one.Chains = append(one.Chains, ch)
				}
			}
			c.do("replace with the postrouting chain alone", c.k.NFTableSet(cctx, c.ns("a"), one))
			c.observe(nil)
			c.do("delete", c.k.NFTableSet(cctx, c.ns("a"), nil))
			c.do("delete again", c.k.NFTableSet(cctx, c.ns("a"), nil))
			// nil, a delete of a table the machine has none of (netlab
			// never makes one there), so that a kernel without the guard
			// changes nothing either.
			c.do("in the machine's namespace", c.k.NFTableSet(cctx, state.HostNetNS, nil))
			c.observe(nil)
		},
		want: `add a: ok
set: ok
node a
  lo loopback mtu 65536 up alias netlab:LAB:a
  chain nat_prerouting nat hook prerouting priority -100 policy accept: TAG1
  chain nat_output nat hook output priority -100 policy accept: TAG2
  chain nat_postrouting nat hook postrouting priority 100 policy accept: TAG3
replace with the postrouting chain alone: ok
node a
  lo loopback mtu 65536 up alias netlab:LAB:a
  chain nat_postrouting nat hook postrouting priority 100 policy accept: TAG3
delete: ok
delete again: ok
in the machine's namespace: not permitted
node a
  lo loopback mtu 65536 up alias netlab:LAB:a
`,
	},
	{
		// A link between machines: a vxlan made in another namespace (the
		// machine's; here a test's, never the real machine's, whose
		// underlay would carry it off the box) straight into the node.
		name:    "machines",
		methods: []string{"MachineAddrs", "LinkAdd", "Observe"},
		run: func(c *conformance) {
			addrs, err := c.k.MachineAddrs(cctx)
			c.do("machine addresses", err)
			lo := false
			for _, a := range addrs {
				lo = lo || (a.Addr == ip("127.0.0.1") && a.Link == "lo" && a.Up)
			}
			fmt.Fprintf(&c.b, "  127.0.0.1 on lo, up: %v\n", lo)
			c.must("add a", c.k.NetNSAdd(cctx, c.lab, "a"))
			c.must("add m", c.k.NetNSAdd(cctx, c.lab, "m"))
			x := c.marked(state.Link{Name: "eth0", Kind: "vxlan", Up: true, Device: state.Device{VNI: 9000001, Port: 4789,
				Remote: ip("198.51.100.2"), Local: ip("198.51.100.1"), UnderlayNetNS: c.ns("m")}}, "")
			c.do("vxlan made in m into a", c.k.LinkAdd(cctx, c.ns("a"), x, "", nil))
			o, err := c.k.Observe(cctx, c.lab, nil)
			c.do("observe", err)
			if err == nil {
				l := o.Nodes["a"].Links["eth0"]
				fmt.Fprintf(&c.b, "  a:eth0 %s vni %d remote %s local %s underlay %q\n", l.Kind, l.VNI, l.Remote, l.Local, l.UnderlayNetNS)
				fmt.Fprintf(&c.b, "  m has %d link(s)\n", len(o.Nodes["m"].Links))
			}
		},
		want: `machine addresses: ok
  127.0.0.1 on lo, up: true
add a: ok
add m: ok
vxlan made in m into a: ok
observe: ok
  a:eth0 vxlan vni 9000001 remote 198.51.100.2 local 198.51.100.1 underlay ":host"
  m has 1 link(s)
`,
	},
	{
		name:    "host links",
		methods: []string{"HostLinks", "LinkAdd", "LinkDel", "Observe"},
		run: func(c *conformance) {
			c.must("add a", c.k.NetNSAdd(cctx, c.lab, "a"))
			c.must("veth from the machine's namespace", c.k.LinkAdd(cctx, state.HostNetNS, c.marked(state.Link{Name: c.host, Kind: "veth", Up: true}, "a:eth0"),
				c.ns("a"), c.marked(state.Link{Name: "eth0", Kind: "veth", Up: true}, "h:"+c.host)))
			links, err := c.k.HostLinks(cctx, c.lab)
			c.do("host links", err)
			fmt.Fprintf(&c.b, "  %v\n", links)
			want := state.New(c.lab)
			want.Nodes["h"] = state.NewNode("h", state.HostNetNS)
			want.Nodes["h"].Host = true
			want.Nodes["a"] = state.NewNode("a", c.ns("a"))
			c.observe(want)
			c.do("del lo of the machine", c.k.LinkDel(cctx, state.HostNetNS, "lo"))
			c.do("del the host end", c.k.LinkDel(cctx, state.HostNetNS, c.host))
			links, err = c.k.HostLinks(cctx, c.lab)
			c.do("host links", err)
			fmt.Fprintf(&c.b, "  %v\n", links)
			c.observe(want)
		},
		want: `add a: ok
veth from the machine's namespace: ok
host links: ok
  [HOST]
node a
  eth0 veth mtu 1500 up alias netlab:LAB:h:HOST peer h:HOST
  lo loopback mtu 65536 up alias netlab:LAB:a
node h
  HOST veth mtu 1500 up alias netlab:LAB:a:eth0 peer a:eth0
del lo of the machine: foreign
del the host end: ok
host links: ok
  []
node a
  lo loopback mtu 65536 up alias netlab:LAB:a
node h
`,
	},
}

// processCases are the conformance cases of processes and hosts files.
// Their processes are this test binary (helpers, "TESTBIN" in want);
// the fake is told what the real kernel learns by running them: that
// one ignores SIGTERM.
var processCases = []conformanceCase{
	{
		name:    "processes",
		methods: []string{"ProcessStart", "ProcessExited", "Processes", "LabProcesses", "ProcessesStop", "Listening", "Observe"},
		run: func(c *conformance) {
			c.must("add a", c.k.NetNSAdd(cctx, c.lab, "a"))
			if f, ok := c.k.(*kerneltest.Fake); ok {
				f.ProcessBehaviour(func(p *state.Process) kerneltest.FakeRun {
					return kerneltest.FakeRun{IgnoreTERM: p.Name == "stubborn"}
				})
			}
			exe := testExe(c.t)
			srv := declared("srv", []string{"NLTEST=1"}, exe, "nltest-serve", "tcp:8080")
			srv.Ready = &state.Ready{Proto: "tcp", Port: 8080}
			// It listens once it ignores SIGTERM: the wait for its port
			// is the wait for that.
			stubborn := declared("stubborn", nil, exe, "nltest-serve", "ignore-term", "tcp:8081")
			stubborn.Ready = &state.Ready{Proto: "tcp", Port: 8081}
			log := logFile(c.t)
			started := map[string]*state.Process{}
			for _, p := range []*state.Process{srv, stubborn} {
				got, err := c.k.ProcessStart(cctx, c.lab, "a", p, log)
				c.must("start "+p.Name, err)
				started[p.Name] = got
			}
			_, err := c.k.ProcessStart(cctx, c.lab, "b", srv, log)
			c.do("start in a node without a namespace", err)
			c.observe(nil)
			s, err := c.k.Observe(cctx, c.lab, nil)
			c.must("observe", err)
			for _, p := range []*state.Process{srv, stubborn} {
				o := s.Nodes["a"].Procs[p.Name]
				fmt.Fprintf(&c.b, "  %s as started: %v\n", p.Name, o != nil && cmp.Equal(o, started[p.Name]) && o.Hash == p.Hash)
			}
			c.waitListening("a", "tcp", 8080)
			c.waitListening("a", "tcp", 8081)
			for _, l := range []struct {
				proto string
				port  uint16
			}{{"udp", 8080}, {"tcp", 8082}} {
				ok, err := c.k.Listening(cctx, c.ns("a"), l.proto, l.port)
				c.do(fmt.Sprintf("listening %s %d", l.proto, l.port), err)
				fmt.Fprintf(&c.b, "  %v\n", ok)
			}
			procs, err := c.k.Processes(cctx, c.ns("a"))
			c.do("processes", err)
			for _, p := range []*state.Process{srv, stubborn} {
				marked := slices.ContainsFunc(procs, func(i kernel.ProcessInfo) bool {
					return i.Pid == started[p.Name].Pid && i.Start == started[p.Name].Start &&
						i.Marker == state.ProcessMarker(c.lab, "a", p.Name, p.Hash) && slices.Equal(i.Command, p.Argv)
				})
				fmt.Fprintf(&c.b, "  %s listed with its marker: %v\n", p.Name, marked)
			}
			byNS, err := c.k.LabProcesses(cctx, c.lab)
			c.do("processes of the lab", err)
			fmt.Fprintf(&c.b, "  namespaces with processes: %d; a's as listed alone: %v\n", len(byNS), cmp.Equal(byNS[c.ns("a")], procs))
			_, exited := c.k.ProcessExited(started["srv"])
			fmt.Fprintf(&c.b, "srv exited: %v\n", exited)
			_, err = c.k.Processes(cctx, state.HostNetNS)
			c.do("processes of the machine", err)
			_, err = c.k.ProcessesStop(cctx, state.HostNetNS, nil, 0)
			c.do("stop in the machine", err)
			stale := slices.Clone(procs)
			for i := range stale {
				stale[i].Start++
			}
			stopped, err := c.k.ProcessesStop(cctx, c.ns("a"), stale, 0)
			c.do("stop with other start times", err)
			fmt.Fprintf(&c.b, "  stopped %d\n", len(stopped))
			stopped, err = c.k.ProcessesStop(cctx, c.ns("a"), procs, 200*time.Millisecond)
			c.do("stop", err)
			slices.SortFunc(stopped, func(a, b kernel.ProcessInfo) int { return a.Pid - b.Pid })
			for _, name := range []string{"srv", "stubborn"} {
				for _, st := range stopped {
					if st.Pid == started[name].Pid {
						fmt.Fprintf(&c.b, "  stopped %s killed %v\n", name, st.Killed)
					}
				}
				status, ok := c.waitExited(started[name])
				fmt.Fprintf(&c.b, "  %s exited %v with status %d\n", name, ok, status)
			}
			ok, err := c.k.Listening(cctx, c.ns("a"), "tcp", 8080)
			c.do("listening tcp 8080", err)
			fmt.Fprintf(&c.b, "  %v\n", ok)
			c.observe(nil)
		},
		want: `add a: ok
start srv: ok
start stubborn: ok
start in a node without a namespace: not found
node a
  lo loopback mtu 65536 up alias netlab:LAB:a
  process srv ["TESTBIN" "nltest-serve" "tcp:8080"] running true
  process stubborn ["TESTBIN" "nltest-serve" "ignore-term" "tcp:8081"] running true
observe: ok
  srv as started: true
  stubborn as started: true
listening tcp 8080: ok
  true
listening tcp 8081: ok
  true
listening udp 8080: ok
  false
listening tcp 8082: ok
  false
processes: ok
  srv listed with its marker: true
  stubborn listed with its marker: true
processes of the lab: ok
  namespaces with processes: 1; a's as listed alone: true
srv exited: false
processes of the machine: not permitted
stop in the machine: not permitted
stop with other start times: ok
  stopped 0
stop: ok
  stopped srv killed false
  srv exited true with status 143
  stopped stubborn killed true
  stubborn exited true with status 137
listening tcp 8080: ok
  false
node a
  lo loopback mtu 65536 up alias netlab:LAB:a
`,
	},
	{
		name:    "hosts files",
		methods: []string{"HostsSet", "HostsFiles", "Observe"},
		run: func(c *conformance) {
			c.must("add a", c.k.NetNSAdd(cctx, c.lab, "a"))
			c.must("add b", c.k.NetNSAdd(cctx, c.lab, "b"))
			v1 := state.HostsHeader + "test\n127.0.0.1 localhost\n10.0.0.2 b\n"
			v2 := state.HostsHeader + "test\n127.0.0.1 localhost\n"
			c.do("set a", c.k.HostsSet(cctx, c.ns("a"), v1))
			c.observe(nil)              // a display: whose the file is, not its content
			c.observe(state.New(c.lab)) // a plan's read: the content
			c.do("set a again", c.k.HostsSet(cctx, c.ns("a"), v2))
			c.hostsFiles()
			c.plantHosts(c.ns("b"), "10.9.9.9 mine\n")
			c.do("set b over a file of someone else's", c.k.HostsSet(cctx, c.ns("b"), v1))
			c.do("remove b", c.k.HostsSet(cctx, c.ns("b"), ""))
			c.do("set without the header", c.k.HostsSet(cctx, c.ns("a"), "127.0.0.1 localhost\n"))
			c.do("set in the machine's namespace", c.k.HostsSet(cctx, state.HostNetNS, v1))
			c.observe(state.New(c.lab))
			c.observe(nil)
			c.must("del a", c.k.NetNSDel(cctx, c.ns("a")))
			c.hostsFiles()
			c.do("remove a", c.k.HostsSet(cctx, c.ns("a"), ""))
			c.do("remove a again", c.k.HostsSet(cctx, c.ns("a"), ""))
			c.hostsFiles()
		},
		want: `add a: ok
add b: ok
set a: ok
node a
  lo loopback mtu 65536 up alias netlab:LAB:a
  hosts foreign false: ""
node b
  lo loopback mtu 65536 up alias netlab:LAB:b
node a
  lo loopback mtu 65536 up alias netlab:LAB:a
  hosts foreign false: "# netlab: test\n127.0.0.1 localhost\n10.0.0.2 b\n"
node b
  lo loopback mtu 65536 up alias netlab:LAB:b
set a again: ok
hosts files: ok
  [LAB.a]
set b over a file of someone else's: foreign
remove b: foreign
set without the header: invalid
set in the machine's namespace: not permitted
node a
  lo loopback mtu 65536 up alias netlab:LAB:a
  hosts foreign false: "# netlab: test\n127.0.0.1 localhost\n"
node b
  lo loopback mtu 65536 up alias netlab:LAB:b
  hosts foreign true: ""
node a
  lo loopback mtu 65536 up alias netlab:LAB:a
  hosts foreign false: ""
node b
  lo loopback mtu 65536 up alias netlab:LAB:b
  hosts foreign true: ""
del a: ok
hosts files: ok
  [LAB.a]
remove a: ok
remove a again: ok
hosts files: ok
  []
`,
	},
}

// hostsFiles writes what HostsFiles lists.
func (c *conformance) hostsFiles() {
	files, err := c.k.HostsFiles(cctx, c.lab)
	c.do("hosts files", err)
	fmt.Fprintf(&c.b, "  %v\n", files)
}

// waitListening writes whether a port of the node is listened on,
// waiting up to 5 s for it (a real server needs a moment after its
// exec).
func (c *conformance) waitListening(node, proto string, port uint16) {
	var ok bool
	var err error
	for range 500 {
		if ok, err = c.k.Listening(cctx, c.ns(node), proto, port); ok || err != nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.do(fmt.Sprintf("listening %s %d", proto, port), err)
	fmt.Fprintf(&c.b, "  %v\n", ok)
}

// waitExited waits up to 2 s for ProcessExited to know of an end.
func (c *conformance) waitExited(p *state.Process) (int, bool) {
	for range 200 {
		if status, ok := c.k.ProcessExited(p); ok {
			return status, ok
		}
		time.Sleep(10 * time.Millisecond)
	}
	return 0, false
}

// testExe is this test binary, which the cases run as their processes.
func testExe(t *testing.T) string {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

// TestConformance runs every case on the fake and, as root, on the real
// kernel.
func TestConformance(t *testing.T) {
	for _, cc := range slices.Concat(conformanceCases, processCases) {
		t.Run(strings.ReplaceAll(cc.name, " ", "_"), func(t *testing.T) {
			t.Run("fake", func(t *testing.T) {
				t.Parallel()
				runConformance(t, kerneltest.NewFake(), "", cc)
			})
			t.Run("linux", func(t *testing.T) {
				kerneltest.RequireRoot(t)
				t.Parallel()
				etc := filepath.Join(t.TempDir(), "netns")
				runConformance(t, kernel.NewLinux(kernel.WithEtcNetNSDir(etc)), etc, cc)
			})
		})
	}
}

func runConformance(t *testing.T, k kernel.Kernel, etcDir string, cc conformanceCase) {
	c := &conformance{t: t, k: k, lab: kerneltest.LabName(t), etcDir: etcDir}
	c.host = "nlh" + strings.TrimPrefix(c.lab, kerneltest.Prefix)
	closed := false
	t.Cleanup(func() {
		if !closed {
			k.Close()
		}
	})
	cc.run(c)
	closed = true
	c.do("close", k.Close())
	got := strings.NewReplacer(c.lab, "LAB", c.host, "HOST", testExe(t), "TESTBIN").Replace(c.b.String())
	got = tagsNumbered(got)
	if diff := cmp.Diff(cc.want+"close: ok\n", got); diff != "" {
		t.Errorf("case %q (-want +got):\n%s", cc.name, diff)
	}
}

// tagsNumbered writes nftables rule tags, which hash a rule's text and
// the lab's name, as TAG1, TAG2, ... in the order they first appear.
func tagsNumbered(s string) string {
	var tags []string
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if head, rules, ok := strings.Cut(line, ": "); ok && strings.HasPrefix(strings.TrimSpace(head), "chain ") {
			var ts []string
			for _, tag := range strings.Fields(rules) {
				i := slices.Index(tags, tag)
				if i < 0 {
					tags = append(tags, tag)
					i = len(tags) - 1
				}
				ts = append(ts, fmt.Sprintf("TAG%d", i+1))
			}
			line = head + ": " + strings.Join(ts, " ")
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

// TestConformanceCoversKernel fails when a method of kernel.Kernel has no
// case in the suite, or a case names a method that is not one.
func TestConformanceCoversKernel(t *testing.T) {
	iface := reflect.TypeFor[kernel.Kernel]()
	covered := make(map[string]bool)
	for _, cc := range slices.Concat(conformanceCases, processCases) {
		for _, m := range cc.methods {
			if _, ok := iface.MethodByName(m); !ok {
				t.Errorf("case %q names %s, which is not a method of kernel.Kernel", cc.name, m)
			}
			covered[m] = true
		}
	}
	for i := range iface.NumMethod() {
		if m := iface.Method(i).Name; !covered[m] {
			t.Errorf("kernel.Kernel.%s has no conformance case: add one to conformanceCases", m)
		}
	}
}

// bridgeText writes what issue 18 observes: each bridge's STP, each
// port's flags and STP state, each link's marked neighbours.
func bridgeText(c *conformance) {
	s, err := c.k.Observe(cctx, c.lab, nil)
	if err != nil {
		c.t.Fatalf("observe: %v", err)
	}
	for _, name := range s.NodeNames() {
		n := s.Nodes[name]
		for _, ln := range n.LinkNames() {
			l := n.Links[ln]
			if l.STPSettings != nil {
				fmt.Fprintf(&c.b, "%s %s stp %v %s\n", name, ln, l.STP, l.STPSettings)
			}
			if l.BridgePort != nil {
				fmt.Fprintf(&c.b, "%s %s port %s state %s\n", name, ln, l.BridgePort, l.PortState)
			}
			if len(l.Neighbors) > 0 {
				fmt.Fprintf(&c.b, "%s %s neighbors %v\n", name, ln, l.Neighbors)
			}
		}
	}
}
