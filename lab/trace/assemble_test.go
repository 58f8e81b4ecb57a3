package trace

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"

	"netlab/lab"
	"netlab/lab/kernel"
	"netlab/lab/state"
)

// singleIPUDP is the UDP probe from c2 to server's echo port in the
// single-ip lab: out of c2, across host's bridge (bridge hooks, then the
// bridge's own prerouting), forwarded and masqueraded by host, delivered
// to server; the answer back, translated back by conntrack at host's
// prerouting, out by the bridge to c2.
func singleIPUDP(t *testing.T) ([]kernel.TraceEvent, *state.State, *fakeHops) {
	st := labState(t, "single-ip")
	masq := ruleTag(t, st, "host", "nat_postrouting", "masquerade")
	const c2, host, server = "single-ip.c2", "single-ip.host", "single-ip.server"
	req := udp("192.168.31.11:40001", "198.51.100.183:7")
	reqNAT := udp("198.51.100.86:40001", "198.51.100.183:7")
	ans := udp("198.51.100.183:7", "198.51.100.86:40001")
	ansNAT := udp("198.51.100.183:7", "192.168.31.11:40001")
	var b traceBuilder
	b.hook(c2, 11, "output", "", "veth0", req, req)
	b.hook(c2, 11, "postrouting", "", "veth0", req, req)
	b.bridgeHook(host, 21, "prerouting", "veth2", "", req)
	b.bridgeHook(host, 21, "input", "veth2", "", req)
	b.hook(host, 22, "prerouting", "br0", "", req, req)
	b.hook(host, 22, "forward", "br0", "eth0", req, req)
	b.hook(host, 22, "postrouting", "", "eth0", req, reqNAT, rule("nat_postrouting", state.PrioritySrcNAT, masq, "accept"))
	b.hook(server, 31, "prerouting", "eth0", "", reqNAT, reqNAT)
	b.hook(server, 31, "input", "eth0", "", reqNAT, reqNAT)
	b.hook(server, 32, "output", "", "eth0", ans, ans)
	b.hook(server, 32, "postrouting", "", "eth0", ans, ans)
	b.hook(host, 23, "prerouting", "eth0", "", ans, ansNAT)
	b.hook(host, 23, "forward", "eth0", "br0", ansNAT, ansNAT)
	b.hook(host, 23, "postrouting", "", "br0", ansNAT, ansNAT)
	b.bridgeHook(host, 23, "output", "", "veth2", ansNAT)
	b.bridgeHook(host, 23, "postrouting", "", "veth2", ansNAT)
	b.hook(c2, 12, "prerouting", "veth0", "", ansNAT, ansNAT)
	b.hook(c2, 12, "input", "veth0", "", ansNAT, ansNAT)

	hops := &fakeHops{}
	hops.route(c2, "0.0.0.0/0", "veth0", "192.168.31.1")
	hops.route(c2, "192.168.31.0/24", "veth0", "")
	hops.route(host, "192.168.31.0/24", "br0", "")
	hops.route(host, "198.51.100.0/24", "eth0", "")
	hops.route(server, "198.51.100.0/24", "eth0", "")
	return b.events, st, hops
}

func TestAssembleSingleIPUDP(t *testing.T) {
	events, st, hops := singleIPUDP(t)
	r := Assemble(events, st, hops, nil)
	if r.From != "c2" || r.To != "server" || r.Proto != "udp" || r.Port != 7 || r.Target != netip.MustParseAddr("198.51.100.183") || r.Lab != "single-ip" {
		t.Errorf("result: from %q to %q proto %q port %d target %s lab %q", r.From, r.To, r.Proto, r.Port, r.Target, r.Lab)
	}
	wantReq := []string{
		"c2 route output -> veth0 via 192.168.31.1",
		"c2 hook output",
		"c2 hook postrouting",
		"host bridge prerouting",
		"host bridge input",
		"host hook prerouting",
		"host route forward -> eth0",
		"host hook forward",
		"host hook postrouting nat",
		"server hook prerouting",
		"server hook input",
	}
	if got := stepSummary(r.Request); !slices.Equal(got, wantReq) {
		t.Errorf("request steps:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantReq, "\n"))
	}
	nat := r.Request.Steps[8]
	if nat.Chain != "nat_postrouting" || nat.Priority == nil || *nat.Priority != 100 || nat.Verdict != "accept" ||
		nat.Rule != "ip saddr 192.168.31.0/24 oifname \"eth0\" counter masquerade" {
		t.Errorf("nat step: %+v", nat)
	}
	if nat.Before == nil || nat.After == nil || nat.Before.Src != "192.168.31.11:40001" || nat.After.Src != "198.51.100.86:40001" || nat.After.Dst != "198.51.100.183:7" {
		t.Errorf("nat step addresses: before %+v after %+v", nat.Before, nat.After)
	}
	if r.Request.End != (End{What: "delivered", Node: "server"}) {
		t.Errorf("request end: %+v", r.Request.End)
	}
	if r.Answer == nil {
		t.Fatal("no answer")
	}
	wantAns := []string{
		"server route output -> eth0",
		"server hook output",
		"server hook postrouting",
		"host hook prerouting",
		"host route forward -> br0",
		"host hook forward",
		"host hook postrouting",
		"host bridge output",
		"host bridge postrouting",
		"c2 hook prerouting",
		"c2 hook input",
	}
	if got := stepSummary(r.Answer); !slices.Equal(got, wantAns) {
		t.Errorf("answer steps:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantAns, "\n"))
	}
	back := r.Answer.Steps[3]
	if back.Rule != "conntrack" || back.Before == nil || back.Before.Dst != "198.51.100.86:40001" || back.After.Dst != "192.168.31.11:40001" || back.After.Src != back.Before.Src {
		t.Errorf("answer's reverse translation: %+v before %+v after %+v", back, back.Before, back.After)
	}
	if r.Answer.End != (End{What: "delivered", Node: "c2"}) {
		t.Errorf("answer end: %+v", r.Answer.End)
	}
	for i, s := range append(slices.Clone(r.Request.Steps), r.Answer.Steps...) {
		if (s.Before != nil) != (s.After != nil) || (s.Before != nil && *s.Before == *s.After) {
			t.Errorf("step %d (%s %s) has before/after without a change: %+v %+v", i, s.Node, s.Hook, s.Before, s.After)
		}
	}
	want := Path{From: "c2", To: "server", Proto: "udp", Via: []string{"host"}, NAT: "snat", End: "delivered"}
	if got := r.Path(); !reflect.DeepEqual(got, want) {
		t.Errorf("path %+v, want %+v", got, want)
	}
	golden(t, r)
}

// stepSummary is a way's steps in short: node, kind, hook, the table
// when a chain of the lab met the packet, the route.
func stepSummary(w *Way) []string {
	var out []string
	for _, s := range w.Steps {
		line := s.Node + " " + s.Kind + " " + s.Hook
		if s.Table != "" {
			line += " " + s.Table
		}
		if s.Route != "" {
			line += " " + s.Route
		}
		out = append(out, line)
	}
	return out
}

// renumber gives the events new Seq numbers in the order of order, which
// keeps each namespace's events in their order but may interleave
// namespaces any way.
func renumber(events []kernel.TraceEvent, order func(a, b kernel.TraceEvent) int) []kernel.TraceEvent {
	out := slices.Clone(events)
	slices.SortStableFunc(out, order)
	for i := range out {
		out[i].Seq = uint64(i + 1)
	}
	return out
}

// TestAssembleOrderAcrossNamespaces: the order of arrival across
// namespaces is not the packet's (each namespace's socket is read on its
// own); the veth peers put the segments in order whatever it is.
func TestAssembleOrderAcrossNamespaces(t *testing.T) {
	events, st, hops := singleIPUDP(t)
	want := Assemble(events, st, hops, nil)
	orders := map[string]func(a, b kernel.TraceEvent) int{
		// Every event of the next namespace before the last ones of
		// the previous: server's, then host's, then c2's.
		"namespaces reversed": func(a, b kernel.TraceEvent) int { return strings.Compare(b.NetNS, a.NetNS) },
		"namespaces by name":  func(a, b kernel.TraceEvent) int { return strings.Compare(a.NetNS, b.NetNS) },
		// The first event of each namespace's segments last: a late
		// reader.
		"round robin": func(a, b kernel.TraceEvent) int { return int(a.ID%10) - int(b.ID%10) },
	}
	for name, order := range orders {
		t.Run(name, func(t *testing.T) {
			shuffled := renumber(events, order)
			if slices.EqualFunc(shuffled, events, func(a, b kernel.TraceEvent) bool { return a.NetNS == b.NetNS && a.ID == b.ID && a.Hook == b.Hook }) {
				t.Fatal("the order did not change")
			}
			got := Assemble(shuffled, st, hops, nil)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("with the events in another order:\n%s\nwant:\n%s", text(t, got), text(t, want))
			}
		})
	}
}

// TestAssembleFallsBackToArrival: where the topology says nothing (the
// link is no veth of the lab: a macvlan, a vxlan), the next segment is the
// first one elsewhere that starts with the packet the last one left with.
func TestAssembleFallsBackToArrival(t *testing.T) {
	st := state.New("mv")
	for _, n := range []string{"a", "b", "c"} {
		st.Nodes[n] = state.NewNode(n, state.NetNSName("mv", n))
		st.Nodes[n].Links["mv0"] = &state.Link{Name: "mv0", Kind: "macvlan"}
	}
	req := echo("10.0.0.1", "10.0.0.2", false, 9)
	rep := echo("10.0.0.2", "10.0.0.1", true, 9)
	other := echo("10.0.0.3", "10.0.0.1", true, 9) // c's, not an answer to the request
	var b traceBuilder
	b.hook("mv.a", 1, "output", "", "mv0", req, req)
	b.hook("mv.a", 1, "postrouting", "", "mv0", req, req)
	b.hook("mv.c", 7, "output", "", "mv0", other, other)
	b.hook("mv.b", 2, "prerouting", "mv0", "", req, req)
	b.hook("mv.b", 2, "input", "mv0", "", req, req)
	b.hook("mv.b", 3, "output", "", "mv0", rep, rep)
	b.hook("mv.b", 3, "postrouting", "", "mv0", rep, rep)
	b.hook("mv.a", 4, "prerouting", "mv0", "", rep, rep)
	b.hook("mv.a", 4, "input", "mv0", "", rep, rep)
	r := Assemble(b.events, st, nil, nil)
	if r.From != "a" || r.To != "b" || r.Proto != "icmp" {
		t.Errorf("from %q to %q proto %q", r.From, r.To, r.Proto)
	}
	if r.Request.Packet != "icmp 10.0.0.1 -> 10.0.0.2 echo-request id 9" {
		t.Errorf("request packet %q", r.Request.Packet)
	}
	if r.Answer == nil || r.Answer.End != (End{What: "delivered", Node: "a"}) || r.Answer.Steps[0].Node != "b" {
		t.Fatalf("answer: %+v", r.Answer)
	}
	if got := r.Answer.Packet; got != "icmp 10.0.0.2 -> 10.0.0.1 echo-reply id 9" {
		t.Errorf("answer packet %q", got)
	}
	if got, want := stepSummary(r.Request), []string{"a route output -> mv0", "a hook output", "a hook postrouting", "b hook prerouting", "b hook input"}; !slices.Equal(got, want) {
		t.Errorf("request steps %q, want %q", got, want)
	}
}

// nfHooksTCP is a TCP connection from client to web through fw's DNAT
// in the netfilter-hooks lab: the SYN (the request), the SYN-ACK (the
// answer), and the later packets of the connection (ACK, FIN), which a
// trace does not show. web's kernel gives the ACK the trace ID the SYN
// had (a freed buffer reused): a second packet all the same.
func nfHooksTCP(t *testing.T, forwardPolicy string) ([]kernel.TraceEvent, *state.State, *fakeHops) {
	st := labState(t, "netfilter-hooks")
	dnat := ruleTag(t, st, "fw", "nat_prerouting", "dnat")
	count := ruleTag(t, st, "fw", "filter_forward", "tcp dport 80")
	const client, fw, web = "nf-hooks.client", "nf-hooks.fw", "nf-hooks.web"
	var b traceBuilder
	synOut := tcp("198.51.100.20:40002", "198.51.100.1:80", syn)
	synIn := tcp("198.51.100.20:40002", "192.168.50.80:80", syn)
	b.hook(client, 1, "output", "", "eth0", synOut, synOut)
	b.hook(client, 1, "postrouting", "", "eth0", synOut, synOut)
	b.hook(fw, 2, "prerouting", "eth1", "", synOut, synIn, rule("nat_prerouting", state.PriorityDstNAT, dnat, "accept"))
	fwd := []labEvent{rule("filter_forward", state.PriorityFilter, count, "continue"), policy("filter_forward", state.PriorityFilter, forwardPolicy)}
	b.hook(fw, 2, "forward", "eth1", "eth0", synIn, synIn, fwd...)
	if forwardPolicy == "drop" {
		hops := &fakeHops{}
		hops.route(client, "198.51.100.0/24", "eth0", "")
		hops.route(fw, "192.168.50.0/24", "eth0", "")
		return b.events, st, hops
	}
	b.hook(fw, 2, "postrouting", "", "eth0", synIn, synIn, policy("nat_postrouting", state.PrioritySrcNAT, "accept"))
	b.hook(web, 3, "prerouting", "eth0", "", synIn, synIn)
	b.hook(web, 3, "input", "eth0", "", synIn, synIn)
	synAck := tcp("192.168.50.80:80", "198.51.100.20:40002", syn|ack)
	synAckOut := tcp("198.51.100.1:80", "198.51.100.20:40002", syn|ack)
	b.hook(web, 4, "output", "", "eth0", synAck, synAck)
	b.hook(web, 4, "postrouting", "", "eth0", synAck, synAck)
	b.hook(fw, 5, "prerouting", "eth0", "", synAck, synAck)
	b.hook(fw, 5, "forward", "eth0", "eth1", synAck, synAck, policy("filter_forward", state.PriorityFilter, "accept"))
	b.hook(fw, 5, "postrouting", "", "eth1", synAck, synAckOut)
	b.hook(client, 6, "prerouting", "eth0", "", synAckOut, synAckOut)
	b.hook(client, 6, "input", "eth0", "", synAckOut, synAckOut)
	// The rest of the connection.
	for _, flags := range []byte{ack, fin | ack} {
		out := tcp("198.51.100.20:40002", "198.51.100.1:80", flags)
		in := tcp("198.51.100.20:40002", "192.168.50.80:80", flags)
		b.hook(client, 7, "output", "", "eth0", out, out)
		b.hook(client, 7, "postrouting", "", "eth0", out, out)
		b.hook(fw, 8, "prerouting", "eth1", "", out, in)
		b.hook(fw, 8, "forward", "eth1", "eth0", in, in, fwd...)
		b.hook(fw, 8, "postrouting", "", "eth0", in, in)
		b.hook(web, 3, "prerouting", "eth0", "", in, in)
		b.hook(web, 3, "input", "eth0", "", in, in)
	}
	hops := &fakeHops{}
	hops.route(client, "198.51.100.0/24", "eth0", "")
	hops.route(fw, "192.168.50.0/24", "eth0", "")
	hops.route(fw, "198.51.100.0/24", "eth1", "")
	hops.route(web, "0.0.0.0/0", "eth0", "192.168.50.1")
	return b.events, st, hops
}

func TestAssembleDNATAndLaterPackets(t *testing.T) {
	events, st, hops := nfHooksTCP(t, "accept")
	r := Assemble(events, st, hops, nil)
	wantReq := []string{
		"client route output -> eth0",
		"client hook output",
		"client hook postrouting",
		"fw hook prerouting nat",
		"fw route forward -> eth0",
		"fw hook forward filter",
		"fw hook forward filter",
		"fw hook postrouting nat",
		"web hook prerouting",
		"web hook input",
	}
	if got := stepSummary(r.Request); !slices.Equal(got, wantReq) {
		t.Errorf("request steps:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantReq, "\n"))
	}
	d := r.Request.Steps[3]
	if d.Before == nil || d.Before.Dst != "198.51.100.1:80" || d.After.Dst != "192.168.50.80:80" || d.Before.Src != d.After.Src || d.Rule != "meta nfproto ipv4 iifname \"eth1\" tcp dport 80 counter dnat ip to 192.168.50.80:80" {
		t.Errorf("dnat step %+v before %+v after %+v", d, d.Before, d.After)
	}
	if f := r.Request.Steps[6]; f.Verdict != "policy accept" || f.Rule != "" {
		t.Errorf("forward policy step %+v", f)
	}
	if r.Request.Packet != "tcp 198.51.100.20:40002 -> 198.51.100.1:80" {
		t.Errorf("request packet %q", r.Request.Packet)
	}
	if r.Answer == nil {
		t.Fatal("no answer")
	}
	if len(r.Answer.Steps) != 9 || r.Answer.End != (End{What: "delivered", Node: "client"}) {
		t.Errorf("answer: %d steps, end %+v:\n%s", len(r.Answer.Steps), r.Answer.End, strings.Join(stepSummary(r.Answer), "\n"))
	}
	back := r.Answer.Steps[6] // fw postrouting: the DNAT undone by conntrack
	if back.Node != "fw" || back.Hook != "postrouting" || back.Rule != "conntrack" || back.Before.Src != "192.168.50.80:80" || back.After.Src != "198.51.100.1:80" {
		t.Errorf("answer's reverse translation: %+v before %+v after %+v", back, back.Before, back.After)
	}
	want := Path{From: "client", To: "web", Proto: "tcp", Via: []string{"fw"}, NAT: "dnat", End: "delivered"}
	if got := r.Path(); !reflect.DeepEqual(got, want) {
		t.Errorf("path %+v, want %+v", got, want)
	}
	golden(t, r)
}

func TestAssembleDropByPolicy(t *testing.T) {
	events, st, hops := nfHooksTCP(t, "drop")
	r := Assemble(events, st, hops, nil)
	if want := (End{What: "dropped", Node: "fw", Hook: "forward", Rule: "policy drop"}); r.Request.End != want {
		t.Errorf("end %+v, want %+v", r.Request.End, want)
	}
	if last := r.Request.Steps[len(r.Request.Steps)-1]; last.Verdict != "policy drop" || last.Table != "filter" {
		t.Errorf("last step %+v", last)
	}
	if r.Answer != nil {
		t.Errorf("an answer to a dropped packet: %+v", r.Answer)
	}
	want := Path{From: "client", Proto: "tcp", Via: []string{}, NAT: "dnat", End: "dropped", DroppedAt: "fw"}
	if got := r.Path(); !reflect.DeepEqual(got, want) {
		t.Errorf("path %+v, want %+v", got, want)
	}
	golden(t, r)
}

// TestAssembleDropByRule: a rule that drops ends the way with its text;
// a reject's ICMP error is the answer.
func TestAssembleDropByRule(t *testing.T) {
	st := labState(t, "netfilter-hooks")
	chain := st.Nodes["fw"].NFT.Chain("filter_forward")
	reject := &state.NFRule{Proto: "udp", DPort: 9, Action: "reject"}
	reject.Tag = state.RuleTag(reject.Text())
	chain.Rules = append(chain.Rules, reject)
	var b traceBuilder
	req := udp("198.51.100.20:40003", "192.168.50.80:9")
	b.hook("nf-hooks.client", 1, "output", "", "eth0", req, req)
	b.hook("nf-hooks.client", 1, "postrouting", "", "eth0", req, req)
	b.hook("nf-hooks.fw", 2, "prerouting", "eth1", "", req, req, policy("nat_prerouting", state.PriorityDstNAT, "accept"))
	b.hook("nf-hooks.fw", 2, "forward", "eth1", "eth0", req, req, rule("filter_forward", 0, reject.Tag, "drop"))
	unreach := icmpError("198.51.100.1", "198.51.100.20", 3, 3, req)
	b.hook("nf-hooks.fw", 3, "output", "", "eth1", unreach, unreach)
	b.hook("nf-hooks.fw", 3, "postrouting", "", "eth1", unreach, unreach)
	b.hook("nf-hooks.client", 4, "prerouting", "eth0", "", unreach, unreach)
	b.hook("nf-hooks.client", 4, "input", "eth0", "", unreach, unreach)
	r := Assemble(b.events, st, nil, nil)
	want := End{What: "dropped", Node: "fw", Hook: "forward", Rule: "udp dport 9 counter reject"}
	if r.Request.End != want {
		t.Errorf("end %+v, want %+v", r.Request.End, want)
	}
	if r.Answer == nil || r.Answer.Packet != "icmp 198.51.100.1 -> 198.51.100.20 destination-unreachable code 3" || r.Answer.End.Node != "client" {
		t.Errorf("answer %+v", r.Answer)
	}
	if got := r.Path(); got.DroppedAt != "fw" || got.End != "dropped" {
		t.Errorf("path %+v", got)
	}
}

// TestAssembleRuleTextByTag: a rule's text comes from the observed
// state by its tag; a tag the state does not know is shown as it is,
// and a rule of another table by its handle.
func TestAssembleRuleTextByTag(t *testing.T) {
	st := state.New("t")
	a, r := state.NewNode("a", "t.a"), state.NewNode("r", "t.r")
	st.Nodes["a"], st.Nodes["r"] = a, r
	a.Links["eth0"] = &state.Link{Name: "eth0", Kind: "veth", Peer: "r:eth0"}
	r.Links["eth0"] = &state.Link{Name: "eth0", Kind: "veth", Peer: "a:eth0"}
	known := &state.NFRule{Action: "count", Proto: "icmp"}
	known.Tag = state.RuleTag(known.Text())
	r.NFT = &state.NFTable{Chains: []*state.NFChain{{Name: "filter_input", Type: "filter", Hook: "input", Policy: "accept",
		Rules: []*state.NFRule{known, {Tag: "netlab-0123456789ab"}}}}}
	var b traceBuilder
	req := echo("10.1.0.1", "10.1.0.2", false, 5)
	b.hook("t.a", 1, "output", "", "eth0", req, req)
	b.hook("t.a", 1, "postrouting", "", "eth0", req, req)
	b.hook("t.r", 2, "prerouting", "eth0", "", req, req)
	b.hook("t.r", 2, "input", "eth0", "", req, req,
		rule("filter_input", 0, known.Tag, "continue"),
		rule("filter_input", 0, "netlab-0123456789ab", "continue"),
		rule("filter_input", 0, "netlab-ffffffffffff", "continue"),
		labEvent{family: "ip", table: "filter", chain: "INPUT", priority: 0, typ: "rule", verdict: "accept"})
	res := Assemble(b.events, st, nil, nil)
	var rules []string
	for _, s := range res.Request.Steps {
		if s.Table != "" {
			rules = append(rules, s.Table+": "+s.Rule)
		}
	}
	want := []string{"filter: meta l4proto { icmp, ipv6-icmp } counter", "filter: netlab-0123456789ab", "filter: netlab-ffffffffffff", "ip filter: handle 8"}
	if !slices.Equal(rules, want) {
		t.Errorf("rules %q, want %q", rules, want)
	}
}

// TestAssembleNoRoute: a send the kernel refuses for want of a route
// ends at the source's route step; a packet seen at a router's
// prerouting and then nowhere, where the router has no route, ends
// there; with a route, it is lost.
func TestAssembleNoRoute(t *testing.T) {
	t.Run("at the source", func(t *testing.T) {
		err := fmt.Errorf("dial udp 203.0.113.9:7: connect: %w", syscall.ENETUNREACH)
		r := Assemble(nil, labState(t, "single-ip"), &fakeHops{}, err)
		r.SetFrom("c2")
		if r.Request.End.What != "no-route" || r.Request.End.Node != "c2" || !strings.Contains(r.Request.End.Reason, "network is unreachable") {
			t.Errorf("end %+v", r.Request.End)
		}
		if len(r.Request.Steps) != 1 || r.Request.Steps[0].Kind != "route" || r.Request.Steps[0].Node != "c2" || r.Request.Steps[0].Route != "no route" {
			t.Errorf("steps %+v", r.Request.Steps)
		}
		if r.From != "c2" || r.Answer != nil {
			t.Errorf("from %q answer %+v", r.From, r.Answer)
		}
	})
	t.Run("no events, no probe error", func(t *testing.T) {
		r := Assemble(nil, nil, nil, nil)
		if r.Request == nil || r.Request.End.What != "lost" {
			t.Errorf("request %+v", r.Request)
		}
	})
	events, st, hops := singleIPUDP(t)
	// Keep c2's request and host's prerouting: nothing after.
	var cut []kernel.TraceEvent
	for _, e := range events {
		if e.NetNS == "single-ip.c2" && e.ID == 11 || e.NetNS == "single-ip.host" && (e.ID == 21 || e.ID == 22 && e.Hook == "prerouting") {
			cut = append(cut, e)
		}
	}
	t.Run("at a router", func(t *testing.T) {
		noRoute := &fakeHops{routes: map[string][]fakeRoute{"single-ip.c2": hops.routes["single-ip.c2"]}}
		r := Assemble(cut, st, noRoute, nil)
		want := End{What: "no-route", Node: "host", Hook: "prerouting", Reason: "no route to 198.51.100.183"}
		if r.Request.End != want {
			t.Errorf("end %+v, want %+v", r.Request.End, want)
		}
		if last := r.Request.Steps[len(r.Request.Steps)-1]; last.Kind != "route" || last.Route != "no route" || last.Node != "host" {
			t.Errorf("last step %+v", last)
		}
		golden(t, r)
	})
	t.Run("lost at a router", func(t *testing.T) {
		r := Assemble(cut, st, hops, nil)
		if r.Request.End.What != "lost" || r.Request.End.Node != "host" || r.Request.End.Hook != "prerouting" {
			t.Errorf("end %+v", r.Request.End)
		}
	})
	t.Run("lost after leaving", func(t *testing.T) {
		var c2only []kernel.TraceEvent
		for _, e := range events {
			if e.NetNS == "single-ip.c2" && e.ID == 11 {
				c2only = append(c2only, e)
			}
		}
		failed := &fakeHops{}
		failed.route("single-ip.c2", "0.0.0.0/0", "veth0", "192.168.31.1").hop.Neigh = "failed"
		r := Assemble(c2only, st, failed, nil)
		want := End{What: "lost", Node: "c2", Hook: "postrouting", Reason: "left by veth0, no neighbour answer from 192.168.31.1 (failed)"}
		if r.Request.End != want {
			t.Errorf("end %+v, want %+v", r.Request.End, want)
		}
	})
}

// TestAssembleBridgeHop: from one container to another on the same
// bridge, the packet crosses host only by its bridge hooks.
func TestAssembleBridgeHop(t *testing.T) {
	st := labState(t, "single-ip")
	req := echo("192.168.31.10", "192.168.31.11", false, 77)
	rep := echo("192.168.31.11", "192.168.31.10", true, 77)
	var b traceBuilder
	b.hook("single-ip.c1", 1, "output", "", "veth0", req, req)
	b.hook("single-ip.c1", 1, "postrouting", "", "veth0", req, req)
	for _, h := range []string{"prerouting", "forward", "postrouting"} {
		oif := "veth2"
		if h == "prerouting" {
			oif = ""
		}
		b.bridgeHook("single-ip.host", 2, h, "veth1", oif, req)
	}
	b.hook("single-ip.c2", 3, "prerouting", "veth0", "", req, req)
	b.hook("single-ip.c2", 3, "input", "veth0", "", req, req)
	b.hook("single-ip.c2", 4, "output", "", "veth0", rep, rep)
	b.hook("single-ip.c2", 4, "postrouting", "", "veth0", rep, rep)
	for _, h := range []string{"prerouting", "forward", "postrouting"} {
		b.bridgeHook("single-ip.host", 5, h, "veth2", "veth1", rep)
	}
	b.hook("single-ip.c1", 6, "prerouting", "veth0", "", rep, rep)
	b.hook("single-ip.c1", 6, "input", "veth0", "", rep, rep)
	r := Assemble(renumber(b.events, func(a, b kernel.TraceEvent) int { return strings.Compare(b.NetNS, a.NetNS) }), st, nil, nil)
	checkBridgeHop(t, r, []string{"bridge prerouting", "bridge forward", "bridge postrouting"})

	// With br_netfilter, the inet hooks run inside the bridge's.
	b = traceBuilder{}
	b.hook("single-ip.c1", 1, "output", "", "veth0", req, req)
	b.hook("single-ip.c1", 1, "postrouting", "", "veth0", req, req)
	b.nestedHook("single-ip.host", 2, "prerouting", "veth1", "", "br0", "", req)
	b.nestedHook("single-ip.host", 2, "forward", "veth1", "veth2", "br0", "br0", req)
	b.nestedHook("single-ip.host", 2, "postrouting", "", "veth2", "", "br0", req)
	b.hook("single-ip.c2", 3, "prerouting", "veth0", "", req, req)
	b.hook("single-ip.c2", 3, "input", "veth0", "", req, req)
	b.hook("single-ip.c2", 4, "output", "", "veth0", rep, rep)
	b.hook("single-ip.c2", 4, "postrouting", "", "veth0", rep, rep)
	b.nestedHook("single-ip.host", 5, "prerouting", "veth2", "", "br0", "", rep)
	b.nestedHook("single-ip.host", 5, "forward", "veth2", "veth1", "br0", "br0", rep)
	b.nestedHook("single-ip.host", 5, "postrouting", "", "veth1", "", "br0", rep)
	b.hook("single-ip.c1", 6, "prerouting", "veth0", "", rep, rep)
	b.hook("single-ip.c1", 6, "input", "veth0", "", rep, rep)
	r = Assemble(b.events, st, nil, nil)
	checkBridgeHop(t, r, []string{"bridge prerouting", "hook prerouting", "bridge forward", "hook forward", "bridge postrouting", "hook postrouting"})
}

func checkBridgeHop(t *testing.T, r *Result, hostSteps []string) {
	t.Helper()
	want := Path{From: "c1", To: "c2", Proto: "icmp", Via: []string{"host"}, NAT: "none", End: "delivered"}
	if got := r.Path(); !reflect.DeepEqual(got, want) {
		t.Errorf("path %+v, want %+v", got, want)
	}
	var kinds []string
	for _, s := range r.Request.Steps {
		if s.Node == "host" {
			kinds = append(kinds, s.Kind+" "+s.Hook)
		}
	}
	if !slices.Equal(kinds, hostSteps) {
		t.Errorf("host's steps %q, want %q", kinds, hostSteps)
	}
	if r.Answer == nil || r.Answer.End.Node != "c1" {
		t.Errorf("answer %+v", r.Answer)
	}
}

// TestAssembleHostNodeIPv6: a node with host: true is the machine's
// namespace (state.HostNetNS); an IPv6 ping names it like any other.
func TestAssembleHostNodeIPv6(t *testing.T) {
	st := state.New("h")
	hn := state.NewNode("gw", state.HostNetNS)
	hn.Host = true
	hn.Links["nl0"] = &state.Link{Name: "nl0", Kind: "veth", Peer: "c:eth0"}
	c := state.NewNode("c", "h.c")
	c.Links["eth0"] = &state.Link{Name: "eth0", Kind: "veth", Peer: "gw:nl0"}
	st.Nodes["gw"], st.Nodes["c"] = hn, c
	req := echo("2001:db8::2", "2001:db8::1", false, 300)
	rep := echo("2001:db8::1", "2001:db8::2", true, 300)
	var b traceBuilder
	b.hook("h.c", 1, "output", "", "eth0", req, req)
	b.hook("h.c", 1, "postrouting", "", "eth0", req, req)
	b.hook(state.HostNetNS, 2, "prerouting", "nl0", "", req, req)
	b.hook(state.HostNetNS, 2, "input", "nl0", "", req, req)
	b.hook(state.HostNetNS, 3, "output", "", "nl0", rep, rep)
	b.hook(state.HostNetNS, 3, "postrouting", "", "nl0", rep, rep)
	b.hook("h.c", 4, "prerouting", "eth0", "", rep, rep)
	b.hook("h.c", 4, "input", "eth0", "", rep, rep)
	r := Assemble(b.events, st, nil, nil)
	if r.To != "gw" || r.Proto != "icmp" || r.Request.Packet != "icmpv6 2001:db8::2 -> 2001:db8::1 echo-request id 300" {
		t.Errorf("to %q proto %q packet %q", r.To, r.Proto, r.Request.Packet)
	}
	if r.Answer == nil || r.Answer.Steps[0].Node != "gw" || r.Answer.End.Node != "c" {
		t.Errorf("answer %+v", r.Answer)
	}
}

// TestAssembleIgnoresOtherTraces: the events of another trace's table
// (run at the same time, marking the same packet) are not steps.
func TestAssembleIgnoresOtherTraces(t *testing.T) {
	events, st, hops := singleIPUDP(t)
	want := Assemble(events, st, hops, nil)
	var mixed []kernel.TraceEvent
	for _, e := range events {
		mixed = append(mixed, e)
		if e.Own && e.OwnFirst {
			o := e
			o.Own, o.OwnFirst, o.Table, o.Verdict = false, false, kernel.TraceTablePrefix+"_999_1", "continue"
			mixed = append(mixed, o)
		}
	}
	if len(mixed) < len(events)+10 {
		t.Fatalf("only %d events of another trace added", len(mixed)-len(events))
	}
	got := Assemble(renumber(mixed, func(a, b kernel.TraceEvent) int { return 0 }), st, hops, nil)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("another trace's events changed the result:\n%s", text(t, got))
	}
}

func TestParsePacket(t *testing.T) {
	cases := []struct {
		h    hdr
		want string
	}{
		{udp("192.0.2.1:5353", "198.51.100.2:53"), "udp 192.0.2.1:5353 -> 198.51.100.2:53"},
		{tcp("[2001:db8::1]:40000", "[2001:db8::2]:443", syn), "tcp [2001:db8::1]:40000 -> [2001:db8::2]:443"},
		{echo("192.0.2.1", "192.0.2.2", true, 4), "icmp 192.0.2.1 -> 192.0.2.2 echo-reply id 4"},
		{icmpError("192.0.2.254", "192.0.2.1", 11, 0, udp("192.0.2.1:1", "203.0.113.1:2")), "icmp 192.0.2.254 -> 192.0.2.1 time-exceeded"},
		{hdr{[]byte{0x45, 0}, nil}, "(headers not read)"},
		{hdr{nil, nil}, "(headers not read)"},
	}
	for _, c := range cases {
		if got := parsePacket(c.h.net, c.h.tr).String(); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
	p := parsePacket(echo("192.0.2.1", "192.0.2.2", false, 4).net, echo("192.0.2.1", "192.0.2.2", false, 4).tr)
	q := parsePacket(echo("192.0.2.2", "192.0.2.1", true, 4).net, echo("192.0.2.2", "192.0.2.1", true, 4).tr)
	if p.reversed() != q {
		t.Errorf("the reverse of an echo request is not its reply: %v, %v", p.reversed(), q)
	}
}

func TestCheckPath(t *testing.T) {
	events, st, hops := singleIPUDP(t)
	r := Assemble(events, st, hops, nil)
	cases := []struct {
		check lab.Check
		want  string
	}{
		{lab.Check{Via: []string{"host"}, ViaGiven: true, NAT: "snat"}, ""},
		{lab.Check{Via: []string{"host", "router"}, ViaGiven: true}, "path via host; want via host, router"},
		{lab.Check{ViaGiven: true}, "path via host; want via no node (direct)"},
		{lab.Check{NAT: "dnat"}, "path nat snat; want nat dnat"},
		{lab.Check{DroppedAt: "host"}, "path delivered to server; want dropped at host"},
		{lab.Check{NAT: "none", DroppedAt: "host"}, "path nat snat; want nat none; path delivered to server; want dropped at host"},
		{lab.Check{}, ""},
	}
	for _, c := range cases {
		ok, reason := CheckPath(r, &c.check)
		if ok != (c.want == "") || reason != c.want {
			t.Errorf("%+v: %v %q, want %q", c.check, ok, reason, c.want)
		}
	}
	dropped, st2, hops2 := nfHooksTCP(t, "drop")
	rd := Assemble(dropped, st2, hops2, nil)
	if ok, reason := CheckPath(rd, &lab.Check{DroppedAt: "fw", Via: nil, ViaGiven: true}); !ok {
		t.Errorf("dropped at fw: %s", reason)
	}
	if ok, reason := CheckPath(rd, &lab.Check{DroppedAt: "web"}); ok || reason != "path dropped at fw; want dropped at web" {
		t.Errorf("dropped at web: %v %q", ok, reason)
	}
}

func text(t *testing.T, r *Result) string {
	t.Helper()
	var b strings.Builder
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// golden compares r's text and JSON with testdata/TEST_NAME.txt and
// .json; NETLAB_UPDATE=1 rewrites them.
func golden(t *testing.T, r *Result) {
	t.Helper()
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join("testdata", strings.ReplaceAll(t.Name(), "/", "_"))
	for ext, got := range map[string]string{".txt": text(t, r), ".json": string(js) + "\n"} {
		path := base + ext
		if os.Getenv("NETLAB_UPDATE") != "" {
			if err := os.MkdirAll("testdata", 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (NETLAB_UPDATE=1 go test ./lab/trace writes it)", err)
		}
		if got != string(want) {
			t.Errorf("%s differs:\n--- got\n%s--- want\n%s", path, got, want)
		}
	}
}

// TestAssembleWithoutState: with no observed state, nodes are named from
// their namespaces (LAB.NODE) and segments chain by the packets they
// carry.
func TestAssembleWithoutState(t *testing.T) {
	events, _, hops := singleIPUDP(t)
	r := Assemble(events, nil, hops, nil)
	want := Path{From: "c2", To: "server", Proto: "udp", Via: []string{"host"}, NAT: "snat", End: "delivered"}
	if got := r.Path(); !reflect.DeepEqual(got, want) {
		t.Errorf("path %+v, want %+v\n%s", got, want, text(t, r))
	}
	if r.Answer == nil || r.Answer.End.Node != "c2" {
		t.Errorf("answer %+v", r.Answer)
	}
	// The masquerade rule is known by its tag only.
	for _, s := range r.Request.Steps {
		if s.Chain == "nat_postrouting" && !strings.HasPrefix(s.Rule, "netlab-") {
			t.Errorf("rule %q, want its tag", s.Rule)
		}
	}
}

// TestResultJSON: a Result marshals with its path, by value or pointer,
// and without an answer when none came.
func TestResultJSON(t *testing.T) {
	events, st, hops := nfHooksTCP(t, "drop")
	r := Assemble(events, st, hops, nil)
	for _, v := range []any{r, *r} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]json.RawMessage
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		if _, ok := got["answer"]; ok {
			t.Errorf("answer in %s", b)
		}
		var p Path
		if err := json.Unmarshal(got["path"], &p); err != nil || p.DroppedAt != "fw" || p.NAT != "dnat" {
			t.Errorf("path %s (%v)", got["path"], err)
		}
	}
}

// TestAssembleWithoutBridgeEvents: in a namespace without a bridge-family
// trace table, a bridge port's frames show first at the bridge's inet
// prerouting, and the way out by the bridge goes on at the port's peer.
func TestAssembleWithoutBridgeEvents(t *testing.T) {
	events, st, hops := singleIPUDP(t)
	var inet []kernel.TraceEvent
	for _, e := range events {
		if e.Family != "bridge" {
			inet = append(inet, e)
		}
	}
	r := Assemble(inet, st, hops, nil)
	want := Path{From: "c2", To: "server", Proto: "udp", Via: []string{"host"}, NAT: "snat", End: "delivered"}
	if got := r.Path(); !reflect.DeepEqual(got, want) {
		t.Errorf("path %+v, want %+v\n%s", got, want, text(t, r))
	}
	if r.Answer == nil || r.Answer.End != (End{What: "delivered", Node: "c2"}) {
		t.Errorf("answer %+v\n%s", r.Answer, text(t, r))
	}
}

// TestAssembleThroughUntracedHost: a host: true router is not traced
// (its namespace is the machine's); the way crosses it unseen, and goes
// on where the packet shows next.
func TestAssembleThroughUntracedHost(t *testing.T) {
	st := state.New("u")
	gw := state.NewNode("gw", state.HostNetNS)
	gw.Host = true
	gw.Links["u-c1"] = &state.Link{Name: "u-c1", Kind: "veth", Peer: "c1:eth0"}
	gw.Links["u-c2"] = &state.Link{Name: "u-c2", Kind: "veth", Peer: "c2:eth0"}
	st.Nodes["gw"] = gw
	for _, n := range []string{"c1", "c2"} {
		st.Nodes[n] = state.NewNode(n, state.NetNSName("u", n))
		st.Nodes[n].Links["eth0"] = &state.Link{Name: "eth0", Kind: "veth", Peer: "gw:u-" + n}
	}
	req := tcp("10.0.1.2:40005", "10.0.2.2:80", syn)
	rep := tcp("10.0.2.2:80", "10.0.1.2:40005", syn|ack)
	var b traceBuilder
	b.hook("u.c1", 1, "output", "", "eth0", req, req)
	b.hook("u.c1", 1, "postrouting", "", "eth0", req, req)
	b.hook("u.c2", 2, "prerouting", "eth0", "", req, req)
	b.hook("u.c2", 2, "input", "eth0", "", req, req)
	b.hook("u.c2", 3, "output", "", "eth0", rep, rep)
	b.hook("u.c2", 3, "postrouting", "", "eth0", rep, rep)
	b.hook("u.c1", 4, "prerouting", "eth0", "", rep, rep)
	b.hook("u.c1", 4, "input", "eth0", "", rep, rep)
	r := Assemble(b.events, st, nil, nil)
	want := Path{From: "c1", To: "c2", Proto: "tcp", Via: []string{"gw"}, NAT: "none", End: "delivered"}
	if got := r.Path(); !reflect.DeepEqual(got, want) {
		t.Errorf("path %+v, want %+v\n%s", got, want, text(t, r))
	}
	if r.Answer == nil || r.Answer.End.Node != "c1" {
		t.Errorf("answer %+v", r.Answer)
	}
	golden(t, r)

	r = Assemble(b.events[:6], st, nil, nil) // c1's request only
	if r.Request.End.What != "lost" || r.Request.End.Node != "gw" || !strings.Contains(r.Request.End.Reason, "inside which the trace sees nothing") {
		t.Errorf("end %+v", r.Request.End)
	}
}
