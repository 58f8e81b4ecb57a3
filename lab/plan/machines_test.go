package plan_test

import (
	"maps"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"

	"netlab/lab"
	"netlab/lab/device"
	"netlab/lab/labfile"
	"netlab/lab/plan"
	"netlab/lab/state"
	"netlab/lab/validate"
)

// spreadLab is a lab over three machines: a on m1 links to b on m2 and c
// on m3, and to d, also on m1.
const spreadLab = `name: spread
machines:
  m1: {address: 203.0.113.1}
  m2: {address: 203.0.113.2}
  m3: {address: 203.0.113.3}
nodes:
  a:
    machine: m1
    interfaces:
      eth0: {addresses: [10.9.0.1/24]}
      eth1: {addresses: [10.9.1.1/24]}
      eth2: {addresses: [10.9.2.1/24]}
  b: {machine: m2, interfaces: {eth0: {addresses: [10.9.0.2/24]}}}
  c: {machine: m3, interfaces: {eth0: {addresses: [10.9.1.2/24]}}}
  d: {machine: m1, interfaces: {eth0: {addresses: [10.9.2.2/24]}}}
links:
  - [a:eth0, b:eth0]
  - {endpoints: [a:eth1, c:eth0], vni: 42, mtu: 1400}
  - [a:eth2, d:eth0]
`

func loadValid(t *testing.T, text string) *lab.Lab {
	t.Helper()
	l, diags := labfile.Parse("lab.yaml", []byte(text))
	diags.Append(validate.Lab(l)...)
	if diags.HasErrors() {
		t.Fatalf("lab is not valid:\n%v", diags.Err())
	}
	return l
}

// TestDesiredOnMachine: each machine gets its own nodes; a link across
// two machines is, at each end, a VXLAN made in the machine's namespace,
// unicast to the other machine, with one VNI and one MTU at both ends;
// a link on one machine stays a veth pair.
func TestDesiredOnMachine(t *testing.T) {
	l := loadValid(t, spreadLab)
	want := map[string][]string{"m1": {"a", "d"}, "m2": {"b"}, "m3": {"c"}}
	on := make(map[string]*state.State)
	for _, m := range l.MachineNames() {
		on[m] = plan.DesiredOn(l, m)
		if got := on[m].NodeNames(); !slices.Equal(got, want[m]) {
			t.Errorf("machine %s: nodes %v, want %v", m, got, want[m])
		}
	}
	a0, b0 := on["m1"].Nodes["a"].Links["eth0"], on["m2"].Nodes["b"].Links["eth0"]
	derived := lab.LinkVNI("spread", l.Links[0])
	if derived < 1<<23 || derived > lab.MaxVNI {
		t.Errorf("derived VNI %d out of the derived range", derived)
	}
	for _, c := range []struct {
		end           *state.Link
		local, remote string
		vni           uint32
		mtu           int
	}{
		{a0, "203.0.113.1", "203.0.113.2", derived, 1450},
		{b0, "203.0.113.2", "203.0.113.1", derived, 1450},
		{on["m1"].Nodes["a"].Links["eth1"], "203.0.113.1", "203.0.113.3", 42, 1400},
		{on["m3"].Nodes["c"].Links["eth0"], "203.0.113.3", "203.0.113.1", 42, 1400},
	} {
		e := c.end
		if e.Kind != device.VXLAN || e.VNI != c.vni || e.Local.String() != c.local || e.Remote.String() != c.remote ||
			e.MTU != c.mtu || e.UnderlayNetNS != state.HostNetNS || e.Learning || e.Port != lab.DefaultVXLANPort || e.Peer != "" {
			t.Errorf("%s: kind %s vni %d local %s remote %s mtu %d underlay %q learning %v port %d peer %q; want vxlan vni %d local %s remote %s mtu %d in the machine's namespace, no learning, port %d, no peer",
				e.Name, e.Kind, e.VNI, e.Local, e.Remote, e.MTU, e.UnderlayNetNS, e.Learning, e.Port, e.Peer, c.vni, c.local, c.remote, c.mtu, lab.DefaultVXLANPort)
		}
		if len(e.FDB) != 1 || e.FDB[0].Dst.String() != c.remote {
			t.Errorf("%s: fdb %v, want the kernel's one entry for %s", e.Name, e.FDB, c.remote)
		}
	}
	if v := on["m1"].Nodes["a"].Links["eth2"]; v.Kind != device.Veth || v.Peer != "d:eth0" {
		t.Errorf("a:eth2 on m1: kind %s peer %q, want a veth to d:eth0", v.Kind, v.Peer)
	}
}

// TestDesiredOnUnion: the machines' desired states together are the
// lab's, and so are their plans from nothing: no object is lost or made
// twice by the split.
func TestDesiredOnUnion(t *testing.T) {
	l := loadValid(t, spreadLab)
	whole := plan.Desired(l)
	union := state.New(l.Name)
	var lines []string
	for _, m := range l.MachineNames() {
		part := plan.DesiredOn(l, m)
		for name, n := range part.Nodes {
			if _, dup := union.Nodes[name]; dup {
				t.Errorf("node %s is on two machines", name)
			}
			union.Nodes[name] = n
		}
		lines = append(lines, changeLines(plan.Diff(part, nil, plan.Options{}).Changes)...)
	}
	if !reflect.DeepEqual(union, whole) {
		t.Errorf("the union of the machines' states is not the lab's:\nunion nodes %v\nlab nodes %v", slices.Sorted(maps.Keys(union.Nodes)), slices.Sorted(maps.Keys(whole.Nodes)))
	}
	wholeLines := changeLines(plan.Diff(whole, nil, plan.Options{}).Changes)
	slices.Sort(lines)
	slices.Sort(wholeLines)
	if !slices.Equal(lines, wholeLines) {
		t.Errorf("the machines' plans together:\n%s\nthe lab's plan:\n%s", strings.Join(lines, "\n"), strings.Join(wholeLines, "\n"))
	}
}

// TestLinkVNIStable: a derived VNI depends on the lab and the link's
// ends alone: not on the order of the links or of the ends, so that
// every machine derives the same, and an edit elsewhere moves none.
func TestLinkVNIStable(t *testing.T) {
	l := loadValid(t, spreadLab)
	reordered := strings.Replace(spreadLab, "  - [a:eth0, b:eth0]\n", "", 1) + "  - [b:eth0, a:eth0]\n  - [a:eth9, b:eth9]\n"
	reordered = strings.Replace(reordered, "eth2: {addresses: [10.9.2.1/24]}", "eth2: {addresses: [10.9.2.1/24]}\n      eth9: {}", 1)
	reordered = strings.Replace(reordered, "b: {machine: m2, interfaces: {eth0: {addresses: [10.9.0.2/24]}}}", "b: {machine: m2, interfaces: {eth0: {addresses: [10.9.0.2/24]}, eth9: {}}}", 1)
	r := loadValid(t, reordered)
	before := plan.DesiredOn(l, "m2").Nodes["b"].Links["eth0"].VNI
	after := plan.DesiredOn(r, "m2").Nodes["b"].Links["eth0"].VNI
	if before != after {
		t.Errorf("VNI of a:eth0 - b:eth0: %d, and %d with the links reordered and one added", before, after)
	}
	other := loadValid(t, strings.Replace(spreadLab, "name: spread", "name: spread2", 1))
	if lab.LinkVNI("spread2", other.Links[0]) == before {
		t.Errorf("two labs derive the same VNI %d for the same link", before)
	}
}

// TestCrossLinkMTUOverIPv6: over an IPv6 underlay the encapsulation is
// 70 bytes, not 50.
func TestCrossLinkMTUOverIPv6(t *testing.T) {
	text := strings.NewReplacer("203.0.113.1", `"2001:db8::1"`, "203.0.113.2", `"2001:db8::2"`, "203.0.113.3", `"2001:db8::3"`).Replace(spreadLab)
	l := loadValid(t, text)
	e := plan.DesiredOn(l, "m2").Nodes["b"].Links["eth0"]
	if e.MTU != 1430 || e.Remote != netip.MustParseAddr("2001:db8::1") {
		t.Errorf("b:eth0 over IPv6: mtu %d remote %s, want 1430 and 2001:db8::1", e.MTU, e.Remote)
	}
}
