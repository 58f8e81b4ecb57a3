package plan_test

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"netlab/lab/labfile"
	"netlab/lab/plan"
	"netlab/lab/state"
	"netlab/lab/validate"
	"netlab/topologies"
)

// desired builds the desired state of a lab file that must be valid.
func desired(t testing.TB, text string) *state.State {
	t.Helper()
	l, diags := labfile.Parse("lab.yaml", []byte(text))
	diags.Append(validate.Lab(l)...)
	if diags.HasErrors() {
		t.Fatalf("lab is not valid:\n%v\n%s", diags.Err(), text)
	}
	return plan.Desired(l)
}

// built returns what Observe reads once d is built in an empty kernel:
// every object marked, lo with its marker and loopback addresses, links
// with ifindexes (lo is 1, the others from 2 in name order) and peer
// ifindexes, generated MACs, default MTUs, an IPv6 link-local address on
// each up link, and each route's device. It is pure, so that Diff can be
// tested without a kernel, fake or real.
func built(d *state.State) *state.State {
	o := state.New(d.Lab)
	for i, name := range d.NodeNames() {
		dn := d.Nodes[name]
		n := state.NewNode(name, dn.NetNS)
		index := 1
		for _, lname := range append([]string{"lo"}, slices.DeleteFunc(dn.LinkNames(), func(s string) bool { return s == "lo" })...) {
			w := dn.Links[lname]
			l := *w
			l.Addrs = slices.Clone(w.Addrs)
			l.Index = index
			index++
			if l.Kind == "loopback" {
				l.Alias = state.NodeMarker(d.Lab, name)
				if l.MTU == 0 {
					l.MTU = w.WantMTU()
				}
				l.MAC = "00:00:00:00:00:00"
				if l.Up {
					l.Addrs = append(l.Addrs, netip.MustParsePrefix("127.0.0.1/8"), netip.MustParsePrefix("::1/128"))
				}
			} else {
				if l.MTU == 0 {
					l.MTU = w.WantMTU()
				}
				if l.MAC == "" {
					l.MAC = fmt.Sprintf("02:00:00:00:%02x:%02x", i, l.Index)
				}
				if l.Up {
					l.Addrs = append(l.Addrs, netip.MustParsePrefix(fmt.Sprintf("fe80::%x:%x/64", i+1, l.Index)))
				}
			}
			l.Owned, l.Peer = false, ""
			if lab, peer, ok := state.ParseLinkMarker(l.Alias); ok && lab == d.Lab {
				l.Owned, l.Peer = true, peer
			}
			state.SortAddrs(l.Addrs)
			n.Links[lname] = &l
		}
		for _, r := range dn.Routes {
			if r.Dev == "" {
				r.Dev = onLink(n, r.Via)
			}
			n.Routes = append(n.Routes, r)
		}
		n.Rules = slices.Clone(dn.Rules)
		for k, v := range dn.Sysctls {
			n.Sysctls[k] = v
		}
		n.NFT = observedNFT(dn.NFT)
		if dn.Hosts != nil {
			h := *dn.Hosts
			n.Hosts = &h
		}
		for pi, pname := range slices.Sorted(maps.Keys(dn.Procs)) {
			n.Procs[pname] = runningProc(dn.Procs[pname], 100*(i+1)+pi)
		}
		o.Nodes[name] = n
	}
	for _, n := range o.Nodes {
		for _, l := range n.Links {
			if pn, pi, ok := strings.Cut(l.Peer, ":"); ok && l.Kind == "veth" {
				l.PeerIndex = o.Nodes[pn].Links[pi].Index
			}
		}
	}
	state.ResolvePeers(o)
	return o
}

// runningProc is a desired process as Observe reads it once started:
// its name, hash and command line, with a pid.
func runningProc(w *state.Process, pid int) *state.Process {
	return &state.Process{Name: w.Name, Hash: w.Hash, Argv: slices.Clone(w.Argv), Pid: pid, Start: uint64(pid)}
}

// observedNFT is a table as the kernel shows it to netlab: chains, and
// rules known only by their tags.
func observedNFT(t *state.NFTable) *state.NFTable {
	if t == nil {
		return nil
	}
	o := &state.NFTable{}
	for _, c := range t.Chains {
		oc := *c
		oc.Rules = nil
		for _, r := range c.Rules {
			oc.Rules = append(oc.Rules, &state.NFRule{Tag: r.Tag})
		}
		o.Chains = append(o.Chains, &oc)
	}
	return o
}

// onLink names the link of n whose subnet holds gw.
func onLink(n *state.Node, gw netip.Addr) string {
	for _, name := range n.LinkNames() {
		for _, p := range n.Links[name].Addrs {
			if p.Masked().Contains(gw) {
				return name
			}
		}
	}
	return ""
}

// changeLines writes changes one a line, as "SYMBOL NODE: DESCRIPTION",
// with the reason of a replacement in brackets, and " (drift)" or
// " (unmanaged)" when they are.
func changeLines(changes []*plan.Change) []string {
	var out []string
	for _, c := range changes {
		line := fmt.Sprintf("%s %s: %s", c.Action.Symbol(), c.Node, c.Describe())
		if c.Action == plan.Replace {
			line += " [" + c.Reason + "]"
		}
		if c.Drift {
			line += " (drift)"
		}
		if c.Unmanaged {
			line += " (unmanaged)"
		}
		out = append(out, line)
	}
	return out
}

// base is the lab most cases of TestDiff edit: a router with a bridge and
// a port, a host behind it, and a server on a veth of its own.
const base = `name: t
nodes:
  r:
    sysctls: {net.ipv4.ip_forward: 1}
    interfaces:
      br0: {kind: bridge, addresses: [10.0.0.1/24]}
      br1: {kind: bridge}
      p1: {master: br0}
      up0: {addresses: [192.0.2.1/24, "2001:db8::1/64"]}
  h:
    interfaces:
      eth0: {addresses: [10.0.0.2/24]}
    routes: [{to: default, via: 10.0.0.1}]
  s:
    interfaces:
      eth0: {addresses: [192.0.2.2/24, "2001:db8::2/64"]}
    routes:
      - {to: 10.0.0.0/24, via: 192.0.2.1}
      - {to: "2001:db8:1::/48", via: "2001:db8::1"}
links:
  - [h:eth0, r:p1]
  - [r:up0, s:eth0]
`

// edit returns base with each old text replaced by the new one.
func edit(t testing.TB, pairs ...string) string {
	t.Helper()
	text := base
	for i := 0; i < len(pairs); i += 2 {
		if !strings.Contains(text, pairs[i]) {
			t.Fatalf("edit: %q is not in the lab", pairs[i])
		}
		text = strings.Replace(text, pairs[i], pairs[i+1], 1)
	}
	return text
}

// drop removes a link from an observed node, as deleting it would.
func drop(o *state.State, node, link string) {
	delete(o.Nodes[node].Links, link)
}

func TestDiff(t *testing.T) {
	tests := []struct {
		name string
		// want is the lab file; applied the one built before (none: an
		// empty kernel), and kernel changes what was built.
		want    string
		applied string
		kernel  func(o *state.State)
		opts    plan.Options
		// lastApplied sets opts.LastApplied to the applied lab.
		lastApplied bool

		changes   []string
		unmanaged []string
		conflicts []string
	}{
		// from an empty kernel
		{
			name: "empty kernel: create everything in dependency order",
			want: base,
			changes: []string{
				"+ h: netns t.h",
				"+ r: netns t.r",
				"+ s: netns t.s",
				"+ r: link br0 (bridge)",
				"+ r: link br1 (bridge)",
				"+ h: link eth0 (veth, peer r:p1)",
				"+ r: link up0 (veth, peer s:eth0)",
				"+ h: addr 10.0.0.2/24 dev eth0",
				"+ r: addr 10.0.0.1/24 dev br0",
				"+ r: addr 192.0.2.1/24 dev up0",
				"+ r: addr 2001:db8::1/64 dev up0",
				"+ s: addr 192.0.2.2/24 dev eth0",
				"+ s: addr 2001:db8::2/64 dev eth0",
				"+ h: route default via 10.0.0.1",
				"+ s: route 10.0.0.0/24 via 192.0.2.1",
				"+ s: route 2001:db8:1::/48 via 2001:db8::1 metric 1024",
				"+ r: sysctl net.ipv4.ip_forward = 1",
			},
		},
		{
			name: "empty kernel: lo attributes are set after the links",
			want: edit(t, "      p1: {master: br0}\n", "      p1: {master: br0}\n      lo: {mtu: 65535, addresses: [10.255.0.1/32]}\n"),
			changes: []string{
				"+ h: netns t.h",
				"+ r: netns t.r",
				"+ s: netns t.s",
				"+ r: link br0 (bridge)",
				"+ r: link br1 (bridge)",
				"+ h: link eth0 (veth, peer r:p1)",
				"+ r: link up0 (veth, peer s:eth0)",
				"~ r: link lo: mtu 65536 -> 65535",
				"+ h: addr 10.0.0.2/24 dev eth0",
				"+ r: addr 10.0.0.1/24 dev br0",
				"+ r: addr 10.255.0.1/32 dev lo",
				"+ r: addr 192.0.2.1/24 dev up0",
				"+ r: addr 2001:db8::1/64 dev up0",
				"+ s: addr 192.0.2.2/24 dev eth0",
				"+ s: addr 2001:db8::2/64 dev eth0",
				"+ h: route default via 10.0.0.1",
				"+ s: route 10.0.0.0/24 via 192.0.2.1",
				"+ s: route 2001:db8:1::/48 via 2001:db8::1 metric 1024",
				"+ r: sysctl net.ipv4.ip_forward = 1",
			},
		},

		{
			name: "deletes first, from the leaves up, then creates", applied: base, lastApplied: true,
			want: edit(t,
				"      br0: {kind: bridge, addresses: [10.0.0.1/24]}\n      br1: {kind: bridge}\n", "      br0: {kind: bridge}\n",
				"      up0: {addresses: [192.0.2.1/24, \"2001:db8::1/64\"]}\n", "",
				"    routes: [{to: default, via: 10.0.0.1}]\n", "",
				"  s:\n    interfaces:\n      eth0: {addresses: [192.0.2.2/24, \"2001:db8::2/64\"]}\n    routes:\n      - {to: 10.0.0.0/24, via: 192.0.2.1}\n      - {to: \"2001:db8:1::/48\", via: \"2001:db8::1\"}\n",
				"  n:\n    sysctls: {net.ipv4.ip_forward: 1}\n",
				"  - [r:up0, s:eth0]\n", ""),
			changes: []string{
				"- h: route default via 10.0.0.1 dev eth0",
				"- r: addr 10.0.0.1/24 dev br0",
				"- r: link up0 (veth, peer s:eth0)",
				"- r: link br1 (bridge)",
				"- s: netns t.s",
				"+ n: netns t.n",
				"+ n: sysctl net.ipv4.ip_forward = 1",
			},
		},

		// nothing to do
		{name: "identical", want: base, applied: base},
		{name: "identical default lab", want: string(topologies.Default()), applied: string(topologies.Default())},
		{
			name:    "kernel fallback devices are ignored",
			want:    base,
			applied: base,
			kernel: func(o *state.State) {
				for i, name := range []string{"tunl0", "sit0", "ip6tnl0"} {
					o.Nodes["h"].Links[name] = &state.Link{Name: name, Kind: "ipip", Index: 10 + i}
				}
			},
			opts: plan.Options{Prune: true},
		},

		// drift: the kernel changed since the last up
		{
			name: "address deleted", want: base, applied: base, lastApplied: true,
			kernel: func(o *state.State) {
				l := o.Nodes["s"].Links["eth0"]
				l.Addrs = slices.DeleteFunc(l.Addrs, func(p netip.Prefix) bool { return p.Addr().Is4() })
			},
			changes: []string{"+ s: addr 192.0.2.2/24 dev eth0 (drift)"},
		},
		{
			name: "address added by hand to a link netlab owns", want: base, applied: base, lastApplied: true,
			kernel: func(o *state.State) {
				o.Nodes["h"].Links["eth0"].Addrs = append(o.Nodes["h"].Links["eth0"].Addrs, netip.MustParsePrefix("10.0.0.99/24"))
			},
			changes: []string{"- h: addr 10.0.0.99/24 dev eth0 (drift)"},
		},
		{
			name: "link down", want: base, applied: base, lastApplied: true,
			kernel: func(o *state.State) {
				o.Nodes["r"].Links["p1"].Up = false
			},
			changes: []string{"~ r: link p1: up false -> true (drift)"},
		},
		{
			name: "link down drops its routes", want: base, applied: base, lastApplied: true,
			kernel: func(o *state.State) {
				// What the kernel does when s:eth0 goes down.
				l := o.Nodes["s"].Links["eth0"]
				l.Up = false
				l.Addrs = slices.DeleteFunc(l.Addrs, func(p netip.Prefix) bool { return p.Addr().Is6() })
				o.Nodes["s"].Routes = nil
			},
			changes: []string{
				"~ s: link eth0: up false -> true (drift)",
				"+ s: addr 2001:db8::2/64 dev eth0 (drift)",
				"+ s: route 10.0.0.0/24 via 192.0.2.1 (drift)",
				"+ s: route 2001:db8:1::/48 via 2001:db8::1 metric 1024 (drift)",
			},
		},
		{
			name: "veth deleted", want: base, applied: base, lastApplied: true,
			kernel: func(o *state.State) {
				drop(o, "r", "up0")
				drop(o, "s", "eth0")
				o.Nodes["s"].Routes = nil
			},
			changes: []string{
				"+ r: link up0 (veth, peer s:eth0) (drift)",
				"+ r: addr 192.0.2.1/24 dev up0 (drift)",
				"+ r: addr 2001:db8::1/64 dev up0 (drift)",
				"+ s: addr 192.0.2.2/24 dev eth0 (drift)",
				"+ s: addr 2001:db8::2/64 dev eth0 (drift)",
				"+ s: route 10.0.0.0/24 via 192.0.2.1 (drift)",
				"+ s: route 2001:db8:1::/48 via 2001:db8::1 metric 1024 (drift)",
			},
		},
		{
			name: "veth re-wired by hand", want: base, applied: base, lastApplied: true,
			kernel: func(o *state.State) {
				// h:eth0 still claims r:p1, but is paired with another link.
				o.Nodes["h"].Links["eth0"].PeerIndex = 42
				state.ResolvePeers(o)
			},
			changes: []string{
				"-/+ h: link eth0 [peer (none) -> r:p1 cannot change in place] (drift)",
				"-/+ r: link p1 [peer (none) -> h:eth0 cannot change in place] (drift)",
				"+ h: link eth0 (veth, peer r:p1) (drift)",
				"+ h: addr 10.0.0.2/24 dev eth0 (drift)",
				"+ h: route default via 10.0.0.1 (drift)",
			},
		},
		{
			name: "route added by hand is unmanaged", want: base, applied: base, lastApplied: true,
			kernel: func(o *state.State) {
				o.Nodes["h"].Routes = append(o.Nodes["h"].Routes, state.Route{To: netip.MustParsePrefix("10.9.0.0/16"), Via: netip.MustParseAddr("10.0.0.9"), Dev: "eth0"})
			},
			unmanaged: []string{"- h: route 10.9.0.0/16 via 10.0.0.9 dev eth0 (unmanaged)"},
		},
		{
			name: "route added by hand is deleted with prune", want: base, applied: base, lastApplied: true,
			kernel: func(o *state.State) {
				o.Nodes["h"].Routes = append(o.Nodes["h"].Routes, state.Route{To: netip.MustParsePrefix("10.9.0.0/16"), Via: netip.MustParseAddr("10.0.0.9"), Dev: "eth0"})
			},
			opts:      plan.Options{Prune: true},
			changes:   []string{"- h: route 10.9.0.0/16 via 10.0.0.9 dev eth0 (unmanaged)"},
			unmanaged: []string{"- h: route 10.9.0.0/16 via 10.0.0.9 dev eth0 (unmanaged)"},
		},
		{
			name: "route of the file replaced by hand", want: base, applied: base, lastApplied: true,
			kernel: func(o *state.State) {
				o.Nodes["h"].Routes[0].Via = netip.MustParseAddr("10.0.0.9")
				o.Nodes["h"].Routes[0].Owned = false
			},
			changes: []string{"~ h: route default via 10.0.0.1: via 10.0.0.9 -> 10.0.0.1, owner (none) -> netlab (drift)"},
		},
		{
			name: "link added by hand is unmanaged", want: base, applied: base, lastApplied: true,
			kernel: func(o *state.State) {
				o.Nodes["r"].Links["dummy0"] = &state.Link{Name: "dummy0", Kind: "dummy", Index: 9}
			},
			unmanaged: []string{"- r: link dummy0 (dummy) (unmanaged)"},
		},
		{
			name: "sysctl changed", want: base, applied: base, lastApplied: true,
			kernel: func(o *state.State) {
				o.Nodes["r"].Sysctls["net.ipv4.ip_forward"] = "0"
			},
			changes: []string{"~ r: sysctl net.ipv4.ip_forward: value 0 -> 1 (drift)"},
		},
		{
			// The kernel reads "01" back as 1, "010" as 8, and prints
			// vectors with tabs: each is the value the file asks for.
			name: "sysctls read back as the kernel prints them", applied: base, lastApplied: true,
			want: edit(t, "{net.ipv4.ip_forward: 1}", `{net.ipv4.ip_forward: "01", net.core.somaxconn: "010", net.ipv4.tcp_rmem: "4096 131072  6291456"}`),
			kernel: func(o *state.State) {
				o.Nodes["r"].Sysctls["net.ipv4.ip_forward"] = "1"
				o.Nodes["r"].Sysctls["net.core.somaxconn"] = "8"
				o.Nodes["r"].Sysctls["net.ipv4.tcp_rmem"] = "4096\t131072\t6291456"
			},
		},
		{
			name: "a sysctl vector differs in one field", want: edit(t, "{net.ipv4.ip_forward: 1}", `{net.ipv4.ip_forward: 1, net.ipv4.tcp_rmem: "4096 131072 6291456"}`),
			applied: base, lastApplied: true,
			kernel: func(o *state.State) {
				o.Nodes["r"].Sysctls["net.ipv4.tcp_rmem"] = "4096\t87380\t6291456"
			},
			changes: []string{"~ r: sysctl net.ipv4.tcp_rmem: value 4096\t87380\t6291456 -> 4096 131072 6291456"},
		},
		{
			name: "namespace deleted", want: base, applied: base, lastApplied: true,
			kernel: func(o *state.State) {
				// Deleting t.h deletes the peer of h:eth0 too.
				delete(o.Nodes, "h")
				drop(o, "r", "p1")
			},
			changes: []string{
				"+ h: netns t.h (drift)",
				"+ h: link eth0 (veth, peer r:p1) (drift)",
				"+ h: addr 10.0.0.2/24 dev eth0 (drift)",
				"+ h: route default via 10.0.0.1 (drift)",
			},
		},
		{
			// A link netlab made has its kind's MTU unless the file says
			// otherwise; its MAC is the kernel's choice.
			name: "mtu changed by hand is drift when the file has none, mac is left", want: base, applied: base, lastApplied: true,
			kernel: func(o *state.State) {
				o.Nodes["r"].Links["br0"].MTU = 1400
				o.Nodes["r"].Links["br0"].MAC = "02:00:00:00:99:99"
				o.Nodes["r"].Links["lo"].MTU = 1500
			},
			changes: []string{
				"~ r: link br0: mtu 1400 -> 1500 (drift)",
				"~ r: link lo: mtu 1500 -> 65536 (drift)",
			},
		},

		// edits: the file changed since the last up
		{
			name: "mtu removed from the file", want: base, applied: edit(t, "  - [r:up0, s:eth0]\n", "  - {endpoints: [r:up0, s:eth0], mtu: 9000}\n"),
			lastApplied: true,
			changes: []string{
				"~ r: link up0: mtu 9000 -> 1500",
				"~ s: link eth0: mtu 9000 -> 1500",
			},
		},
		{
			name: "add node", applied: base, lastApplied: true,
			want: edit(t, "links:\n", "  n:\n    interfaces:\n      eth0: {addresses: [10.0.0.3/24]}\nlinks:\n  - [n:eth0, r:p2]\n",
				"      p1: {master: br0}\n", "      p1: {master: br0}\n      p2: {master: br0}\n"),
			changes: []string{
				"+ n: netns t.n",
				"+ n: link eth0 (veth, peer r:p2)",
				"+ n: addr 10.0.0.3/24 dev eth0",
			},
		},
		{
			name: "remove node", applied: base, lastApplied: true,
			want: edit(t, "  h:\n    interfaces:\n      eth0: {addresses: [10.0.0.2/24]}\n    routes: [{to: default, via: 10.0.0.1}]\n", "",
				"      p1: {master: br0}\n", "", "  - [h:eth0, r:p1]\n", ""),
			changes: []string{
				"- r: link p1 (veth, peer h:eth0, master br0)",
				"- h: netns t.h",
			},
		},
		{
			name: "add link", applied: base, lastApplied: true,
			want:    edit(t, "links:\n", "links:\n  - [h:eth1, s:eth1]\n"),
			changes: []string{"+ h: link eth1 (veth, peer s:eth1)"},
		},
		{
			name: "remove link", applied: base, lastApplied: true,
			want: edit(t, "  - [h:eth0, r:p1]\n", "", "      p1: {master: br0}\n", "",
				"      eth0: {addresses: [10.0.0.2/24]}\n    routes: [{to: default, via: 10.0.0.1}]\n", ""),
			changes: []string{
				"- h: route default via 10.0.0.1 dev eth0",
				"- h: link eth0 (veth, peer r:p1)",
				"- r: link p1 (veth, peer h:eth0, master br0)",
			},
		},
		{
			name: "add address", applied: base, lastApplied: true,
			want:    edit(t, "[10.0.0.2/24]", "[10.0.0.2/24, \"fd00::2/64\"]"),
			changes: []string{"+ h: addr fd00::2/64 dev eth0"},
		},
		{
			name: "remove address", applied: base, lastApplied: true,
			want:    edit(t, "[192.0.2.1/24, \"2001:db8::1/64\"]", "[192.0.2.1/24]"),
			changes: []string{"- r: addr 2001:db8::1/64 dev up0"},
		},
		{
			name: "change the address a route goes through", applied: base, lastApplied: true,
			want: edit(t, "[192.0.2.2/24, \"2001:db8::2/64\"]", "[192.0.2.3/24, \"2001:db8::2/64\"]"),
			changes: []string{
				// The kernel drops the IPv4 routes of a link that loses
				// its last IPv4 address, so the route is added again.
				"- s: addr 192.0.2.2/24 dev eth0",
				"+ s: addr 192.0.2.3/24 dev eth0",
				"+ s: route 10.0.0.0/24 via 192.0.2.1",
			},
		},
		{
			name: "add route", applied: base, lastApplied: true,
			want:    edit(t, "    routes: [{to: default, via: 10.0.0.1}]\n", "    routes: [{to: default, via: 10.0.0.1}, {to: 10.8.0.0/16, dev: eth0, metric: 5}]\n"),
			changes: []string{"+ h: route 10.8.0.0/16 dev eth0 metric 5"},
		},
		{
			name: "remove route", applied: base, lastApplied: true,
			want:    edit(t, "      - {to: \"2001:db8:1::/48\", via: \"2001:db8::1\"}\n", ""),
			changes: []string{"- s: route 2001:db8:1::/48 via 2001:db8::1 dev eth0 metric 1024"},
		},
		{
			name: "change route gateway", applied: base, lastApplied: true,
			want:    edit(t, "{to: default, via: 10.0.0.1}", "{to: default, via: 10.0.0.3}"),
			changes: []string{"~ h: route default via 10.0.0.3: via 10.0.0.1 -> 10.0.0.3"},
		},
		{
			name: "mtu change", applied: base, lastApplied: true,
			want: edit(t, "  - [r:up0, s:eth0]", "  - {endpoints: [r:up0, s:eth0], mtu: 9000}"),
			changes: []string{
				"~ r: link up0: mtu 1500 -> 9000",
				"~ s: link eth0: mtu 1500 -> 9000",
			},
		},
		{
			name: "move an interface to another bridge", applied: base, lastApplied: true,
			want:    edit(t, "p1: {master: br0}", "p1: {master: br1}"),
			changes: []string{"~ r: link p1: master br0 -> br1"},
		},
		{
			name: "interface set down", applied: base, lastApplied: true,
			want: edit(t, "eth0: {addresses: [192.0.2.2/24, \"2001:db8::2/64\"]}", "eth0: {addresses: [192.0.2.2/24, \"2001:db8::2/64\"], up: false}",
				// A route through a link declared down is invalid, so
				// both of s's routes go with it.
				"    routes:\n      - {to: 10.0.0.0/24, via: 192.0.2.1}\n      - {to: \"2001:db8:1::/48\", via: \"2001:db8::1\"}\n", ""),
			changes: []string{
				"- s: route 10.0.0.0/24 via 192.0.2.1 dev eth0",
				"- s: route 2001:db8:1::/48 via 2001:db8::1 dev eth0 metric 1024",
				"~ s: link eth0: up true -> false",
				// The kernel drops the IPv6 addresses of a link set down.
				"+ s: addr 2001:db8::2/64 dev eth0",
			},
		},
		{
			name: "peer change replaces both pairs", applied: base, lastApplied: true,
			want: edit(t, "  - [h:eth0, r:p1]\n  - [r:up0, s:eth0]\n", "  - [h:eth0, s:eth0]\n  - [r:up0, r:p1]\n",
				"      p1: {master: br0}\n", "      p1: {master: br0}\n"),
			changes: []string{
				"-/+ h: link eth0 [peer r:p1 -> s:eth0 cannot change in place]",
				"-/+ r: link p1 [peer h:eth0 -> r:up0 cannot change in place]",
				"-/+ r: link up0 [peer s:eth0 -> r:p1 cannot change in place]",
				"-/+ s: link eth0 [peer r:up0 -> h:eth0 cannot change in place]",
				"+ h: link eth0 (veth, peer s:eth0)",
				"+ r: link p1 (veth, peer r:up0, master br0)",
				"+ h: addr 10.0.0.2/24 dev eth0",
				"+ r: addr 192.0.2.1/24 dev up0",
				"+ r: addr 2001:db8::1/64 dev up0",
				"+ s: addr 192.0.2.2/24 dev eth0",
				"+ s: addr 2001:db8::2/64 dev eth0",
				"+ h: route default via 10.0.0.1",
				"+ s: route 10.0.0.0/24 via 192.0.2.1",
				"+ s: route 2001:db8:1::/48 via 2001:db8::1 metric 1024",
			},
		},
		{
			name: "sysctl added", applied: base, lastApplied: true,
			want:    edit(t, "{net.ipv4.ip_forward: 1}", "{net.ipv4.ip_forward: 1, net.ipv6.conf.all.forwarding: 1}"),
			changes: []string{"+ r: sysctl net.ipv6.conf.all.forwarding = 1"},
		},
		{
			name: "sysctl dropped from the file is left", applied: base, lastApplied: true,
			want: edit(t, "    sysctls: {net.ipv4.ip_forward: 1}\n", ""),
		},

		// objects netlab does not own
		{
			name: "foreign namespace of a node", want: base, applied: base,
			kernel: func(o *state.State) {
				o.Nodes["h"] = &state.Node{Name: "h", NetNS: "t.h", Foreign: true, Links: map[string]*state.Link{}, Sysctls: map[string]string{}}
				drop(o, "r", "p1")
			},
			opts:      plan.Options{Prune: true},
			conflicts: []string{`netns "t.h" in node "h" exists and is not managed by netlab: it has no netlab marker: remove it (ip netns del t.h) or rename the lab`},
		},
		{
			name: "foreign namespace at the far end of a pair", want: base, applied: base,
			kernel: func(o *state.State) {
				// r:up0 is left, its peer in t.s gone with t.s, which
				// someone made again without netlab's marker.
				o.Nodes["s"] = &state.Node{Name: "s", NetNS: "t.s", Foreign: true, Links: map[string]*state.Link{}, Sysctls: map[string]string{}}
				state.ResolvePeers(o)
			},
			opts:      plan.Options{Prune: true},
			conflicts: []string{`netns "t.s" in node "s" exists and is not managed by netlab: it has no netlab marker: remove it (ip netns del t.s) or rename the lab`},
		},
		{
			name: "foreign namespace outside the lab is left alone", want: base, applied: base,
			kernel: func(o *state.State) {
				o.Nodes["x"] = &state.Node{Name: "x", NetNS: "t.x", Foreign: true, Links: map[string]*state.Link{}, Sysctls: map[string]string{}}
			},
			opts: plan.Options{Prune: true},
		},
		{
			name: "link of a declared name that netlab did not make", want: base, applied: base,
			kernel: func(o *state.State) {
				o.Nodes["r"].Links["br1"] = &state.Link{Name: "br1", Kind: "bridge", Index: 20, MTU: 1500, Up: true}
			},
			conflicts: []string{`link "br1" in node "r" exists and is not managed by netlab: remove it or rename yours (up --prune replaces it)`},
		},
		{
			name: "link of a declared name that netlab did not make, with prune", want: base, applied: base,
			kernel: func(o *state.State) {
				o.Nodes["r"].Links["br1"] = &state.Link{Name: "br1", Kind: "bridge", Index: 20, MTU: 1500, Up: true}
			},
			opts: plan.Options{Prune: true},
			changes: []string{
				"-/+ r: link br1 [exists but netlab did not create it] (unmanaged)",
				"+ r: link br1 (bridge)",
			},
		},
		{
			name: "bridge replaced keeps its ports", applied: base,
			want: edit(t, "p1: {master: br0}", "p1: {master: br1}"),
			kernel: func(o *state.State) {
				o.Nodes["r"].Links["br1"].Owned = false
				o.Nodes["r"].Links["br1"].Alias = ""
				o.Nodes["r"].Links["p1"].Master = "br1"
			},
			opts: plan.Options{Prune: true},
			changes: []string{
				"-/+ r: link br1 [exists but netlab did not create it] (unmanaged)",
				"+ r: link br1 (bridge)",
				"~ r: link p1: master (none) -> br1",
			},
		},
		{
			name: "veth end of a declared name that netlab did not make", want: base, applied: base,
			kernel: func(o *state.State) {
				l := o.Nodes["s"].Links["eth0"]
				l.Owned, l.Alias, l.Peer = false, "", ""
				state.ResolvePeers(o)
			},
			conflicts: []string{`link "eth0" in node "s" exists and is not managed by netlab: remove it or rename yours (up --prune replaces it)`},
		},
		{
			name: "link of another lab", want: base, applied: base,
			kernel: func(o *state.State) {
				o.Nodes["h"].Links["eth9"] = &state.Link{Name: "eth9", Kind: "veth", Index: 9, Alias: state.LinkMarker("other", "x:eth0")}
			},
			unmanaged: []string{"- h: link eth9 (veth) (unmanaged)"},
		},

		// drift or edit: LastApplied tells them apart
		{
			name: "missing address without a record is not labelled", want: base, applied: base,
			kernel: func(o *state.State) {
				o.Nodes["h"].Links["eth0"].Addrs = nil
			},
			changes: []string{"+ h: addr 10.0.0.2/24 dev eth0"},
		},
		{
			name: "link set down by hand while the file edits its addresses", applied: base, lastApplied: true,
			want: edit(t, "[10.0.0.2/24]", "[10.0.0.2/24, 10.0.0.3/24]"),
			kernel: func(o *state.State) {
				o.Nodes["h"].Links["eth0"].Up = false
				o.Nodes["h"].Routes = nil
			},
			changes: []string{
				"~ h: link eth0: up false -> true (drift)",
				"+ h: addr 10.0.0.3/24 dev eth0",
				"+ h: route default via 10.0.0.1 (drift)",
			},
		},
		{
			name: "address new in the file is an edit, not drift", lastApplied: true,
			applied: base,
			want:    edit(t, "[10.0.0.2/24]", "[10.0.0.2/24, 10.0.0.3/24]"),
			kernel: func(o *state.State) {
				o.Nodes["h"].Links["eth0"].Addrs = nil
			},
			changes: []string{
				"+ h: addr 10.0.0.2/24 dev eth0 (drift)",
				"+ h: addr 10.0.0.3/24 dev eth0",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := desired(t, tc.want)
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
			p := plan.Diff(want, observed, tc.opts)
			// The hosts files follow the addresses of every node: their
			// changes are TestDiffHosts's, and left out here.
			p.Changes = slices.DeleteFunc(p.Changes, func(c *plan.Change) bool { return c.Object == plan.Hosts })
			if diff := cmp.Diff(tc.changes, changeLines(p.Changes)); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.unmanaged, changeLines(p.Unmanaged)); diff != "" {
				t.Errorf("unmanaged (-want +got):\n%s", diff)
			}
			var conflicts []string
			for _, c := range p.Conflicts {
				conflicts = append(conflicts, c.Error())
			}
			if diff := cmp.Diff(tc.conflicts, conflicts); diff != "" {
				t.Errorf("conflicts (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDiffReplace checks how a replacement reads: its delete half in the
// delete phase, its create half marked, and the two printed as one line.
func TestDiffReplace(t *testing.T) {
	applied := desired(t, base)
	want := desired(t, edit(t, "  - [h:eth0, r:p1]\n  - [r:up0, s:eth0]\n", "  - [h:eth0, s:eth0]\n  - [r:up0, r:p1]\n"))
	p := plan.Diff(want, built(applied), plan.Options{})
	var replaceAt, createAt = -1, -1
	for i, c := range p.Changes {
		switch {
		case c.Action == plan.Replace && c.Node == "h" && c.Name == "eth0":
			replaceAt = i
			if c.OldLink == nil || c.OldLink.Peer != "r:p1" {
				t.Errorf("replace of h:eth0 holds old link %+v, want the observed one", c.OldLink)
			}
			if got := c.Cmds(); !slices.Equal(got, []string{"ip -n t.h link del eth0"}) {
				t.Errorf("replace commands = %q", got)
			}
		case c.Action == plan.Create && c.Object == plan.Link && c.Node == "h" && c.Name == "eth0":
			createAt = i
			if !c.Replacing() {
				t.Errorf("the create half of the replacement is not marked Replacing")
			}
		}
	}
	if replaceAt < 0 || createAt < replaceAt {
		t.Fatalf("replace at %d, create at %d: want the delete half first", replaceAt, createAt)
	}
	create, update, replace, del := p.Counts()
	// 2 pairs made again (the create halves), 5 addresses, 3 routes.
	if replace != 4 || del != 0 || update != 0 || create != 2+5+3 {
		t.Errorf("counts = %d create, %d update, %d replace, %d delete", create, update, replace, del)
	}
	if s := p.Summary(); s != "Plan: 8 to create, 0 to change, 4 to replace, 0 to delete." {
		t.Errorf("summary = %q", s)
	}
}

// TestDiffDoesNotChangeItsInputs checks that Diff is a pure function: it
// leaves both states as they were, and gives the same plan twice.
func TestDiffDoesNotChangeItsInputs(t *testing.T) {
	applied := desired(t, base)
	want := desired(t, edit(t, "  - [h:eth0, r:p1]\n", "  - [h:eth0, s:eth1]\n", "      p1: {master: br0}\n", ""))
	observed := built(applied)
	observed.Nodes["h"].Links["eth0"].Up = false
	wantCopy, observedCopy := clone(t, want), clone(t, observed)
	first := plan.Diff(want, observed, plan.Options{Prune: true, LastApplied: applied})
	second := plan.Diff(want, observed, plan.Options{Prune: true, LastApplied: applied})
	if diff := cmp.Diff(wantCopy, want, netIP); diff != "" {
		t.Errorf("Diff changed the desired state:\n%s", diff)
	}
	if diff := cmp.Diff(observedCopy, observed, netIP); diff != "" {
		t.Errorf("Diff changed the observed state:\n%s", diff)
	}
	if diff := cmp.Diff(planText(first), planText(second)); diff != "" {
		t.Errorf("two Diffs of the same states differ:\n%s", diff)
	}
}
