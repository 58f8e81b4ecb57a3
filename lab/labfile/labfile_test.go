package labfile_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"netlab/lab"
	"netlab/lab/diag"
	"netlab/lab/labfile"
)

// parse parses a lab that must load without diagnostics.
func parse(t *testing.T, text string) *lab.Lab {
	t.Helper()
	l, diags := labfile.Parse("lab.yaml", []byte(text))
	if len(diags) != 0 {
		t.Fatalf("Parse: unexpected diagnostics:\n%s", diags.Err())
	}
	return l
}

func iface(t *testing.T, l *lab.Lab, node, name string) *lab.Interface {
	t.Helper()
	n := l.Node(node)
	if n == nil {
		t.Fatalf("no node %q", node)
	}
	i := n.Interface(name)
	if i == nil {
		t.Fatalf("no interface %s:%s", node, name)
	}
	return i
}

// TestDefaults checks what Parse fills in for what a file leaves out.
func TestDefaults(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		got  func(t *testing.T, l *lab.Lab) string
		want string
	}{
		// links
		{
			name: "link end without entry is an implicit veth",
			yaml: "name: t\nnodes:\n  a: {}\n  b: {}\nlinks:\n  - [a:eth0, b:eth1]\n",
			got: func(t *testing.T, l *lab.Lab) string {
				i := iface(t, l, "b", "eth1")
				return fmt.Sprintf("%s %s kind=%s up=%v pos=%s", i.Node, i.Name, i.Kind, i.Up, i.Pos)
			},
			want: "b eth1 kind=veth up=true pos=lab.yaml:6:14",
		},
		{
			name: "implicit interface is added after the declared ones",
			yaml: "name: t\nnodes:\n  a:\n    interfaces:\n      tun0: {kind: tun}\n  b: {}\nlinks:\n  - [a:eth0, b:eth0]\n",
			got: func(t *testing.T, l *lab.Lab) string {
				var names []string
				for _, i := range l.Node("a").Interfaces {
					names = append(names, i.Name+"="+string(i.Kind))
				}
				return strings.Join(names, " ")
			},
			want: "tun0=tun eth0=veth",
		},
		{
			name: "declared link end without kind is a veth",
			yaml: "name: t\nnodes:\n  a:\n    interfaces:\n      eth0: {addresses: [10.0.0.1/24], mtu: 1400}\n  b: {}\nlinks:\n  - [a:eth0, b:eth0]\n",
			got: func(t *testing.T, l *lab.Lab) string {
				i := iface(t, l, "a", "eth0")
				return fmt.Sprintf("kind=%s mtu=%d addrs=%v", i.Kind, i.MTU, i.Addresses[0].Prefix)
			},
			want: "kind=veth mtu=1400 addrs=10.0.0.1/24",
		},
		{
			name: "a declared kind is kept for validate to judge",
			yaml: "name: t\nnodes:\n  a:\n    interfaces:\n      br0: {kind: bridge}\n  b: {}\nlinks:\n  - [a:br0, b:eth0]\n",
			got:  func(t *testing.T, l *lab.Lab) string { return string(iface(t, l, "a", "br0").Kind) },
			want: "bridge",
		},
		{
			name: "interface not in a link has no kind",
			yaml: "name: t\nnodes:\n  a:\n    interfaces:\n      eth0: {}\n",
			got:  func(t *testing.T, l *lab.Lab) string { return fmt.Sprintf("%q", iface(t, l, "a", "eth0").Kind) },
			want: `""`,
		},
		{
			name: "link map form",
			yaml: "name: t\nnodes:\n  a: {}\n  b: {}\nlinks:\n  - {endpoints: [a:e0, b:e1], mtu: 9000}\n",
			got: func(t *testing.T, l *lab.Lab) string {
				lk := l.Links[0]
				return fmt.Sprintf("%s %s mtu=%d", lk.Ends[0], lk.Ends[1], lk.MTU)
			},
			want: "a:e0 b:e1 mtu=9000",
		},

		// interfaces
		{
			name: "up defaults to true",
			yaml: "name: t\nnodes:\n  a:\n    interfaces:\n      t0: {kind: tun}\n      t1: {kind: tun, up: false}\n",
			got: func(t *testing.T, l *lab.Lab) string {
				return fmt.Sprint(iface(t, l, "a", "t0").Up, iface(t, l, "a", "t1").Up)
			},
			want: "true false",
		},
		{
			name: "vxlan port defaults to 4789 and learning to true",
			yaml: "name: t\nnodes:\n  a:\n    interfaces:\n      vx0: {kind: vxlan, vxlan: {vni: 7, remote: 10.0.0.2}}\n      vx1: {kind: vxlan, vxlan: {vni: 8, remote: 10.0.0.2, port: 8472, learning: false}}\n",
			got: func(t *testing.T, l *lab.Lab) string {
				a, b := iface(t, l, "a", "vx0").VXLAN, iface(t, l, "a", "vx1").VXLAN
				return fmt.Sprintf("%d %v %d %v", a.Port, a.Learning, b.Port, b.Learning)
			},
			want: "4789 true 8472 false",
		},
		{
			name: "macvlan mode defaults to bridge and parent to the same node",
			yaml: "name: t\nnodes:\n  a:\n    interfaces:\n      t0: {kind: tap}\n      mv0: {kind: macvlan, macvlan: {parent: t0}}\n      mv1: {kind: macvlan, macvlan: {parent: 'h:eth0', mode: vepa}}\n",
			got: func(t *testing.T, l *lab.Lab) string {
				a, b := iface(t, l, "a", "mv0").MACVLAN, iface(t, l, "a", "mv1").MACVLAN
				return fmt.Sprintf("%s:%s %s, %s:%s %s", a.ParentNode, a.Parent, a.Mode, b.ParentNode, b.Parent, b.Mode)
			},
			want: "a:t0 bridge, h:eth0 vepa",
		},
		{
			name: "an IPv4-mapped address is read as IPv4",
			yaml: "name: t\nnodes:\n  a:\n    interfaces:\n      t0: {kind: tun, addresses: ['::ffff:10.0.0.1/24']}\n",
			got:  func(t *testing.T, l *lab.Lab) string { return iface(t, l, "a", "t0").Addresses[0].Prefix.String() },
			want: "10.0.0.1/24",
		},

		// routes
		{
			name: "to default with an IPv4 via is 0.0.0.0/0",
			yaml: "name: t\nnodes:\n  a:\n    routes: [{to: default, via: 10.0.0.1}]\n",
			got:  func(t *testing.T, l *lab.Lab) string { return l.Node("a").Routes[0].To.String() },
			want: "0.0.0.0/0",
		},
		{
			name: "to default with an IPv6 via is ::/0",
			yaml: "name: t\nnodes:\n  a:\n    routes: [{to: default, via: '2001:db8::1'}]\n",
			got:  func(t *testing.T, l *lab.Lab) string { return l.Node("a").Routes[0].To.String() },
			want: "::/0",
		},
		{
			name: "to default with only dev is IPv4",
			yaml: "name: t\nnodes:\n  a:\n    routes: [{to: default, dev: eth0}]\n",
			got: func(t *testing.T, l *lab.Lab) string {
				r := l.Node("a").Routes[0]
				return fmt.Sprintf("%s dev %s default=%v", r.To, r.Dev, r.IsDefault())
			},
			want: "0.0.0.0/0 dev eth0 default=true",
		},
		{
			name: "route destination host bits are cleared",
			yaml: "name: t\nnodes:\n  a:\n    routes: [{to: 10.9.8.7/16, via: 10.0.0.1, metric: 50}]\n",
			got: func(t *testing.T, l *lab.Lab) string {
				r := l.Node("a").Routes[0]
				return fmt.Sprintf("%s metric %d", r.To, r.Metric)
			},
			want: "10.9.0.0/16 metric 50",
		},

		// nat and firewall
		{
			name: "dnat to IP:PORT and redirect to PORT",
			yaml: "name: t\nnodes:\n  a:\n    nat:\n      - {action: dnat, proto: tcp, dport: 80, to: '[2001:db8::1]:8080'}\n      - {action: redirect, proto: tcp, dport: 81, to: 3128}\n      - {action: snat, to: 192.0.2.1}\n",
			got: func(t *testing.T, l *lab.Lab) string {
				var s []string
				for _, r := range l.Node("a").NAT {
					s = append(s, fmt.Sprintf("%s %v %d", r.Action, r.ToAddr, r.ToPort))
				}
				return strings.Join(s, ", ")
			},
			want: "dnat 2001:db8::1 8080, redirect invalid IP 3128, snat 192.0.2.1 0",
		},
		{
			name: "firewall policy defaults to accept",
			yaml: "name: t\nnodes:\n  a:\n    firewall:\n      input: {rules: [{action: drop}]}\n      forward: {policy: drop}\n",
			got: func(t *testing.T, l *lab.Lab) string {
				f := l.Node("a").Firewall
				return fmt.Sprintf("input=%s forward=%s output=%v", f.Chain("input").Policy, f.Chain("forward").Policy, f.Chain("output"))
			},
			want: "input=accept forward=drop output=<nil>",
		},

		// checks
		{
			name: "ping check defaults",
			yaml: "name: t\nnodes:\n  a: {}\nchecks: [{from: a, ping: 10.0.0.1}]\n",
			got: func(t *testing.T, l *lab.Lab) string {
				c := l.Checks[0]
				return fmt.Sprintf("proto=%s port=%d expect=%s timeout=%s", c.Proto, c.Port, c.Expect, c.Timeout)
			},
			want: "proto=icmp port=0 expect=ok timeout=1s",
		},
		{
			name: "tcp and udp checks default to the echo port",
			yaml: "name: t\nnodes:\n  a: {}\nchecks:\n  - {from: a, to: a, proto: tcp}\n  - {from: a, to: a, proto: udp, port: 53, expect: fail, timeout: 250ms}\n",
			got: func(t *testing.T, l *lab.Lab) string {
				var s []string
				for _, c := range l.Checks {
					s = append(s, fmt.Sprintf("%s/%d %s %s", c.Proto, c.Port, c.Expect, c.Timeout))
				}
				return strings.Join(s, ", ")
			},
			want: "tcp/7 ok 1s, udp/53 fail 250ms",
		},
		{
			name: "listen is the responder's port, the dialled port when left out",
			yaml: "name: t\nnodes:\n  a: {}\nchecks:\n  - {from: a, to: a, proto: tcp, port: 8080, listen: 80}\n  - {from: a, to: a, proto: udp, port: 53}\n  - {from: a, to: a, proto: tcp, listen: 80}\n",
			got: func(t *testing.T, l *lab.Lab) string {
				var s []string
				for _, c := range l.Checks {
					s = append(s, fmt.Sprintf("%s/%d listen=%d on %d", c.Proto, c.Port, c.Listen, c.ListenPort()))
				}
				return strings.Join(s, ", ")
			},
			want: "tcp/8080 listen=80 on 80, udp/53 listen=0 on 53, tcp/7 listen=80 on 80",
		},
		{
			name: "connect and http checks use tcp and take their port from the target",
			yaml: "name: t\nnodes:\n  a: {}\nchecks:\n  - {from: a, connect: \"[2001:db8::1]:443\"}\n  - {from: a, http: \"http://a:8080/health\"}\n",
			got: func(t *testing.T, l *lab.Lab) string {
				var s []string
				for _, c := range l.Checks {
					s = append(s, fmt.Sprintf("%s %s %q %s/%d", c.Connect, c.Proto, c.HTTP, c.Expect, c.Port))
				}
				return strings.Join(s, ", ")
			},
			want: `[2001:db8::1]:443 tcp "" ok/0, invalid AddrPort tcp "http://a:8080/health" ok/0`,
		},

		// YAML features
		{
			name: "merge key: the mapping's own keys override merged ones",
			yaml: "name: t\nnodes:\n  a:\n    interfaces:\n      t0: &b {kind: tap, mtu: 1500, up: false}\n      t1: {<<: *b, mtu: 9000}\n      t2: {mtu: 1400, <<: [{kind: tun, mtu: 1}, *b]}\n",
			got: func(t *testing.T, l *lab.Lab) string {
				var s []string
				for _, n := range []string{"t0", "t1", "t2"} {
					i := iface(t, l, "a", n)
					s = append(s, fmt.Sprintf("%s %s %d %v", n, i.Kind, i.MTU, i.Up))
				}
				return strings.Join(s, ", ")
			},
			want: "t0 tap 1500 false, t1 tap 9000 false, t2 tun 1400 false",
		},
		{
			name: "alias of a node",
			yaml: "name: t\nnodes:\n  a: &n\n    interfaces:\n      t0: {kind: tun}\n  b: *n\n",
			got: func(t *testing.T, l *lab.Lab) string {
				i := iface(t, l, "b", "t0")
				return fmt.Sprintf("%s %s %s", i.Ref(), i.Kind, i.Pos)
			},
			want: "b:t0 tun lab.yaml:5:7",
		},
		{
			name: "explicit null is an empty section",
			yaml: "name: t\nnodes:\n  a:\n    interfaces:\n    routes:\nlinks:\nchecks: ~\n",
			got: func(t *testing.T, l *lab.Lab) string {
				n := l.Node("a")
				return fmt.Sprint(len(n.Interfaces), len(n.Routes), len(l.Links), len(l.Checks))
			},
			want: "0 0 0 0",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := parse(t, tc.yaml)
			if diff := cmp.Diff(tc.want, tc.got(t, l)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestPositions checks that the model records where each object and field
// stands, so that validate can point at them.
func TestPositions(t *testing.T) {
	l := parse(t, `name: pos
nodes:
  host:
    interfaces:
      eth0:
        addresses: [10.0.0.1/24, 10.0.1.1/24]
        mtu: 1500
    routes:
      - {to: default, via: 10.0.0.254}
links:
  - [host:eth0, peer:eth0]
  - {endpoints: [host:eth1, peer:eth1]}
checks:
  - {from: host, ping: 10.0.0.2}
`)
	i := iface(t, l, "host", "eth0")
	r := l.Node("host").Routes[0]
	got := []string{
		"lab " + l.Pos.String(),
		"name " + l.At("name").String(),
		"node " + l.Node("host").Pos.String(),
		"iface " + i.Pos.String(),
		"addr0 " + i.Addresses[0].Pos.String(),
		"addr1 " + i.Addresses[1].Pos.String(),
		"mtu " + i.At("mtu").String(),
		"mac (unset) " + i.At("mac").String(),
		"route " + r.Pos.String(),
		"via " + r.At("via").String(),
		"link0 " + l.Links[0].Pos.String(),
		"end0 " + l.Links[0].Ends[0].Pos.String(),
		"end1 " + l.Links[0].Ends[1].Pos.String(),
		"link1 " + l.Links[1].Pos.String(),
		"end2 " + l.Links[1].Ends[0].Pos.String(),
		"check " + l.Checks[0].Pos.String(),
		"ping " + l.Checks[0].At("ping").String(),
	}
	want := []string{
		"lab lab.yaml:1:1",
		"name lab.yaml:1:7",
		"node lab.yaml:3:3",
		"iface lab.yaml:5:7",
		"addr0 lab.yaml:6:21",
		"addr1 lab.yaml:6:34",
		"mtu lab.yaml:7:14",
		"mac (unset) lab.yaml:5:7",
		"route lab.yaml:9:9",
		"via lab.yaml:9:28",
		"link0 lab.yaml:11:5",
		"end0 lab.yaml:11:6",
		"end1 lab.yaml:11:17",
		"link1 lab.yaml:12:5",
		"end2 lab.yaml:12:18",
		"check lab.yaml:14:5",
		"ping lab.yaml:14:24",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("positions (-want +got):\n%s", diff)
	}
}

// TestParseErrors checks what Parse returns for files it cannot read as a
// lab at all: no lab, and one diagnostic that names the file.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		data string
		want string
	}{
		{"empty", "", "f.yaml:1:1: lab file is empty: start with name: and nodes:"},
		{"only a comment", "# nothing\n", "f.yaml:1:1: lab file is empty: start with name: and nodes:"},
		{"two documents", "name: a\n---\nname: b\n", "f.yaml:2:1: lab file has more than one YAML document: put each lab in its own file"},
		{"syntax error in the second document", "name: a\n---\nname: [b\n", "f.yaml:3: YAML syntax: did not find expected ',' or ']': close every [ list with ] and separate its items with commas"},
		{"unclosed flow mapping at line 1", "{name: a\n", "f.yaml:2: YAML syntax: did not find expected ',' or '}': close every { mapping with } and separate its entries with commas"},
		{"tab indent", "name: a\nnodes:\n\ta: {}\n", "f.yaml:3: YAML syntax: found character that cannot start any token: indent with spaces, not tabs"},
		{"unknown anchor", "name: a\nnodes: {x: *nowhere}\n", "f.yaml:2:12: YAML syntax: unknown anchor 'nowhere' referenced"},
		{"too large", strings.Repeat("#", labfile.MaxFileSize+1), "f.yaml:1:1: file is larger than 16 MiB"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, diags := labfile.Parse("f.yaml", []byte(tc.data))
			if l != nil {
				t.Errorf("Parse returned a lab for a file it cannot read")
			}
			if diff := cmp.Diff([]string{tc.want}, lines(diags)); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAliasBomb checks that a file whose aliases expand to a huge tree is
// refused quickly rather than walked.
func TestAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("name: t\nnodes:\n  n0: &a0 {interfaces: {t: {kind: tun}}}\n")
	for k := 1; k <= 12; k++ {
		fmt.Fprintf(&b, "  n%d: &a%d {<<: [%s]}\n", k, k, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d, ", k-1), 10), ", "))
	}
	_, diags := labfile.Parse("bomb.yaml", []byte(b.String()))
	// Where the walk stops is of no interest; that it stops, and says why, is.
	var got []string
	for _, d := range diags {
		got = append(got, d.Text())
	}
	want := []string{"file expands to more than 1000000 YAML nodes: expand fewer aliases"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("diagnostics (-want +got):\n%s", diff)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "lab.yaml")
	if err := os.WriteFile(path, []byte("name: t\nnodes:\n  a:\n    interfaces:\n      eth0: {adresses: []}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Run("display name in positions", func(t *testing.T) {
		_, diags := labfile.Load(path, "shown.yaml")
		want := []string{`shown.yaml:5:14: unknown field "adresses" in interface "eth0" of node "a" (did you mean "addresses"?)`}
		if diff := cmp.Diff(want, lines(diags)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		l, diags := labfile.Load(filepath.Join(dir, "nope.yaml"), "nope.yaml")
		want := []string{"nope.yaml: cannot read lab file: no such file or directory"}
		if diff := cmp.Diff(want, lines(diags)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		if l != nil || !diags.HasErrors() {
			t.Errorf("Load of a missing file: lab %v, HasErrors %v; want nil, true", l, diags.HasErrors())
		}
	})
	t.Run("directory", func(t *testing.T) {
		_, diags := labfile.Load(dir, "dir")
		if len(diags) != 1 || diags[0].Pos.File != "dir" || !diags.HasErrors() {
			t.Errorf("Load of a directory: got %v, want one error naming dir", lines(diags))
		}
	})
}

func lines(diags diag.List) []string {
	var out []string
	for _, d := range diags {
		out = append(out, d.String())
	}
	return out
}

// TestDNATTargets: a dnat's to may be a list, read into Targets in order;
// the single form still fills ToAddr and ToPort alone.
func TestDNATTargets(t *testing.T) {
	l := parse(t, `name: t
nodes:
  a:
    interfaces:
      eth0: {kind: tap}
    nat:
      - {action: dnat, proto: tcp, dport: 80, to: ["10.0.0.1:8080", "10.0.0.2:8080"]}
      - {action: dnat, proto: tcp, dport: 81, to: ["2001:db8::1", "2001:db8::2"]}
      - {action: dnat, proto: tcp, dport: 82, to: "[2001:db8::3]:80"}
`)
	var got []string
	for _, r := range l.Nodes[0].NAT {
		got = append(got, fmt.Sprintf("%v %d %v", r.ToAddr, r.ToPort, r.Targets))
	}
	want := []string{
		"invalid IP 0 [10.0.0.1:8080 10.0.0.2:8080]",
		"invalid IP 0 [[2001:db8::1]:0 [2001:db8::2]:0]",
		"2001:db8::3 80 []",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("targets (-want +got):\n%s", diff)
	}
}
