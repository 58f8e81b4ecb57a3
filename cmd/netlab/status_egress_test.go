package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"netlab/lab/device"
	"netlab/lab/state"
)

// toolboxState is a lab with an impaired link, a user's qdisc and a vlan.
func toolboxState() *state.State {
	s := state.New("lab1")
	n := state.NewNode("r", "lab1.r")
	n.Links["eth0"] = &state.Link{Name: "eth0", Kind: device.Veth, Owned: true, Egress: state.Impairment{Rate: 10e6}}
	n.Links["eth1"] = &state.Link{Name: "eth1", Kind: device.Veth, Owned: true, Egress: state.Impairment{Delay: 20 * time.Millisecond, Loss: 1}}
	n.Links["eth2"] = &state.Link{Name: "eth2", Kind: device.Veth, Owned: true, OtherQdisc: "tbf 8001:"}
	n.Links["eth0.10"] = &state.Link{Name: "eth0.10", Kind: device.VLAN, Owned: true, Device: state.Device{VLANParent: "eth0", VLANID: 10}}
	n.Links["lo"] = &state.Link{Name: "lo", Kind: device.Loopback}
	s.Nodes["r"] = n
	return s
}

// TestStatusEgressText: one line a link with an impairment, a qdisc
// someone else added, or a vlan; nothing for a lab with none.
func TestStatusEgressText(t *testing.T) {
	var b bytes.Buffer
	writeEgress(&b, toolboxState())
	want := `
egress and vlans
  r:eth0            rate 10mbit (tbf 4e:)
  r:eth0.10         vlan 10 on eth0
  r:eth1            delay 20ms loss 1% (netem 4e:)
  r:eth2            (none of netlab's; root qdisc tbf 8001: added by someone else)
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("egress section (-want +got):\n%s", diff)
	}
	b.Reset()
	writeEgress(&b, state.New("lab1"))
	if b.Len() != 0 {
		t.Errorf("a lab without any prints %q", b.String())
	}
}

// TestStatusEgressJSON: egress, other_qdisc, vlan and vlan_parent in
// status -o json, left out when not set.
func TestStatusEgressJSON(t *testing.T) {
	data, err := json.Marshal(statusJSON(toolboxState(), nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"egress":"rate 10mbit"`, `"egress":"delay 20ms loss 1%"`, `"other_qdisc":"tbf 8001:"`, `"vlan":10,"vlan_parent":"eth0"`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("status -o json has no %s:\n%s", want, data)
		}
	}
	if strings.Count(string(data), `"egress"`) != 2 {
		t.Errorf("egress given for links without one:\n%s", data)
	}
}
