package plan_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"netlab/lab/apply"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/plan"
	"netlab/lab/state"
)

// fuzzBytes hands out the fuzzer's bytes as small choices; when they run
// out, every choice is 0.
type fuzzBytes struct{ data []byte }

func (r *fuzzBytes) intn(n int) int {
	if n <= 1 || len(r.data) == 0 {
		return 0
	}
	b := r.data[0]
	r.data = r.data[1:]
	return int(b) % n
}

func (r *fuzzBytes) bool() bool { return r.intn(2) == 1 }

func pick[T any](r *fuzzBytes, s []T) T { return s[r.intn(len(s))] }

var fuzzNodes = []string{"a", "b", "c", "d"}

// genDesired makes a small desired state from the bytes, shaped as
// plan.Desired makes them from a valid lab: veth pairs whose ends name
// each other and share an MTU, bridges as masters in the same node,
// routes through a gateway in the subnet of an up link, marked links.
func genDesired(r *fuzzBytes, lab string) *state.State {
	s := state.New(lab)
	for i, name := range fuzzNodes[:1+r.intn(len(fuzzNodes))] {
		n := state.NewNode(name, state.NetNSName(lab, name))
		lo := &state.Link{Name: "lo", Kind: "loopback", Up: true}
		if r.intn(4) == 0 {
			lo.Addrs = []netip.Prefix{netip.MustParsePrefix(fmt.Sprintf("10.255.%d.1/32", i))}
		}
		n.Links["lo"] = lo
		for b := range r.intn(3) {
			br := &state.Link{Name: fmt.Sprintf("br%d", b), Kind: "bridge", Up: r.intn(5) != 0, Owned: true, Alias: state.LinkMarker(lab, "")}
			if r.bool() {
				br.Addrs = []netip.Prefix{netip.MustParsePrefix(fmt.Sprintf("10.%d.%d.1/24", 100+b, i))}
			}
			if r.intn(4) == 0 { // issue 18: a bridge running STP
				br.STP = true
				br.STPSettings = &state.STPSettings{ForwardDelay: 2 * time.Second, HelloTime: time.Second, MaxAge: 6 * time.Second, Priority: uint16(4096 * r.intn(8))}
			}
			n.Links[br.Name] = br
		}
		s.Nodes[name] = n
	}
	nodes := s.NodeNames()
	nextIf := func(n *state.Node) string {
		for j := 0; ; j++ {
			if name := fmt.Sprintf("e%d", j); n.Links[name] == nil {
				return name
			}
		}
	}
	macs := 0
	for k := range r.intn(5) {
		an, bn := s.Nodes[pick(r, nodes)], s.Nodes[pick(r, nodes)]
		mtu := pick(r, []int{0, 0, 1400, 9000})
		a := &state.Link{Name: nextIf(an), Kind: "veth", MTU: mtu, Owned: true}
		an.Links[a.Name] = a // so that b gets another name in the same node
		b := &state.Link{Name: nextIf(bn), Kind: "veth", MTU: mtu, Owned: true}
		bn.Links[b.Name] = b
		a.Peer, b.Peer = bn.Name+":"+b.Name, an.Name+":"+a.Name
		for j, end := range []struct {
			n *state.Node
			l *state.Link
		}{{an, a}, {bn, b}} {
			l := end.l
			l.Alias = state.LinkMarker(lab, l.Peer)
			l.Up = r.intn(5) != 0
			if r.intn(4) == 0 {
				macs++
				l.MAC = fmt.Sprintf("02:00:00:00:%02x:%02x", k, macs)
			}
			if bridges := bridgesOf(end.n); len(bridges) > 0 && r.bool() {
				l.Master = pick(r, bridges)
				p := state.DefaultPortFlags // issue 18: every port's flags, as Desired gives them
				p.Hairpin, p.Learning = r.intn(3) == 0, r.intn(3) != 0
				l.BridgePort = &p
			} else if r.intn(3) == 0 {
				l.Neighbors = []state.Neighbor{{IP: netip.MustParseAddr(fmt.Sprintf("10.%d.0.%d", k, 50+j)), MAC: pick(r, []string{"02:00:00:00:00:50", "02:00:00:00:00:51"})}}
			}
			switch r.intn(6) { // netlab's egress qdisc: tbf, netem, or none
			case 0:
				l.Egress = state.Impairment{Rate: 10e6}
			case 1:
				l.Egress = state.Impairment{Delay: 20 * time.Millisecond, Loss: 1}
			}
			switch r.intn(4) {
			case 1:
				l.Addrs = append(l.Addrs, netip.MustParsePrefix(fmt.Sprintf("10.%d.0.%d/24", k, j+1)))
			case 2:
				l.Addrs = append(l.Addrs, netip.MustParsePrefix(fmt.Sprintf("fd00:%d::%d/64", k, j+1)))
			case 3:
				l.Addrs = append(l.Addrs, netip.MustParsePrefix(fmt.Sprintf("10.%d.0.%d/24", k, j+1)),
					netip.MustParsePrefix(fmt.Sprintf("fd00:%d::%d/64", k, j+1)))
			}
		}
	}
	for _, name := range nodes {
		n := s.Nodes[name]
		seen := make(map[string]bool)
		for range r.intn(4) {
			if rt, ok := genRoute(r, n); ok && !seen[rt.Key()] {
				seen[rt.Key()] = true
				n.Routes = append(n.Routes, rt)
			}
		}
		state.SortRoutes(n.Routes)
		for _, key := range []string{"net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding"} {
			if r.intn(3) == 0 {
				n.Sysctls[key] = pick(r, []string{"0", "1"})
			}
		}
		// Processes, by name, whose declaration may differ between the
		// two versions; and a hosts file in one of two versions.
		for _, pname := range []string{"web", "dns"} {
			if r.intn(3) == 0 {
				argv := pick(r, [][]string{{"sleep", "infinity"}, {"/bin/sh", "-c", "exec nc -l 80"}, {"sleep", "99"}})
				p := &state.Process{Name: pname, Argv: argv, Dir: pick(r, []string{"/", "/tmp"})}
				p.Hash = state.DeclHash(p.Argv, p.Env, p.Dir)
				n.Procs[pname] = p
			}
		}
		// Every node of a lab has one, as Desired writes it.
		n.Hosts = &state.HostsFile{Content: state.HostsHeader + pick(r, []string{"one\n", "two\n"})}
		n.Rules = genRules(r)
	}
	return s
}

// genRules makes up to three policy rules, as plan.Desired makes them
// from a valid lab: each once, of one family, marked.
func genRules(r *fuzzBytes) []state.Rule {
	var out []state.Rule
	seen := make(map[string]bool)
	for range r.intn(4) {
		rl := state.Rule{Priority: pick(r, []uint32{1000, 1001, 500}), Table: pick(r, []uint32{100, 254, 4000000000}), Owned: true}
		switch r.intn(4) {
		case 0:
			rl.From = netip.MustParsePrefix("10.1.0.0/24")
		case 1:
			rl.IPv6, rl.To = true, netip.MustParsePrefix("fd99::/48")
		case 2:
			rl.IPv6 = r.bool()
			rl.Mark, rl.Mask = 0x10, 0xff
		default:
			rl.IIf = pick(r, []string{"e0", "lo"})
		}
		if !seen[rl.Key()] {
			seen[rl.Key()] = true
			out = append(out, rl)
		}
	}
	state.SortRules(out)
	return out
}

func bridgesOf(n *state.Node) []string {
	var out []string
	for _, name := range n.LinkNames() {
		if n.Links[name].Kind == "bridge" {
			out = append(out, name)
		}
	}
	return out
}

// genRoute makes a route of n through one of its up links that has an
// address: by gateway (the subnet's last host), by device, or both.
func genRoute(r *fuzzBytes, n *state.Node) (state.Route, bool) {
	type onLink struct {
		dev string
		p   netip.Prefix
	}
	var links []onLink
	for _, name := range n.LinkNames() {
		l := n.Links[name]
		if !l.Up || l.Kind == "loopback" {
			continue
		}
		for _, p := range l.Addrs {
			links = append(links, onLink{name, p})
		}
	}
	if len(links) == 0 {
		return state.Route{}, false
	}
	via := pick(r, links)
	v4 := via.p.Addr().Is4()
	dests := []string{"0.0.0.0/0", "10.200.0.0/16", "10.201.1.0/24"}
	if !v4 {
		dests = []string{"::/0", "fd99::/48", "fd98:1::/64"}
	}
	gw := via.p.Masked().Addr()
	for range 254 { // the subnets are /24 and /64: .254 and ::fe are in them
		gw = gw.Next()
	}
	rt := state.Route{To: netip.MustParsePrefix(pick(r, dests)), Metric: pick(r, []uint32{0, 0, 10}), Owned: true}
	switch r.intn(3) {
	case 0:
		rt.Via = gw
	case 1:
		rt.Dev = via.dev
	default:
		rt.Via, rt.Dev = gw, via.dev
	}
	if rt.Metric == 0 && !v4 {
		rt.Metric = 1024 // as plan.Desired does
	}
	if r.intn(3) == 0 {
		rt.Table = pick(r, []uint32{100, 4000000000})
	}
	return rt, true
}

// handCommands are what someone might do to a lab's namespaces by hand,
// as templates: NS and NS2 stand for namespaces of the lab, L and L2 for
// link names, P for an address.
var handCommands = []string{
	"ip -n NS link set L down",
	"ip -n NS link set L up",
	"ip -n NS link del L",
	"ip -n NS link add L type dummy",
	"ip -n NS link add L type bridge",
	"ip -n NS link set L mtu 1300",
	"ip -n NS link set L nomaster",
	"ip -n NS link set L master L2",
	"ip -n NS link set L alias ''",
	"ip -n NS link set L address 02:00:00:00:ff:01",
	"ip -n NS addr add P dev L",
	"ip -n NS addr del P dev L",
	"ip -n NS route add 10.77.0.0/16 dev L",
	"ip -n NS route del default",
	"ip -n NS route replace default via 10.0.0.254 proto boot",
	"ip netns exec NS sysctl -w net.ipv4.ip_forward=0",
	"ip netns del NS",
	"ip netns add NS",
	"ip -n NS link set lo alias ''",
	"ip -n NS link add L type veth peer name L2 netns NS2",
	"ip -n NS link set L alias netlab:fz:PEER",
	"ip netns exec NS env sleep 9 &",
	"rm -f /etc/netns/NS/hosts",
	"ip -n NS rule add priority 1000 from 10.1.0.0/24 table 100",
	"ip -n NS rule del priority 1000 from 10.1.0.0/24 table 100 proto 78",
	"ip -n NS rule add priority 1000 from 10.1.0.0/24 table 100 proto 78",
	"ip -n NS route del default table 100",
	"ip -n NS route add 10.78.0.0/16 dev L table 100 proto 78",
	// issue 18: port flags, STP, neighbours changed by hand
	"ip -n NS link set L type bridge_slave hairpin on learning off",
	"ip -n NS link set L type bridge stp_state 1 forward_delay 300",
	"ip -n NS link set L type bridge stp_state 0",
	"ip -n NS neigh replace 10.0.0.51 lladdr 02:00:00:00:00:99 dev L nud permanent proto 78",
	"ip -n NS neigh replace 10.0.0.50 lladdr 02:00:00:00:00:98 dev L nud permanent",
	"ip -n NS neigh del 10.0.0.50 dev L",
	"tc -n NS qdisc del dev L root handle 4e:",
	"tc -n NS qdisc replace dev L root handle 4e: tbf rate 1mbit burst 15140 latency 50ms",
	"tc -n NS qdisc replace dev L root handle 4e: netem delay 5ms",
	"tc -n NS qdisc add dev L root handle 8001: tbf rate 1mbit burst 32kb latency 50ms",
}

// drift runs a few hand commands chosen by the bytes. Commands that fail
// (a link that is not there) change nothing, as in a shell.
func drift(r *fuzzBytes, k *kerneltest.Fake) []string {
	names := []string{"e0", "e1", "e2", "e3", "br0", "br1", "lo", "dummy0"}
	addrs := []string{"10.0.0.1/24", "10.1.0.2/24", "fd00:0::1/64", "10.255.0.1/32", "10.100.0.1/24"}
	var ran []string
	for range r.intn(6) {
		cmd := strings.NewReplacer(
			"NS2", "fz."+pick(r, fuzzNodes),
			"NS", "fz."+pick(r, fuzzNodes),
			"L2", pick(r, names),
			"PEER", pick(r, fuzzNodes)+":"+pick(r, names),
			"P", pick(r, addrs),
			"L", pick(r, names),
		).Replace(pick(r, handCommands))
		if k.Seed(cmd) == nil {
			ran = append(ran, cmd)
		}
	}
	return ran
}

// FuzzDiff builds a lab (an earlier version of it, applied to the fake
// kernel and then changed by hand) and a new version, and checks that
// Diff does not panic, changes neither input, gives the same plan twice,
// and that applying its plan makes the kernel match the new version: a
// second Diff is empty.
//
//	go test ./lab/plan -run '^$' -fuzz FuzzDiff -fuzztime 5m
func FuzzDiff(f *testing.F) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 64 {
		seed := make([]byte, 160)
		for i := range seed {
			seed[i] = byte(rng.UintN(256))
		}
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx := context.Background()
		r := &fuzzBytes{data: data}
		earlier, want := genDesired(r, "fz"), genDesired(r, "fz")
		k := kerneltest.NewFake()
		if _, err := apply.Apply(ctx, k, plan.Diff(earlier, nil, plan.Options{}), apply.Options{}); err != nil {
			t.Fatalf("build the earlier lab from nothing: %v", err)
		}
		if err := apply.Verify(ctx, k, earlier, nil, plan.Options{}); err != nil {
			t.Fatalf("earlier lab: %v", err)
		}
		hand := drift(r, k)
		opts := plan.Options{Prune: r.bool()}
		if r.bool() {
			opts.LastApplied = earlier
		}
		observed, err := k.Observe(ctx, "fz", want)
		if err != nil {
			t.Fatal(err)
		}
		wantCopy, observedCopy := clone(t, want), clone(t, observed)
		p := plan.Diff(want, observed, opts)
		if diff := cmp.Diff(wantCopy, want, netIP); diff != "" {
			t.Fatalf("Diff changed the desired state:\n%s", diff)
		}
		if diff := cmp.Diff(observedCopy, observed, netIP); diff != "" {
			t.Fatalf("Diff changed the observed state:\n%s", diff)
		}
		// reconcile.Plan diffs without the record first, and reads it
		// only for a plan that is not empty: the record must only label
		// and describe changes, never add or take one away.
		if opts.LastApplied != nil {
			bare := plan.Diff(want, observed, plan.Options{Prune: opts.Prune})
			if got, with := changeKeys(bare), changeKeys(p); !slices.Equal(got, with) {
				t.Fatalf("the record changed what the plan does:\n%s", cmp.Diff(got, with))
			}
		}
		text := planText(p)
		if again := planText(plan.Diff(want, observed, opts)); again != text {
			t.Fatalf("Diff is not deterministic:\n%s", cmp.Diff(text, again))
		}
		context := fmt.Sprintf("hand commands:\n  %s\nprune: %v\nplan:\n%s", strings.Join(hand, "\n  "), opts.Prune, text)

		writes := k.Writes()
		_, err = apply.Apply(ctx, k, p, apply.Options{})
		if len(p.Conflicts) > 0 {
			if err == nil || k.Writes() != writes {
				t.Fatalf("apply with conflicts: err %v, %d writes; want an error and none\n%s", err, k.Writes()-writes, context)
			}
			return
		}
		if err != nil {
			t.Fatalf("apply: %v\n%s", err, context)
		}
		observed, err = k.Observe(ctx, "fz", want)
		if err != nil {
			t.Fatal(err)
		}
		after := plan.Diff(want, observed, plan.Options{Prune: opts.Prune})
		if !after.Empty() || len(after.Conflicts) > 0 || (opts.Prune && len(after.Unmanaged) > 0) {
			t.Fatalf("the plan after apply is not empty:\n%s\n%s\nkernel:\n%s", planText(after), context, k)
		}
	})
}

// changeKeys is what a plan does, without its labels and texts: each
// change, unmanaged object and conflict by its identity, in order.
func changeKeys(p *plan.Plan) []string {
	var keys []string
	for _, c := range p.Changes {
		keys = append(keys, fmt.Sprint("change ", c.Action, " ", c.Object, " ", c.Node, " ", c.Name))
	}
	for _, c := range p.Unmanaged {
		keys = append(keys, fmt.Sprint("unmanaged ", c.Action, " ", c.Object, " ", c.Node, " ", c.Name))
	}
	for _, c := range p.Conflicts {
		keys = append(keys, fmt.Sprint("conflict ", c.Object, " ", c.Node, " ", c.Name))
	}
	return keys
}
