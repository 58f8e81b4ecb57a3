package apply_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"netlab/lab/apply"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/plan"
	"netlab/lab/reconcile"
	"netlab/lab/state"
	"netlab/topologies"
)

// TestDevicesOnFake applies the shipped macvlan and vxlan labs to the fake
// kernel: the kernel then holds what the plan's commands build, a second
// up writes nothing, and the kernel's deleting a macvlan or vxlan along
// with its lower device is repaired by the next up.
func TestDevicesOnFake(t *testing.T) {
	for _, tc := range []struct {
		file, lower, upper string // lower is NODE:IFNAME, upper NODE:IFNAME on it
	}{
		{"macvlan.yaml", "host:eth0", "c1:mv0"},
		{"vxlan-overlay.yaml", "host2:eth0", "host2:vx0"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data, err := topologies.Read(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			l := mustLab(t, tc.file, data)
			k := kerneltest.NewFake()
			p := upFake(t, k, l, plan.Options{})
			if diff := cmp.Diff(planCmds(p), k.String()); diff != "" {
				t.Errorf("transcript after up differs from the plan's commands (-plan +kernel):\n%s", diff)
			}
			before := k.Writes()
			if again := upFake(t, k, l, plan.Options{}); !again.Empty() {
				t.Errorf("second plan has %d changes", len(again.Changes))
			}
			if n := k.Writes() - before; n != 0 {
				t.Errorf("second up made %d writes, want 0", n)
			}

			// The lower device is deleted by hand: the kernel takes the
			// device on it along, and up makes both again.
			node, name, _ := strings.Cut(tc.lower, ":")
			if err := k.LinkDel(context.Background(), l.Name+"."+node, name); err != nil {
				t.Fatal(err)
			}
			unode, uname, _ := strings.Cut(tc.upper, ":")
			s, err := k.Observe(context.Background(), l.Name, nil)
			if err != nil {
				t.Fatal(err)
			}
			if s.Nodes[unode].Links[uname] != nil {
				t.Fatalf("%s outlived its lower device %s", tc.upper, tc.lower)
			}
			upFake(t, k, l, plan.Options{})
		})
	}
}

// TestDeviceReplacedOnFake changes a VNI and a macvlan's mode in the file:
// each is planned as a replacement and done as one.
func TestDeviceReplacedOnFake(t *testing.T) {
	for _, tc := range []struct {
		file, from, to, want string
	}{
		{"vxlan-overlay.yaml", "vni: 42, remote: 192.0.2.2", "vni: 7, remote: 192.0.2.2", "-/+ link vx0 [vni 42 -> 7 cannot change in place]"},
		{"macvlan.yaml", "macvlan: {parent: host:eth0, mode: bridge}\n        addresses: [198.51.100.21/24]", "macvlan: {parent: host:eth0, mode: private}\n        addresses: [198.51.100.21/24]", "-/+ link mv0 [mode bridge -> private cannot change in place]"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data, err := topologies.Read(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			k := kerneltest.NewFake()
			upFake(t, k, mustLab(t, tc.file, data), plan.Options{})
			edited := strings.Replace(string(data), tc.from, tc.to, 1)
			if edited == string(data) {
				t.Fatalf("edit %q not found", tc.from)
			}
			l2 := mustLab(t, tc.file, []byte(edited))
			p := upFake(t, k, l2, plan.Options{})
			var b strings.Builder
			p.WriteText(&b)
			if !strings.Contains(b.String(), tc.want) {
				t.Errorf("plan does not say %q:\n%s", tc.want, b.String())
			}
			if p := upFake(t, k, l2, plan.Options{}); !p.Empty() {
				t.Errorf("plan after the replacement has %d changes", len(p.Changes))
			}
		})
	}
}

// TestDeviceDriftOnFake changes devices by hand, as ip(8) and bridge(8)
// would: a macvlan's mode (replaced), a vxlan's fdb entry and a source
// macvlan's senders (changed in place), and up repairs each.
func TestDeviceDriftOnFake(t *testing.T) {
	for _, tc := range []struct {
		name, lab, hand, want string
	}{
		{"macvlan mode", "macvlan.yaml", "ip -n macvlan.c1 link set mv0 type macvlan mode private",
			"-/+ link mv0 [mode private -> bridge cannot change in place]"},
		{"fdb entry", "vxlan-overlay.yaml", "bridge -n vxlan.host2 fdb del 00:00:00:00:00:00 dev vx0 dst 192.0.2.3",
			"~ link vx0: fdb [00:00:00:00:00:00 dst 192.0.2.1] -> [00:00:00:00:00:00 dst 192.0.2.1, 00:00:00:00:00:00 dst 192.0.2.3]"},
		{"kernel's fdb entry", "vxlan-overlay.yaml", "bridge -n vxlan.host1 fdb del 00:00:00:00:00:00 dev vx0 dst 192.0.2.2 via eth0",
			"~ link vx0: fdb (none) -> [00:00:00:00:00:00 dst 192.0.2.2]"},
		{"mtu the file does not give", "vxlan-overlay.yaml", "ip -n vxlan.host1 link set veth1 mtu 1400",
			"~ link veth1: mtu 1400 -> 1500"},
		{"vxlan mtu", "vxlan-overlay.yaml", "ip -n vxlan.host1 link set vx0 mtu 1400",
			"~ link vx0: mtu 1400 -> 1450"},
		{"source macs", "", "ip -n hosted.c link set mv0 type macvlan macaddr set 02:00:00:00:00:0c",
			"~ link mv0: source-macs 02:00:00:00:00:0c -> 02:00:00:00:00:0a 02:00:00:00:00:0b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte(hostedLab)
			if tc.lab != "" {
				data = mustRead(tc.lab)
			}
			l := mustLab(t, tc.name, data)
			k := kerneltest.NewFake()
			upFake(t, k, l, plan.Options{})
			k.MustSeed(t, tc.hand)
			p := upFake(t, k, l, plan.Options{LastApplied: plan.Desired(l)})
			var b strings.Builder
			p.WriteText(&b)
			if !strings.Contains(b.String(), tc.want) || !strings.Contains(b.String(), "outside netlab") {
				t.Errorf("plan does not say %q as drift:\n%s", tc.want, b.String())
			}
			if again := upFake(t, k, l, plan.Options{}); !again.Empty() {
				t.Errorf("plan after the repair has %d changes", len(again.Changes))
			}
		})
	}
}

// TestHostNodeOnFake: in a host node, a link of the machine's with a
// declared name is a conflict even with prune, the machine's other links
// are neither the lab's nor unmanaged, and LinkDel refuses them.
func TestHostNodeOnFake(t *testing.T) {
	l := mustLab(t, "hosted", []byte(hostedLab))
	k := kerneltest.NewFake()
	k.MustSeed(t, "ip link add hbr0 type bridge", "ip link add docker0 type bridge")
	p := planFake(t, k, l, reconcile.Options{Prune: true})
	if len(p.Conflicts) != 1 || p.Conflicts[0].Name != "hbr0" || len(p.Unmanaged) != 0 {
		t.Errorf("conflicts %v, unmanaged %d; want hbr0 alone, none", p.Conflicts, len(p.Unmanaged))
	}
	for _, c := range p.Changes {
		if c.Node == "h" && c.Action != plan.Create {
			t.Errorf("plan changes the machine: %s", c.Line())
		}
	}
	if err := k.LinkDel(context.Background(), state.HostNetNS, "docker0"); err == nil {
		t.Error("LinkDel of the machine's docker0 succeeded")
	}

	// Without the conflict, up builds the host links, and DownHost
	// removes exactly them.
	k2 := kerneltest.NewFake()
	k2.MustSeed(t, "ip link add docker0 type bridge")
	upFake(t, k2, l, plan.Options{})
	if _, err := apply.Down(context.Background(), k2, l.Name, nil); err != nil {
		t.Fatal(err)
	}
	deleted, err := apply.DownHost(context.Background(), k2, l.Name)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(deleted, " "); got != "hbr0 htap0" {
		t.Errorf("DownHost deleted %q, want hbr0 htap0 (hv0 went with c)", got)
	}
	if got := k2.String(); got != "" {
		t.Errorf("after down the transcript is not empty:\n%s", got)
	}
	if names, _ := k2.HostLinks(context.Background(), l.Name); len(names) != 0 {
		t.Errorf("host links left: %q", names)
	}
}

// TestLowerReplacedOnFake re-wires the veth a macvlan and a vxlan sit on:
// the kernel deletes them along with the old veth, so the plan replaces
// them too, after the new veth, and up converges.
func TestLowerReplacedOnFake(t *testing.T) {
	for _, tc := range []struct {
		file, from, to, nodes, want string
	}{
		{"macvlan.yaml", "  - [host:eth0, router:eth0]\n", "  - [host:eth0, sw:eth0]\n  - [router:eth0, sw:eth1]\n", "  sw: {interfaces: {eth0: {}, eth1: {}}}\n",
			"-/+ link mv0 [its lower device host:eth0 is replaced, and the kernel deletes it along]"},
		{"vxlan-overlay.yaml", "  - [host1:eth0, host2:eth0]\n", "  - [host1:eth0, r:eth0]\n  - [host2:eth0, r:eth1]\n", "  r: {interfaces: {eth0: {}, eth1: {}}}\n",
			"-/+ link vx0 [its lower device host1:eth0 is replaced, and the kernel deletes it along]"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data := string(mustRead(tc.file))
			k := kerneltest.NewFake()
			first := mustLab(t, tc.file, []byte(data))
			upFake(t, k, first, plan.Options{})
			edited := strings.Replace(data, tc.from, tc.to, 1)
			edited = strings.Replace(edited, "links:\n", tc.nodes+"links:\n", 1)
			p := upFake(t, k, mustLab(t, tc.file, []byte(edited)), plan.Options{LastApplied: plan.Desired(first)})
			var b strings.Builder
			p.WriteText(&b)
			if !strings.Contains(b.String(), tc.want) {
				t.Errorf("plan does not say %q:\n%s", tc.want, b.String())
			}
			// An edit of the file, not drift: the devices replaced along
			// with their lower device are labelled as their cause is.
			for _, c := range p.Changes {
				if c.Drift {
					t.Errorf("labelled drift: %s", c.Line())
				}
			}
		})
	}
}

// TestVXLANIPv6OnFake: over an IPv6 underlay the kernel caps a vxlan's MTU
// at the underlay's minus 70; netlab asks for that, so the lab converges
// at once and a second up writes nothing.
func TestVXLANIPv6OnFake(t *testing.T) {
	l := mustLab(t, "vx6", []byte(`name: vx6
nodes:
  h1:
    interfaces:
      under: {addresses: ["fd00:70::1/64"], mtu: 9000}
      vx0: {kind: vxlan, vxlan: {vni: 70, remote: "fd00:70::2", dev: under}}
  h2:
    interfaces:
      under: {addresses: ["fd00:70::2/64"]}
      vx0: {kind: vxlan, vxlan: {vni: 70, remote: "fd00:70::1", dev: under}}
links:
  - [h1:under, h2:under]
`))
	k := kerneltest.NewFake()
	upFake(t, k, l, plan.Options{})
	before := k.Writes()
	if again := upFake(t, k, l, plan.Options{}); !again.Empty() || k.Writes() != before {
		t.Errorf("second up: %d changes, %d writes", len(again.Changes), k.Writes()-before)
	}
	if got := k.String(); !strings.Contains(got, "ip -n vx6.h1 link set vx0 alias netlab:vx6 mtu 8930 up") {
		t.Errorf("transcript lacks vx0's MTU 9000-70:\n%s", got)
	}
}

// TestLowerMTURaisedOnFake: when the file raises a parent's MTU, the
// macvlans on it (in a node that sorts first, and one made in the same
// up) follow it; the kernel refuses a macvlan above its parent, so the
// parent must change first.
func TestLowerMTURaisedOnFake(t *testing.T) {
	const text = `name: mtu
nodes:
  h:
    interfaces:
      eth0: {}
  b:
    interfaces:
      mv0: {kind: macvlan, macvlan: {parent: h:eth0}}
  x: {}
links:
  - LINK
`
	k := kerneltest.NewFake()
	upFake(t, k, mustLab(t, "mtu", []byte(strings.Replace(text, "LINK", "[h:eth0, x:eth0]", 1))), plan.Options{})
	raised := strings.Replace(text, "LINK", "{endpoints: [h:eth0, x:eth0], mtu: 9000}", 1)
	raised = strings.Replace(raised, "  x: {}\n", "  x: {}\n  c:\n    interfaces:\n      mv1: {kind: macvlan, macvlan: {parent: h:eth0}}\n", 1)
	l := mustLab(t, "raised", []byte(raised))
	p := upFake(t, k, l, plan.Options{})
	var got []string
	for _, c := range p.Changes {
		got = append(got, c.Action.Symbol()+" "+c.Node+" "+c.Describe())
	}
	want := []string{
		"+ c netns mtu.c",
		"~ h link eth0: mtu 1500 -> 9000",
		"~ x link eth0: mtu 1500 -> 9000",
		"+ c link mv1 (macvlan)",
		"~ b link mv0: mtu 1500 -> 9000",
		"+ c hosts c", // the new node's; no address changed, so no other's
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}
	if again := upFake(t, k, l, plan.Options{}); !again.Empty() {
		t.Errorf("second up: %s", again.Changes[0].Describe())
	}
}
