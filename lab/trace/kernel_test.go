package trace

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
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

func loadKernelFixture(t *testing.T, name string) ([]kernel.TraceEvent, *state.State) {
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

// hopsOf answers NextHop from a state's addresses (connected routes) and
// routes, as the kernel's table of that lab would.
func hopsOf(s *state.State) *fakeHops {
	h := &fakeHops{}
	for _, n := range s.Nodes {
		for _, l := range n.Links {
			for _, a := range l.Addrs {
				h.route(n.NetNS, a.Masked().String(), l.Name, "")
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
