package plan_test

import (
	"encoding/json"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"netlab/lab/plan"
	"netlab/lab/state"
	"netlab/topologies"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// netIP compares netip values, which have unexported fields.
var netIP = cmpopts.EquateComparable(netip.Prefix{}, netip.Addr{})

// clone deep-copies a state.
func clone(t testing.TB, s *state.State) *state.State {
	t.Helper()
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var c state.State
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	return &c
}

// planText is a plan as netlab plan prints it, then the commands of each
// change in plan order.
func planText(p *plan.Plan) string {
	var b strings.Builder
	p.WriteText(&b)
	b.WriteString("\n-- commands --\n")
	for _, c := range p.Changes {
		for _, cmd := range c.Cmds() {
			b.WriteString(cmd + "\n")
		}
	}
	return b.String()
}

// golden compares got with testdata/TEST_NAME.golden, or rewrites it with
// -update.
func golden(t *testing.T, got string) {
	t.Helper()
	path := filepath.Join("testdata", strings.ReplaceAll(t.Name(), "/", "_")+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

// handMade adds what someone made by hand in the lab's namespaces: a
// route, a link, and a namespace with a node's name but no marker.
func handMade(o *state.State) {
	o.Nodes["h"].Routes = append(o.Nodes["h"].Routes, state.Route{To: netip.MustParsePrefix("10.9.0.0/16"), Via: netip.MustParseAddr("10.0.0.9"), Dev: "eth0"})
	o.Nodes["r"].Links["dummy0"] = &state.Link{Name: "dummy0", Kind: "dummy", Index: 30, MTU: 1500, Up: true}
	o.Nodes["r"].Links["br1"] = &state.Link{Name: "br1", Kind: "bridge", Index: 31, MTU: 1500, Up: true}
	o.Nodes["s"] = &state.Node{Name: "s", NetNS: "t.s", Foreign: true, Links: map[string]*state.Link{}, Sysctls: map[string]string{}}
	delete(o.Nodes["r"].Links, "up0")
}

// TestWriteText pins the plan as people read it, over pairs of a lab file
// and a kernel state.
func TestWriteText(t *testing.T) {
	tests := []struct {
		name        string
		want        string
		applied     string // the lab built before; "" for an empty kernel
		kernel      func(o *state.State)
		opts        plan.Options
		lastApplied bool
	}{
		{name: "create", want: string(topologies.Default())},
		{name: "no_changes", want: base, applied: base},
		{
			name: "drift_and_edits", applied: base, lastApplied: true,
			want: edit(t, "[10.0.0.2/24]", "[10.0.0.2/24, \"fd00::2/64\"]",
				"  - [r:up0, s:eth0]", "  - {endpoints: [r:up0, s:eth0], mtu: 9000}",
				"      - {to: \"2001:db8:1::/48\", via: \"2001:db8::1\"}\n", "",
				"p1: {master: br0}", "p1: {master: br1}"),
			kernel: func(o *state.State) {
				o.Nodes["r"].Links["br0"].Addrs = nil
				o.Nodes["h"].Links["eth0"].Up = false
				o.Nodes["h"].Routes = nil
				o.Nodes["r"].Sysctls["net.ipv4.ip_forward"] = "0"
			},
		},
		{
			name: "replace", applied: base, lastApplied: true,
			want: edit(t, "  - [h:eth0, r:p1]\n  - [r:up0, s:eth0]\n", "  - [h:eth0, s:eth0]\n  - [r:up0, r:p1]\n"),
		},
		{
			name: "remove_node", applied: base, lastApplied: true,
			want: edit(t, "  s:\n    interfaces:\n      eth0: {addresses: [192.0.2.2/24, \"2001:db8::2/64\"]}\n    routes:\n      - {to: 10.0.0.0/24, via: 192.0.2.1}\n      - {to: \"2001:db8:1::/48\", via: \"2001:db8::1\"}\n", "",
				"  - [r:up0, s:eth0]\n", "",
				"      up0: {addresses: [192.0.2.1/24, \"2001:db8::1/64\"]}\n", ""),
		},
		{name: "conflicts", want: base, applied: base, kernel: handMade},
		{name: "prune", want: base, applied: base, kernel: handMade, opts: plan.Options{Prune: true}},
		{
			name: "unmanaged_only", want: base, applied: base,
			kernel: func(o *state.State) {
				o.Nodes["h"].Routes = append(o.Nodes["h"].Routes, state.Route{To: netip.MustParsePrefix("10.9.0.0/16"), Via: netip.MustParseAddr("10.0.0.9"), Dev: "eth0"})
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var observed *state.State
			if tc.applied != "" {
				applied := desired(t, tc.applied)
				observed = built(applied)
				if tc.lastApplied {
					tc.opts.LastApplied = applied
				}
			}
			if tc.kernel != nil {
				tc.kernel(observed)
			}
			golden(t, planText(plan.Diff(desired(t, tc.want), observed, tc.opts)))
		})
	}
}
