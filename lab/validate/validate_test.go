package validate_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"netlab/lab"
	"netlab/lab/device"
	"netlab/lab/diag"
	"netlab/lab/labfile"
	"netlab/lab/validate"
)

func TestNameProblem(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		// valid
		{"one letter", "a", ""},
		{"letters digits dash", "r1-core", ""},
		{"12 characters", "abcdefghijkl", ""},
		{"trailing dash", "a-", ""},

		// invalid
		{"empty", "", "is empty"},
		{"13 characters", "abcdefghijklm", "is 13 characters, at most 12 are allowed"},
		{"300 characters", strings.Repeat("a", 300), "is 300 characters, at most 12 are allowed"},
		{"digit first", "1lab", "must start with a lowercase letter"},
		{"dash first", "-a", "must start with a lowercase letter"},
		{"uppercase first", "Lab", "must start with a lowercase letter"},
		{"uppercase inside", "aB", "contains 'B'"},
		{"dot dot slash", "../x", "must start with a lowercase letter"},
		{"slash", "a/b", "contains '/'"},
		{"dot", "a.b", "contains '.'"},
		{"underscore", "a_b", "contains '_'"},
		{"NUL", "a\x00", "contains '\\x00'"},
		{"non-ASCII letter", "café", "contains 'é'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := validate.NameProblem(tc.in); got != tc.want {
				t.Errorf("NameProblem(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestIfNameProblem(t *testing.T) {
	tests := []struct {
		name   string
		ifname string
		want   string
	}{
		// valid
		{"plain", "eth0", ""},
		{"15 bytes", "veth-host-r1234", ""},
		{"dot inside", "eth0.100", ""},
		{"dash and underscore", "br_lan-1", ""},
		{"lo", "lo", ""},

		// invalid
		{"empty", "", "is empty"},
		{"16 bytes", "veth-host-r12345", "is 16 bytes, Linux allows 15"},
		{"multi-byte counted in bytes", "ééééééééé", "is 18 bytes, Linux allows 15"},
		{"dot", ".", "is not allowed by Linux"},
		{"dot dot", "..", "is not allowed by Linux"},
		{"slash", "a/b", `contains '/', which Linux does not allow`},
		{"colon", "eth0:1", `contains ':', which Linux does not allow`},
		{"space", "eth 0", "contains white space, which Linux does not allow"},
		{"tab", "eth\t0", "contains white space, which Linux does not allow"},
		{"NUL", "eth\x000", "contains white space, which Linux does not allow"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := validate.IfNameProblem(tc.ifname); got != tc.want {
				t.Errorf("IfNameProblem(%q) = %q, want %q", tc.ifname, got, tc.want)
			}
		})
	}
}

func TestNilLab(t *testing.T) {
	if got := validate.Lab(nil); got != nil {
		t.Errorf("Lab(nil) = %v, want nil", got)
	}
}

// TestModel validates a lab built in Go, with no YAML behind it: validate
// works on the model alone and reports at the positions the model carries,
// sorted, whatever order it finds the problems in.
func TestModel(t *testing.T) {
	pos := func(line, col int) diag.Pos { return diag.Pos{File: "m.yaml", Line: line, Col: col} }
	a := &lab.Node{Name: "a"}
	a.Pos = pos(3, 3)
	long := &lab.Interface{Node: "a", Name: "interface-name-17", Kind: device.Tun, Up: true}
	long.Pos = pos(5, 7)
	a.Interfaces = []*lab.Interface{long}
	l := &lab.Lab{File: "m.yaml", Name: "m", Nodes: []*lab.Node{a}}
	l.Pos = pos(1, 1)
	l.SetField("name", pos(1, 7))
	l.SetField("nodes", pos(3, 3))
	lk := &lab.Link{Ends: [2]lab.LinkEnd{
		{Pos: pos(9, 6), Node: "a", IfName: "eth0"},
		{Pos: pos(9, 14), Node: "zz", IfName: "eth0"},
	}}
	lk.Pos = pos(9, 5)
	l.Links = []*lab.Link{lk}
	eth0 := &lab.Interface{Node: "a", Name: "eth0", Kind: device.Veth, Up: true}
	eth0.Pos = pos(9, 6)
	a.Interfaces = append(a.Interfaces, eth0)
	c := &lab.Check{From: "nobody", Proto: "icmp", Expect: lab.ExpectOK}
	c.Pos = pos(2, 5) // out of file order on purpose
	c.SetField("from", pos(2, 12))
	c.SetField("ping", pos(2, 26))
	l.Checks = []*lab.Check{c}

	want := []string{
		`m.yaml:2:12: check from "nobody" names a node that is not defined: name a node of the lab`,
		`m.yaml:5:7: interface name "interface-name-17" is 17 bytes, Linux allows 15: shorten it`,
		`m.yaml:9:14: link end "zz:eth0" names node "zz", which is not defined: add it under nodes or fix the name`,
	}
	if diff := cmp.Diff(want, lines(validate.Lab(l))); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestRules pins single rules whose subtleties the corpus files do not make
// obvious: what validate adds to what loading reported.
func TestRules(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // validate's diagnostics only
	}{
		// a value loading refused is not reported again as missing
		{
			name: "broken from is not also missing",
			yaml: "name: t\nnodes:\n  a: {}\nchecks: [{from: 5, ping: 10.0.0.1}]\n",
			want: nil,
		},
		{
			name: "broken master is not looked up",
			yaml: "name: t\nnodes:\n  a:\n    interfaces:\n      t0: {kind: tap, master: [br0]}\n",
			want: nil,
		},
		{
			name: "broken source-macs do not count as none",
			yaml: "name: t\nnodes:\n  a:\n    interfaces:\n      t0: {kind: tap}\n      mv: {kind: macvlan, macvlan: {parent: t0, mode: source, source-macs: zz}}\n",
			want: nil,
		},

		// routes
		{
			name: "gateway reachable through the named dev only",
			yaml: "name: t\nnodes:\n  a:\n    interfaces:\n      t0: {kind: tun, addresses: [10.0.0.1/24]}\n      t1: {kind: tun, addresses: [10.1.0.1/24]}\n    routes:\n      - {to: 10.9.0.0/16, via: 10.1.0.254, dev: t1}\n      - {to: 10.8.0.0/16, via: 10.1.0.254, dev: t0}\n",
			want: []string{`t.yaml:9:32: route via 10.1.0.254 cannot be reached: no address of interface "t0" of node "a" is in its subnet: add an address in the gateway's subnet, or fix the gateway`},
		},
		{
			name: "IPv6 link-local gateway with dev is fine",
			yaml: "name: t\nnodes:\n  a:\n    interfaces:\n      t0: {kind: tun}\n    routes: [{to: default, via: 'fe80::1', dev: t0}]\n",
			want: nil,
		},
		{
			name: "same destination, different metric",
			yaml: "name: t\nnodes:\n  a:\n    interfaces:\n      t0: {kind: tun, addresses: [10.0.0.1/24]}\n    routes:\n      - {to: default, via: 10.0.0.254}\n      - {to: default, via: 10.0.0.253, metric: 200}\n",
			want: nil,
		},
		{
			name: "IPv4 and IPv6 default routes are different routes",
			yaml: "name: t\nnodes:\n  a:\n    interfaces:\n      t0: {kind: tun, addresses: [10.0.0.1/24, '2001:db8::1/64']}\n    routes:\n      - {to: default, via: 10.0.0.254}\n      - {to: default, via: '2001:db8::fe'}\n",
			want: nil,
		},

		// addresses
		{
			name: "loopback addresses may repeat across nodes",
			yaml: "name: t\nnodes:\n  a:\n    interfaces:\n      lo: {addresses: [127.0.0.2/8]}\n  b:\n    interfaces:\n      lo: {addresses: [127.0.0.2/8]}\n",
			want: nil,
		},
		{
			name: "same subnet, different hosts",
			yaml: "name: t\nnodes:\n  a:\n    interfaces:\n      t0: {kind: tun, addresses: [10.0.0.1/24]}\n  b:\n    interfaces:\n      t0: {kind: tun, addresses: [10.0.0.2/24]}\n",
			want: nil,
		},

		// checks
		{
			name: "to a node without addresses but with an explicit address",
			yaml: "name: t\nnodes:\n  a: {}\n  b: {}\nchecks: [{from: a, to: b, address: 10.0.0.9}]\n",
			want: nil,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, diags := labfile.Parse("t.yaml", []byte(tc.yaml))
			if l == nil {
				t.Fatalf("Parse returned no lab:\n%s", strings.Join(lines(diags), "\n"))
			}
			if diff := cmp.Diff(tc.want, lines(validate.Lab(l))); diff != "" {
				t.Errorf("validate (-want +got):\n%s", diff)
			}
		})
	}
}

func lines(diags diag.List) []string {
	var out []string
	for _, d := range diags {
		out = append(out, d.String())
	}
	return out
}
