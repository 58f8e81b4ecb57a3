package trace

import (
	"cmp"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"netlab/lab/kernel"
	"netlab/lab/labfile"
	"netlab/lab/plan"
	"netlab/lab/state"
)

// A kernel fixture is a trace recorded on the real kernel by lab/kernel's
// tests (see testdata/README.md): its events, and the lab it ran on.
type kernelFixture struct {
	Scenario string
	Lab      string
	Events   []kernel.TraceEvent
}

func loadKernelFixture(t testing.TB, name string) ([]kernel.TraceEvent, *state.State) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var f kernelFixture
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	l, diags := labfile.Parse(name+".yaml", []byte(f.Lab))
	if diags.HasErrors() {
		t.Fatalf("%s: the lab: %v", name, diags)
	}
	if len(f.Events) == 0 {
		t.Fatalf("%s: no events", name)
	}
	return f.Events, plan.Desired(l)
}

// hopsOf answers NextHop from a state's addresses (the node's own by
// lo, as the kernel's local table has them; their subnets connected)
// and routes, as the kernel's tables of that lab would.
func hopsOf(s *state.State) *fakeHops {
	h := &fakeHops{}
	for _, n := range s.Nodes {
		for _, l := range n.Links {
			for _, a := range l.Addrs {
				h.route(n.NetNS, a.Masked().String(), l.Name, "")
				h.route(n.NetNS, netip.PrefixFrom(a.Addr(), a.Addr().BitLen()).String(), "lo", "")
			}
		}
		for _, r := range n.Routes {
			dev := r.Dev
			for _, l := range n.Links {
				for _, a := range l.Addrs {
					if dev == "" && r.Via.IsValid() && a.Contains(r.Via) {
						dev = l.Name
					}
				}
			}
			via := ""
			if r.Via.IsValid() {
				via = r.Via.String()
			}
			h.route(n.NetNS, r.To.String(), dev, via)
		}
	}
	return h
}

// TestKernelMasquerade: the UDP probe a -> b through r's bridge and
// masquerade, as the kernel reported it (b's events first, a's last;
// br_netfilter's inet prerouting inside the bridge's).
func TestKernelMasquerade(t *testing.T) {
	events, st := loadKernelFixture(t, "kernel-udp-masquerade")
	r := Assemble(events, st, hopsOf(st), nil)
	want := Path{From: "a", To: "b", Proto: "udp", Via: []string{"r"}, NAT: "snat", End: "delivered"}
	if got := r.Path(); !reflect.DeepEqual(got, want) {
		t.Errorf("path %+v, want %+v\n%s", got, want, text(t, r))
	}
	var masq, back *Step
	for i, s := range r.Request.Steps {
		if s.Chain == "nat_postrouting" {
			masq = &r.Request.Steps[i]
		}
	}
	if masq == nil || masq.Rule != `ip saddr 192.168.31.0/24 oifname "eth0" counter masquerade` || masq.After == nil || masq.After.Src != "198.51.100.86:40001" {
		t.Errorf("masquerade step %+v", masq)
	}
	if r.Answer == nil {
		t.Fatalf("no answer:\n%s", text(t, r))
	}
	for i, s := range r.Answer.Steps {
		if s.Rule == "conntrack" {
			back = &r.Answer.Steps[i]
		}
	}
	if back == nil || back.Node != "r" || back.Hook != "prerouting" || back.After.Dst != "192.168.31.11:40001" {
		t.Errorf("reverse translation %+v", back)
	}
	if r.Answer.End != (End{What: "delivered", Node: "a"}) {
		t.Errorf("answer end %+v", r.Answer.End)
	}
	golden(t, r)
}

// TestKernelPolicyDrop: the UDP probe a -> b:9 that r's forward policy
// drops.
func TestKernelPolicyDrop(t *testing.T) {
	events, st := loadKernelFixture(t, "kernel-udp-drop")
	r := Assemble(events, st, hopsOf(st), nil)
	if want := (End{What: "dropped", Node: "r", Hook: "forward", Rule: "policy drop"}); r.Request.End != want {
		t.Errorf("end %+v, want %+v\n%s", r.Request.End, want, text(t, r))
	}
	if r.Answer != nil {
		t.Errorf("answer %+v", r.Answer)
	}
	if got := r.Path(); got.DroppedAt != "r" || got.From != "a" || strings.Join(got.Via, ",") != "" {
		t.Errorf("path %+v", got)
	}
	golden(t, r)
}

// TestKernelDNAT: the UDP probe b -> r:8080 that r publishes (DNAT to
// a:7), as the kernel reported it (a's events first), and a's answer
// translated back by conntrack at r's postrouting.
func TestKernelDNAT(t *testing.T) {
	events, st := loadKernelFixture(t, "kernel-udp-dnat")
	r := Assemble(events, st, hopsOf(st), nil)
	want := Path{From: "b", To: "a", Proto: "udp", Via: []string{"r"}, NAT: "dnat", End: "delivered"}
	if got := r.Path(); !reflect.DeepEqual(got, want) {
		t.Errorf("path %+v, want %+v\n%s", got, want, text(t, r))
	}
	var dnat, back *Step
	for i, s := range r.Request.Steps {
		if s.Chain == "nat_prerouting" && s.Before != nil {
			dnat = &r.Request.Steps[i]
		}
	}
	if dnat == nil || dnat.Before.Dst != "198.51.100.86:8080" || dnat.After.Dst != "192.168.31.11:7" || !strings.Contains(dnat.Rule, "dnat ip to 192.168.31.11:7") {
		t.Errorf("dnat step %+v\n%s", dnat, text(t, r))
	}
	if r.Answer == nil {
		t.Fatalf("no answer:\n%s", text(t, r))
	}
	for i, s := range r.Answer.Steps {
		if s.Rule == "conntrack" {
			back = &r.Answer.Steps[i]
		}
	}
	if back == nil || back.Node != "r" || back.Hook != "postrouting" || back.Before.Src != "192.168.31.11:7" || back.After.Src != "198.51.100.86:8080" {
		t.Errorf("reverse translation %+v\n%s", back, text(t, r))
	}
	if r.Answer.End != (End{What: "delivered", Node: "b"}) {
		t.Errorf("answer end %+v", r.Answer.End)
	}
	golden(t, r)
}

// countSteps counts the steps of w at node of kind and hook.
func countSteps(w *Way, node, kind, hook string) int {
	n := 0
	for _, s := range w.Steps {
		if s.Node == node && s.Kind == kind && s.Hook == hook {
			n++
		}
	}
	return n
}

// TestKernelBridgedTCP: a TCP probe from c1 to c2 across the single-ip
// host's bridge (br_netfilter loaded: the bridged frames cross the inet
// hooks too, postrouting after the bridge's). Every packet of the
// connection has the same addresses and ports; each way shows its
// first packet's pass only, out of the bridge by the port the bridge
// postrouting named, not on into the next packet's pass.
func TestKernelBridgedTCP(t *testing.T) {
	events, st := loadKernelFixture(t, "kernel-single-ip-bridged-tcp")
	r := Assemble(events, st, hopsOf(st), nil)
	want := Path{From: "c1", To: "c2", Proto: "tcp", Via: []string{"host"}, NAT: "none", End: "delivered"}
	if got := r.Path(); !reflect.DeepEqual(got, want) {
		t.Errorf("path %+v, want %+v\n%s", got, want, text(t, r))
	}
	if r.Answer == nil || r.Answer.End != (End{What: "delivered", Node: "c1"}) {
		t.Fatalf("answer %+v\n%s", r.Answer, text(t, r))
	}
	for name, w := range map[string]*Way{"request": r.Request, "answer": r.Answer} {
		for _, c := range []struct{ kind, hook string }{
			{"bridge", "prerouting"}, {"bridge", "forward"}, {"bridge", "postrouting"},
			{"hook", "prerouting"}, {"hook", "forward"}, {"hook", "postrouting"},
		} {
			if n := countSteps(w, "host", c.kind, c.hook); n != 1 {
				t.Errorf("%s: %d %s %s steps at host, want 1\n%s", name, n, c.kind, c.hook, text(t, r))
			}
		}
	}
	golden(t, r)
}

// TestKernelNoRoute: a ping to an address with no route at the first
// router, as the kernel reported it: through single-ip's bridge (the
// frame handed up to br0 by the bridge's input, after the inet
// prerouting br_netfilter ran) and through a plain router. Both end at
// the router's routing failure; the answer is its ICMP error.
func TestKernelNoRoute(t *testing.T) {
	for _, c := range []struct{ fixture, from, router, dst string }{
		{"kernel-single-ip-no-route", "c2", "host", "203.0.113.99"},
		{"kernel-router-no-route", "a", "r", "198.51.100.99"},
	} {
		t.Run(c.fixture, func(t *testing.T) {
			events, st := loadKernelFixture(t, c.fixture)
			r := Assemble(events, st, hopsOf(st), nil)
			want := End{What: "no-route", Node: c.router, Hook: "prerouting", Reason: "no route to " + c.dst}
			if r.Request.End != want {
				t.Errorf("request ends %+v, want %+v\n%s", r.Request.End, want, text(t, r))
			}
			if n := len(r.Request.Steps); n == 0 || r.Request.Steps[n-1].Route != "no route" {
				t.Errorf("the request's last step is not the routing failure\n%s", text(t, r))
			}
			if r.Answer == nil || r.Answer.End != (End{What: "delivered", Node: c.from}) {
				t.Fatalf("answer %+v\n%s", r.Answer, text(t, r))
			}
			if !strings.HasSuffix(r.Answer.Packet, "destination-unreachable (net-unreachable)") {
				t.Errorf("answer %q: the ICMP error should say what was unreachable", r.Answer.Packet)
			}
			if p := r.Path(); p.End != "no-route" || len(p.Via) != 0 || p.To != "" {
				t.Errorf("path %+v", p)
			}
			golden(t, r)
		})
	}
}

// TestKernelMacvlan: the router's ping to c2 on the macvlan lab enters
// host's eth0, the macvlans' parent, whose macvlan in c2 takes it before
// host's namespace sees it; the answer leaves c2's macvlan on the
// parent's wire, to the router.
func TestKernelMacvlan(t *testing.T) {
	events, st := loadKernelFixture(t, "kernel-macvlan-router-c2")
	r := Assemble(events, st, hopsOf(st), nil)
	want := Path{From: "router", To: "c2", Proto: "icmp", Via: []string{}, NAT: "none", End: "delivered"}
	if got := r.Path(); !reflect.DeepEqual(got, want) {
		t.Errorf("path %+v, want %+v\n%s", got, want, text(t, r))
	}
	if r.Answer == nil || r.Answer.End != (End{What: "delivered", Node: "router"}) {
		t.Errorf("answer %+v\n%s", r.Answer, text(t, r))
	}
	golden(t, r)
}

// TestKernelVXLAN: c1's ping to c3 on the vxlan lab leaves host1's
// bridge by the vxlan device and goes on at host2's, entering by its
// vxlan device (same VNI), whatever order the namespaces' events came
// in.
func TestKernelVXLAN(t *testing.T) {
	events, st := loadKernelFixture(t, "kernel-vxlan-c1-c3")
	for _, order := range arrivalOrders(events) {
		r := Assemble(order.events, st, hopsOf(st), nil)
		want := Path{From: "c1", To: "c3", Proto: "icmp", Via: []string{"host1", "host2"}, NAT: "none", End: "delivered"}
		if got := r.Path(); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: path %+v, want %+v\n%s", order.name, got, want, text(t, r))
		}
		if r.Answer == nil || r.Answer.End != (End{What: "delivered", Node: "c1"}) {
			t.Errorf("%s: answer %+v\n%s", order.name, r.Answer, text(t, r))
		}
	}
	golden(t, Assemble(events, st, hopsOf(st), nil))
}

// An arrival order is the events of a trace with Seq given anew: each
// namespace's events in their own order (the kernel's), the namespaces
// one after the other.
type arrivalOrder struct {
	name   string
	events []kernel.TraceEvent
}

// arrivalOrders are the events as recorded, and as they would come if
// every namespace's socket were read in turn, in the namespaces' name
// order and in the reverse: the way must not depend on which.
func arrivalOrders(events []kernel.TraceEvent) []arrivalOrder {
	byNS := map[string][]kernel.TraceEvent{}
	var names []string
	for _, e := range events {
		if byNS[e.NetNS] == nil {
			names = append(names, e.NetNS)
		}
		byNS[e.NetNS] = append(byNS[e.NetNS], e)
	}
	slices.SortFunc(events, func(a, b kernel.TraceEvent) int { return cmp.Compare(a.Seq, b.Seq) })
	slices.Sort(names)
	grouped := func(names []string) []kernel.TraceEvent {
		var out []kernel.TraceEvent
		for _, n := range names {
			for _, e := range byNS[n] {
				e.Seq = uint64(len(out) + 1)
				out = append(out, e)
			}
		}
		return out
	}
	reversed := slices.Clone(names)
	slices.Reverse(reversed)
	return []arrivalOrder{{"as recorded", events}, {"by namespace", grouped(names)}, {"by namespace reversed", grouped(reversed)}}
}

// TestKernelFixturesAnyArrivalOrder: every real trace reads the same
// whatever order the namespaces' sockets were read in (the order of
// arrival across namespaces says nothing of the packet's way).
func TestKernelFixturesAnyArrivalOrder(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "kernel-*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no kernel fixtures: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			events, st := loadKernelFixture(t, name)
			orders := arrivalOrders(events)
			want := text(t, Assemble(orders[0].events, st, hopsOf(st), nil))
			for _, o := range orders[1:] {
				if got := text(t, Assemble(o.events, st, hopsOf(st), nil)); got != want {
					t.Errorf("%s:\n%s--- as recorded:\n%s", o.name, got, want)
				}
			}
		})
	}
}

// TestKernelOutputDNAT: fw's own connection to its outside address, on
// the netfilter-hooks lab: routed to itself (lo) as sent, DNATed to web
// by the nat output chain, routed again out of eth0; web's answer is
// translated back at fw's input, after the filter chain there.
func TestKernelOutputDNAT(t *testing.T) {
	events, st := loadKernelFixture(t, "kernel-nf-hooks-output-dnat")
	r := Assemble(events, st, hopsOf(st), nil)
	var got []string
	for _, s := range r.Request.Steps {
		if s.Node == "fw" {
			got = append(got, strings.Join(strings.Fields(s.Kind+" "+s.Hook+" "+s.Table+" "+s.Route), " "))
		}
	}
	want := []string{"route output -> lo", "hook output nat", "hook output filter", "hook output filter", "route output -> eth0 (rerouted)", "hook postrouting nat"}
	if !slices.Equal(got, want) {
		t.Errorf("fw's steps %q, want %q\n%s", got, want, text(t, r))
	}
	want2 := Path{From: "fw", To: "web", Proto: "tcp", Via: []string{}, NAT: "dnat", End: "delivered"}
	if p := r.Path(); !reflect.DeepEqual(p, want2) {
		t.Errorf("path %+v, want %+v", p, want2)
	}
	golden(t, r)
}

// TestKernelTun: vpn's ping into tun0 on the tuntap lab leaves by the
// tun device, to the program that has it open (none: no carrier, when
// the observed link says so), which the trace does not see.
func TestKernelTun(t *testing.T) {
	events, st := loadKernelFixture(t, "kernel-tuntap-tun0")
	r := Assemble(events, st, hopsOf(st), nil)
	want := End{What: "lost", Node: "vpn", Hook: "postrouting", Reason: "left by tun0, a tun device: to the program that has it open, which the trace does not see"}
	if r.Request.End != want {
		t.Errorf("end %+v, want %+v\n%s", r.Request.End, want, text(t, r))
	}
	st.Nodes["vpn"].Links["tun0"].OperState = "down"
	r = Assemble(events, st, hopsOf(st), nil)
	if got := r.Request.End.Reason; got != "left by tun0, a tun device that no program has open (no carrier): the kernel drops it" {
		t.Errorf("without carrier: %q", got)
	}
	golden(t, r)
}

// TestKernelRedirect: web's DNS query to 192.0.2.53 on the
// netfilter-hooks lab, redirected to fw at its prerouting (a DNAT to
// fw's own address), delivered to fw; the answer's source translated
// back by conntrack at fw's postrouting.
func TestKernelRedirect(t *testing.T) {
	events, st := loadKernelFixture(t, "kernel-nf-hooks-redirect")
	r := Assemble(events, st, hopsOf(st), nil)
	want := Path{From: "web", To: "fw", Proto: "udp", Via: []string{}, NAT: "dnat", End: "delivered"}
	if got := r.Path(); !reflect.DeepEqual(got, want) {
		t.Errorf("path %+v, want %+v\n%s", got, want, text(t, r))
	}
	golden(t, r)
}

// TestKernelForwardingOff: on exercise 03 the router does not forward:
// the client's ping is seen at its prerouting, and nowhere after,
// though the router has a route. The end says forwarding is off, from
// the router's observed sysctl (a namespace starts with it off).
func TestKernelForwardingOff(t *testing.T) {
	events, st := loadKernelFixture(t, "kernel-ex03-forwarding-off")
	for _, c := range []struct {
		sysctl, want string
	}{
		{"", "not routed after prerouting: forwarding is off, as the lab does not set net.ipv4.ip_forward to 1 on router (or a reverse-path filter?)"},
		{"0", "not routed after prerouting: forwarding is off (net.ipv4.ip_forward = 0)"},
		{"1", "not routed after prerouting, though forwarding is on (a reverse-path filter?)"},
	} {
		router := st.Nodes["router"]
		router.Sysctls = map[string]string{}
		if c.sysctl != "" {
			router.Sysctls["net.ipv4.ip_forward"] = c.sysctl
		}
		r := Assemble(events, st, hopsOf(st), nil)
		want := End{What: "lost", Node: "router", Hook: "prerouting", Reason: c.want}
		if r.Request.End != want {
			t.Errorf("ip_forward %q: end %+v, want %+v\n%s", c.sysctl, r.Request.End, want, text(t, r))
		}
	}
}

// TestKernelNoRouteBack: on exercise 05 (no masquerade), the laptop's
// ping is delivered to the server, which has no route back to the
// laptop's private address: no hook saw an answer, and the answer's way
// is the server's routing failure.
func TestKernelNoRouteBack(t *testing.T) {
	events, st := loadKernelFixture(t, "kernel-ex05-no-route-back")
	r := Assemble(events, st, hopsOf(st), nil)
	if r.Request.End != (End{What: "delivered", Node: "server"}) {
		t.Errorf("request ends %+v\n%s", r.Request.End, text(t, r))
	}
	want := End{What: "no-route", Node: "server", Hook: "output", Reason: "no route back to 192.168.5.10"}
	if r.Answer == nil || r.Answer.End != want || len(r.Answer.Steps) != 1 || r.Answer.Steps[0].Route != "no route" {
		t.Errorf("answer %+v, want %+v\n%s", r.Answer, want, text(t, r))
	}
	golden(t, r)
}
