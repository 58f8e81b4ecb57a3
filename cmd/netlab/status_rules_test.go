package main

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"netlab/lab/state"
)

// TestStatusPolicyRules: status shows each node's rules, netlab's and a
// person's told apart, and the routes of its other tables, in the text
// and under policy_rules in the JSON; a node without either shows no
// section.
func TestStatusPolicyRules(t *testing.T) {
	s := state.New("lab1")
	gw := state.NewNode("gw", "lab1.gw")
	gw.Rules = []state.Rule{
		{Priority: 500, From: netip.MustParsePrefix("10.0.1.99/32"), Table: 102},
		{Priority: 1000, From: netip.MustParsePrefix("10.0.1.0/24"), Table: 101, Owned: true},
		{IPv6: true, Priority: 1001, Mark: 0x10, Mask: 0xff, IIf: "lan", Table: 4000000000, Owned: true},
	}
	gw.Routes = []state.Route{
		{To: netip.MustParsePrefix("0.0.0.0/0"), Via: netip.MustParseAddr("10.255.1.2"), Dev: "up1", Table: 101, Owned: true},
		{To: netip.MustParsePrefix("10.9.0.0/16"), Via: netip.MustParseAddr("10.255.1.2"), Dev: "up1", Owned: true},
	}
	s.Nodes["gw"] = gw
	s.Nodes["plain"] = state.NewNode("plain", "lab1.plain")

	var b bytes.Buffer
	writeStatus(&b, s, nil, nil)
	text := b.String()
	for _, want := range []string{
		"node gw: policy routing",
		"-4 priority 500 from 10.0.1.99/32 lookup 102                 unmanaged",
		"-4 priority 1000 from 10.0.1.0/24 lookup 101                 netlab",
		"-6 priority 1001 iif lan fwmark 0x10/0xff lookup 4000000000",
		"route default via 10.255.1.2 dev up1 table 101",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("status lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "node plain: policy routing") || strings.Contains(text, "route 10.9.0.0/16") {
		t.Errorf("status shows policy routing where there is none, or a main route in it:\n%s", text)
	}

	data, err := json.Marshal(statusJSON(s, nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Nodes []struct {
			Name        string   `json:"name"`
			Routes      []string `json:"routes"`
			PolicyRules []struct {
				Family   string `json:"family"`
				Priority uint32 `json:"priority"`
				From     string `json:"from"`
				IIf      string `json:"iif"`
				FWMark   string `json:"fwmark"`
				Table    uint32 `json:"table"`
				Managed  bool   `json:"managed"`
			} `json:"policy_rules"`
		} `json:"nodes"`
	}
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	n := got.Nodes[0]
	if n.Name != "gw" || len(n.PolicyRules) != 3 {
		t.Fatalf("JSON nodes[0] = %+v, want gw with 3 policy_rules", n)
	}
	if r := n.PolicyRules[0]; r.Managed || r.From != "10.0.1.99/32" || r.Table != 102 || r.Family != "ipv4" {
		t.Errorf("the person's rule in JSON = %+v", r)
	}
	if r := n.PolicyRules[2]; !r.Managed || r.Family != "ipv6" || r.FWMark != "0x10/0xff" || r.IIf != "lan" || r.Table != 4000000000 {
		t.Errorf("the fwmark rule in JSON = %+v", r)
	}
	if n.Routes[0] != "default via 10.255.1.2 dev up1 table 101" {
		t.Errorf("routes[0] = %q, want its table in it", n.Routes[0])
	}
	if !strings.Contains(string(data), `"policy_rules":[]`) {
		t.Errorf("a node without rules has no empty policy_rules: %s", data)
	}
}
