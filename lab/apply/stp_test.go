package apply_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"netlab/lab/apply"
	"netlab/lab/device"
	"netlab/lab/state"
)

func TestUnsettledPorts(t *testing.T) {
	desired := &state.State{Nodes: map[string]*state.Node{
		"sw": {Name: "sw", Links: map[string]*state.Link{
			"br0":  {Name: "br0", Kind: device.Bridge, STP: true},
			"br1":  {Name: "br1", Kind: device.Bridge},
			"eth0": {Name: "eth0", Kind: device.Veth, Master: "br0"},
		}},
		"gone": {Name: "gone", Links: map[string]*state.Link{
			"br0": {Name: "br0", Kind: device.Bridge, STP: true},
		}},
	}}
	observed := &state.State{Nodes: map[string]*state.Node{
		"sw": {Name: "sw", Links: map[string]*state.Link{
			"br0":  {Name: "br0", Kind: device.Bridge, STP: true},
			"br1":  {Name: "br1", Kind: device.Bridge},
			"eth0": {Name: "eth0", Master: "br0", PortState: "learning"},
			"eth1": {Name: "eth1", Master: "br0", PortState: "forwarding"},
			"eth2": {Name: "eth2", Master: "br0", PortState: "listening"},
			"eth3": {Name: "eth3", Master: "br1", PortState: "listening"}, // no STP
			"eth4": {Name: "eth4", Master: "br0"},                         // state not read
			"eth5": {Name: "eth5", PortState: "listening"},                // no master
		}},
	}}
	want := []string{"sw:eth0 (learning)", "sw:eth2 (listening)"}
	if diff := cmp.Diff(want, apply.UnsettledPorts(desired, observed)); diff != "" {
		t.Errorf("UnsettledPorts (-want +got):\n%s", diff)
	}
}
