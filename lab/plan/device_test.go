package plan_test

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"netlab/lab/plan"
	"netlab/lab/state"
)

const deviceLab = `name: d
nodes:
  h:
    host: true
    interfaces:
      hbr0: {kind: bridge}
  a:
    interfaces:
      eth0: {mtu: 9000}
      vx0: {kind: vxlan, vxlan: {vni: 42, remote: 192.0.2.2, dev: eth0, learning: false, fdb: [{mac: "00:00:00:00:00:00", dst: 192.0.2.3}, {mac: "00:00:00:00:00:00", dst: 192.0.2.2}]}}
      tap0: {kind: tap, tap: {owner: 1000}}
      mv1: {kind: macvlan, macvlan: {parent: eth0, mode: source, source-macs: ["02:00:00:00:00:02", "02:00:00:00:00:01"]}}
  b:
    interfaces:
      eth0: {}
      mv0: {kind: macvlan, macvlan: {parent: a:eth0}}
      mv2: {kind: macvlan, macvlan: {parent: h:hbr0, mode: private}}
links:
  - [a:eth0, b:eth0]
`

// TestDeviceCmds pins the ip and bridge commands of each new device, from
// an empty kernel: a macvlan made on a parent of another node (or of the
// host) straight into its own, a vxlan with its MTU and fdb entries (not
// the kernel's own for its remote), a tap with its owner, and a host
// node's links without -n.
func TestDeviceCmds(t *testing.T) {
	p := plan.Diff(desired(t, deviceLab), nil, plan.Options{})
	var got []string
	for _, c := range p.Changes {
		if c.Object == plan.Link && c.Action == plan.Create {
			got = append(got, c.Cmds()...)
		}
	}
	want := []string{
		"ip link add hbr0 type bridge stp_state 0",
		"ip link set hbr0 alias netlab:d up",
		"ip -n d.a link add eth0 type veth peer name eth0 netns d.b",
		"ip -n d.a link set eth0 alias netlab:d:b:eth0 mtu 9000 up",
		"ip -n d.b link set eth0 alias netlab:d:a:eth0 mtu 9000 up",
		"ip -n d.a tuntap add dev tap0 mode tap user 1000",
		"ip -n d.a link set tap0 alias netlab:d up",
		"ip -n d.a link add mv1 link eth0 type macvlan mode source",
		"ip -n d.a link set mv1 type macvlan macaddr set 02:00:00:00:00:01 02:00:00:00:00:02",
		"ip -n d.a link set mv1 alias netlab:d:a:eth0 up",
		"ip -n d.a link add vx0 type vxlan id 42 remote 192.0.2.2 dev eth0 dstport 4789 nolearning",
		"bridge -n d.a fdb append 00:00:00:00:00:00 dev vx0 dst 192.0.2.3",
		"ip -n d.a link set vx0 alias netlab:d mtu 8950 up",
		"ip -n d.a link add mv0 link eth0 netns d.b type macvlan mode bridge",
		"ip -n d.b link set mv0 alias netlab:d:a:eth0 up",
		"ip link add mv2 link hbr0 netns d.b type macvlan mode private",
		"ip -n d.b link set mv2 alias netlab:d:h:hbr0 up",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("commands (-want +got):\n%s", diff)
	}
	for _, c := range p.Changes {
		if c.Node == "h" && c.Object == plan.NetNS {
			t.Errorf("a host node's namespace is planned: %s", c.Line())
		}
	}
}

// TestDeviceDiff: settings fixed at creation are replacements with a
// reason; fdb entries and source MACs change in place, with the commands
// that add and remove only the difference.
func TestDeviceDiff(t *testing.T) {
	// built models namespace nodes only: leave the host node out.
	text := strings.Replace(deviceLab, "  h:\n    host: true\n    interfaces:\n      hbr0: {kind: bridge}\n", "", 1)
	text = strings.Replace(text, "      mv2: {kind: macvlan, macvlan: {parent: h:hbr0, mode: private}}\n", "", 1)
	want := desired(t, text)
	for _, tc := range []struct {
		name   string
		change func(o *state.State)
		want   []string
	}{
		{"vni", func(o *state.State) { o.Nodes["a"].Links["vx0"].VNI = 7 },
			[]string{"-/+ a: link vx0 [vni 7 -> 42 cannot change in place]"}},
		{"port and learning", func(o *state.State) { l := o.Nodes["a"].Links["vx0"]; l.Port, l.Learning = 8472, true },
			[]string{"-/+ a: link vx0 [port 8472 -> 4789, learning true -> false cannot change in place]"}},
		{"macvlan mode", func(o *state.State) { o.Nodes["b"].Links["mv0"].Mode = "private" },
			[]string{"-/+ b: link mv0 [mode private -> bridge cannot change in place]"}},
		{"macvlan parent lost", func(o *state.State) { o.Nodes["b"].Links["mv0"].Parent = "" },
			[]string{"-/+ b: link mv0 [parent (none) -> a:eth0 cannot change in place]"}},
		{"tap owner", func(o *state.State) { root := uint32(0); o.Nodes["a"].Links["tap0"].TunOwner = &root },
			[]string{"-/+ a: link tap0 [owner 0 -> 1000 cannot change in place]"}},
		{"tap owner unset", func(o *state.State) { o.Nodes["a"].Links["tap0"].TunOwner = nil },
			[]string{"-/+ a: link tap0 [owner (none) -> 1000 cannot change in place]"}},
		{"fdb", func(o *state.State) {
			o.Nodes["a"].Links["vx0"].FDB = []state.FDBEntry{{MAC: "02:00:00:00:00:09", Dst: netip.MustParseAddr("192.0.2.9")}}
		}, []string{"~ a: link vx0: fdb [02:00:00:00:00:09 dst 192.0.2.9] -> [00:00:00:00:00:00 dst 192.0.2.2, 00:00:00:00:00:00 dst 192.0.2.3]"}},
		{"source macs", func(o *state.State) { o.Nodes["a"].Links["mv1"].SourceMACs = []string{"02:00:00:00:00:01"} },
			[]string{"~ a: link mv1: source-macs 02:00:00:00:00:01 -> 02:00:00:00:00:01 02:00:00:00:00:02"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := built(want)
			tc.change(o)
			p := plan.Diff(want, o, plan.Options{})
			var got []string
			for _, c := range p.Changes {
				if c.Action == plan.Create && c.Replacing() || c.Object == plan.Addr {
					continue
				}
				line := c.Action.Symbol() + " " + c.Node + ": " + c.Describe()
				if c.Action == plan.Replace {
					line += " [" + c.Reason + "]"
				}
				got = append(got, line)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
			if tc.name == "fdb" {
				cmds := p.Changes[0].Cmds()
				wantCmds := []string{
					"bridge -n d.a fdb del 02:00:00:00:00:09 dev vx0 dst 192.0.2.9",
					"bridge -n d.a fdb append 00:00:00:00:00:00 dev vx0 dst 192.0.2.2 via eth0",
					"bridge -n d.a fdb append 00:00:00:00:00:00 dev vx0 dst 192.0.2.3",
				}
				if !slices.Equal(cmds, wantCmds) {
					t.Errorf("fdb commands %q, want %q", cmds, wantCmds)
				}
			}
		})
	}
}

// TestTunOwnerZero: owner 0 and group 0 are root, owners like any other,
// set at creation and told apart from a tap that has none.
func TestTunOwnerZero(t *testing.T) {
	want := desired(t, `name: d
nodes:
  a:
    interfaces:
      tap0: {kind: tap, tap: {owner: 0, group: 0}}
      tap1: {kind: tap}
`)
	var cmds []string
	for _, c := range plan.Diff(want, nil, plan.Options{}).Changes {
		if c.Object == plan.Link {
			cmds = append(cmds, c.Cmds()...)
		}
	}
	wantCmds := []string{
		"ip -n d.a tuntap add dev tap0 mode tap user 0 group 0",
		"ip -n d.a link set tap0 alias netlab:d up",
		"ip -n d.a tuntap add dev tap1 mode tap",
		"ip -n d.a link set tap1 alias netlab:d up",
	}
	if diff := cmp.Diff(wantCmds, cmds); diff != "" {
		t.Errorf("commands (-want +got):\n%s", diff)
	}
	o := built(want)
	if p := plan.Diff(want, o, plan.Options{}); !p.Empty() {
		t.Errorf("plan against the lab as built is not empty: %v", p.Changes[0].Describe())
	}
	o.Nodes["a"].Links["tap0"].TunOwner, o.Nodes["a"].Links["tap0"].TunGroup = nil, nil
	p := plan.Diff(want, o, plan.Options{})
	var got []string
	for _, c := range p.Changes {
		if c.Action == plan.Replace {
			got = append(got, c.Name+": "+c.Reason)
		}
	}
	if diff := cmp.Diff([]string{"tap0: owner (none) -> 0, group (none) -> 0 cannot change in place"}, got); diff != "" {
		t.Errorf("replacements of a tap without owner (-want +got):\n%s", diff)
	}
}

// TestKernelFDBDrift: the entry the kernel makes for a vxlan's remote is
// netlab's; deleted by hand, it is drift, put back over the vxlan's dev.
func TestKernelFDBDrift(t *testing.T) {
	want := desired(t, `name: d
nodes:
  a:
    interfaces:
      eth0: {addresses: [192.0.2.1/24]}
      vx0: {kind: vxlan, vxlan: {vni: 42, remote: 192.0.2.2, dev: eth0}}
      vx1: {kind: vxlan, vxlan: {vni: 43, remote: 192.0.2.2}}
  b:
    interfaces:
      eth0: {addresses: [192.0.2.2/24]}
links:
  - [a:eth0, b:eth0]
`)
	o := built(want)
	if p := plan.Diff(want, o, plan.Options{LastApplied: want}); !p.Empty() {
		t.Fatalf("plan against the lab as built: %s", p.Changes[0].Describe())
	}
	o.Nodes["a"].Links["vx0"].FDB = nil
	o.Nodes["a"].Links["vx1"].FDB = nil
	var got []string
	for _, c := range plan.Diff(want, o, plan.Options{LastApplied: want}).Changes {
		line := c.Action.Symbol() + " " + c.Node + ": " + c.Describe()
		if c.Drift {
			line += " (drift)"
		}
		got = append(got, line)
		got = append(got, c.Cmds()...)
	}
	wantLines := []string{
		"~ a: link vx0: fdb (none) -> [00:00:00:00:00:00 dst 192.0.2.2] (drift)",
		"bridge -n d.a fdb append 00:00:00:00:00:00 dev vx0 dst 192.0.2.2 via eth0",
		"~ a: link vx1: fdb (none) -> [00:00:00:00:00:00 dst 192.0.2.2] (drift)",
		"bridge -n d.a fdb append 00:00:00:00:00:00 dev vx1 dst 192.0.2.2",
	}
	if diff := cmp.Diff(wantLines, got); diff != "" {
		t.Errorf("plan after the kernel's fdb entries were deleted (-want +got):\n%s", diff)
	}
}

// TestDefaultMTU: a link the file gives no MTU has the kernel's default
// for its kind, which the plan expects: a macvlan its parent's, a vxlan
// with dev the dev's minus 50 over IPv4 and 70 over IPv6, a bridge the
// smallest of its ports', lo 65536, the rest 1500.
func TestDefaultMTU(t *testing.T) {
	want := desired(t, `name: d
nodes:
  a:
    interfaces:
      lo: {}
      eth0: {addresses: [192.0.2.1/24, "fd00::1/64"]}
      eth1: {mtu: 9000}
      v4: {kind: vxlan, vxlan: {vni: 1, remote: 192.0.2.2, dev: eth0}}
      v6: {kind: vxlan, vxlan: {vni: 2, remote: "fd00::2", dev: eth0}}
      v6big: {kind: vxlan, vxlan: {vni: 3, local: "fd00::1", group: "ff05::1", dev: eth1}}
      vnodev: {kind: vxlan, vxlan: {vni: 4, remote: 192.0.2.2}}
      mv0: {kind: macvlan, macvlan: {parent: eth1}}
      br0: {kind: bridge}
      br1: {kind: bridge}
      p1: {master: br1, mtu: 1400}
      p2: {master: br1}
      v6port: {kind: vxlan, master: br0, vxlan: {vni: 5, remote: "fd00::2", dev: eth1}}
      tap0: {kind: tap}
  b:
    interfaces:
      eth0: {addresses: [192.0.2.2/24, "fd00::2/64"]}
      eth1: {}
      p1: {}
      p2: {}
links:
  - [a:eth0, b:eth0]
  - [a:eth1, b:eth1]
  - [a:p1, b:p1]
  - [a:p2, b:p2]
`)
	got := map[string]int{}
	for name, l := range want.Nodes["a"].Links {
		got[name] = l.WantMTU()
	}
	wantMTU := map[string]int{
		"lo": 65536, "eth0": 1500, "eth1": 9000, "v4": 1450, "v6": 1430, "v6big": 8930, "vnodev": 1500,
		"mv0": 9000, "br0": 8930, "br1": 1400, "p1": 1400, "p2": 1500, "v6port": 8930, "tap0": 1500,
	}
	if diff := cmp.Diff(wantMTU, got); diff != "" {
		t.Errorf("MTUs (-want +got):\n%s", diff)
	}
	// Only a vxlan on a dev has its MTU sent; the others are the
	// kernel's to choose.
	for name, l := range want.Nodes["a"].Links {
		if sent := l.MTU != 0; sent != (name == "eth1" || strings.HasPrefix(name, "v") && name != "vnodev" || name == "p1") {
			t.Errorf("link %s: MTU %d is sent, DefaultMTU %d", name, l.MTU, l.DefaultMTU)
		}
	}
}
