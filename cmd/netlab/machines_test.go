package main

import (
	"bytes"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"netlab/lab"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/labfile"
)

// TestMachineCommands runs one machine's part of a lab over two through
// run(), on a fake kernel whose machine has m1's address: the refusals
// (no --machine, a bad or unknown one, the other machine's), up, status
// naming the far end, check and down. The real kernel's part is
// internal/machinetest's: a cross-machine vxlan made in the real root
// namespace would send lab traffic off the box.
func TestMachineCommands(t *testing.T) {
	f := useFakeKernel(t)
	f.MustSeed(t, "ip addr add 203.0.113.1/24 dev eth0")
	sandbox(t)
	name := kerneltest.LabName(t)
	text := strings.Replace(`name: LAB
machines:
  m1: {address: 203.0.113.1}
  m2: {address: 203.0.113.2}
nodes:
  a: {machine: m1, interfaces: {eth0: {addresses: [10.9.0.1/24]}}}
  b: {machine: m2, interfaces: {eth0: {addresses: [10.9.0.2/24]}}}
links:
  - [a:eth0, b:eth0]
checks:
  - {from: b, ping: 10.9.0.1}
`, "LAB", name, 1)
	if err := os.WriteFile("lab.yaml", []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	l, diags := labfile.Parse("lab.yaml", []byte(text))
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	vni := strconv.FormatUint(uint64(lab.LinkVNI(name, l.Links[0])), 10)
	steps := []struct {
		args     []string
		code     int
		out, err []string // regular expressions, each to match a line of stdout or stderr
	}{
		{args: []string{"up", "lab.yaml"}, code: exitFailure, err: []string{`runs on machines m1, m2: say which one this is with --machine`}},
		{args: []string{"up", "lab.yaml", "--machine", "../m1"}, code: exitUsage, err: []string{`machine`}},
		{args: []string{"up", "lab.yaml", "--machine", ""}, code: exitUsage, err: []string{`machine`}},
		{args: []string{"down", "--lab", name, "--machine", "m1/../m2"}, code: exitUsage, err: []string{`machine`}},
		{args: []string{"up", "lab.yaml", "--machine", "m3"}, code: exitFailure, err: []string{`has no machine "m3": its machines are m1, m2`}},
		{args: []string{"up", "lab.yaml", "--machine", "m2"}, code: exitFailure, err: []string{`^lab\.yaml:4:17: machine "m2": no interface of this machine has address 203\.0\.113\.2 .*run netlab with --machine m1$`}},
		{args: []string{"plan", "--detailed-exitcode", "lab.yaml", "--machine", "m1"}, code: exitChanges, out: []string{`\+ netns ` + name + `\.a`}},
		{args: []string{"up", "lab.yaml", "--machine", "m1"}, code: exitOK, out: []string{`^Lab ` + name + ` is up: `}},
		{args: []string{"plan", "--detailed-exitcode", "lab.yaml", "--machine", "m1"}, code: exitOK},
		{args: []string{"status", "lab.yaml", "--machine", "m1"}, code: exitOK, out: []string{`^a +eth0 +vxlan +vxlan to m2 \(VNI ` + vni + `\) +- +up +1450 +10\.9\.0\.1/24 `}},
		{args: []string{"status", "--lab", name, "--machine", "m1", "-o", "json"}, code: exitOK, out: []string{`"machine": "m2"`, `"vni": ` + vni, `"remote": "203.0.113.2"`}},
		{args: []string{"status", "--lab", name}, code: exitOK, out: []string{`^a +eth0 +vxlan +vxlan to m2 \(VNI ` + vni + `\) `}},
		{args: []string{"status", "--lab", name, "--machine", "m7"}, code: exitUsage, err: []string{`has no machine "m7"`}},
		{args: []string{"check", "lab.yaml"}, code: exitUsage, err: []string{`say which one this is with --machine`}},
		{args: []string{"check", "lab.yaml", "--machine", "m1"}, code: exitOK, out: []string{`^1 check\(s\) start on other machines`}},
		{args: []string{"down", "lab.yaml", "--machine", "m9"}, code: exitUsage, err: []string{`has no machine "m9"`}},
		{args: []string{"down", "lab.yaml", "--machine", "m1"}, code: exitOK, out: []string{`^Lab ` + name + ` is down: 1 namespace\(s\) removed\.$`}},
	}
	for _, st := range steps {
		var stdout, stderr bytes.Buffer
		code := run(st.args, strings.NewReader(""), &stdout, &stderr)
		if code != st.code {
			t.Fatalf("netlab %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(st.args, " "), code, st.code, stdout.String(), stderr.String())
		}
		for _, re := range st.out {
			if !regexp.MustCompile("(?m)" + re).MatchString(stdout.String()) {
				t.Errorf("netlab %s: no line matches %s in stdout:\n%s", strings.Join(st.args, " "), re, stdout.String())
			}
		}
		for _, re := range st.err {
			if !regexp.MustCompile("(?m)" + re).MatchString(stderr.String()) {
				t.Errorf("netlab %s: no line matches %s in stderr:\n%s", strings.Join(st.args, " "), re, stderr.String())
			}
		}
	}
}
