package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
)

// TestCLIRefusesWhatTheKernelLacks: on a kernel without 802.1Q (the fake,
// told so), plan and up exit 1 with the vlan's position and the kernel
// option on stderr, and make nothing; status of a rate-limited lab on a
// kernel with tbf shows the egress.
func TestCLIRefusesWhatTheKernelLacks(t *testing.T) {
	sandbox(t)
	f := useFakeKernel(t)
	f.Lack(kernel.NeedVLAN)
	name := kerneltest.LabName(t)
	text := "name: " + name + `
nodes:
  r:
    interfaces:
      eth0: {rate: 10mbit}
      eth0.10: {kind: vlan, vlan: {parent: eth0, id: 10}, addresses: [10.10.0.1/24]}
  h:
    interfaces:
      eth0: {addresses: [10.10.0.2/24]}
links:
  - [r:eth0, h:eth0]
`
	if err := os.WriteFile("lab.yaml", []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"plan", "up"} {
		var stdout, stderr bytes.Buffer
		code := run([]string{cmd, "lab.yaml"}, strings.NewReader(""), &stdout, &stderr)
		want := `lab.yaml:6:23: interface "eth0.10" of node "r" needs 802.1Q VLAN support (CONFIG_VLAN_8021Q), which this kernel lacks`
		if code != exitFailure || !strings.Contains(stderr.String(), want) {
			t.Errorf("netlab %s: exit %d, stderr %q; want %d and %q", cmd, code, stderr.String(), exitFailure, want)
		}
	}
	if f.Writes() != 0 {
		t.Errorf("the refused commands wrote %d time(s):\n%s", f.Writes(), f.String())
	}

	// Without the vlan: up, and status shows the rate.
	if err := os.WriteFile("lab.yaml", []byte(strings.Replace(text, "      eth0.10: {kind: vlan, vlan: {parent: eth0, id: 10}, addresses: [10.10.0.1/24]}\n", "", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, st := range []struct {
		args []string
		want string
	}{
		{[]string{"up", "lab.yaml"}, "is up"},
		{[]string{"status", "lab.yaml"}, "r:eth0            rate 10mbit (tbf 4e:)"},
		{[]string{"status", "-o", "json", "lab.yaml"}, `"egress": "rate 10mbit"`},
		{[]string{"down", "lab.yaml"}, "is down"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(st.args, strings.NewReader(""), &stdout, &stderr); code != exitOK || !strings.Contains(stdout.String(), st.want) {
			t.Errorf("netlab %s: exit %d, stdout:\n%s\nstderr:\n%s\nwant %q", strings.Join(st.args, " "), code, stdout.String(), stderr.String(), st.want)
		}
	}
}
