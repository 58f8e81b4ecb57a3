package main

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"

	"netlab/lab/kernel/kerneltest"
)

// onBothKernels runs fn with the commands on a fake kernel (testKernel
// set to a new kerneltest.Fake) and, as root, on the machine's kernel. The
// subtests do not run in parallel: testKernel, like runDir, is the
// package's, and so is the working directory sandbox sets.
func onBothKernels(t *testing.T, fn func(t *testing.T)) {
	t.Helper()
	t.Run("fake", func(t *testing.T) {
		useFakeKernel(t)
		fn(t)
	})
	t.Run("linux", func(t *testing.T) {
		kerneltest.RequireRoot(t)
		fn(t)
	})
}

// useFakeKernel makes the commands work on a new fake kernel until the
// test ends, and returns it.
func useFakeKernel(t *testing.T) *kerneltest.Fake {
	t.Helper()
	f := kerneltest.NewFake()
	old := testKernel
	testKernel = f
	t.Cleanup(func() { testKernel = old })
	return f
}

// TestUpPlanStatusDown runs a lab's life through the command line's own
// run(), as up_default.txtar does with the binary: plan shows the
// changes, up applies them and a second up has none, plan
// --detailed-exitcode agrees, status and ls see the lab, down removes it
// and a second down finds nothing. On the fake kernel and, as root, on
// the machine's.
func TestUpPlanStatusDown(t *testing.T) {
	onBothKernels(t, func(t *testing.T) {
		sandbox(t)
		name := kerneltest.LabName(t)
		text := strings.Replace(`name: LAB
nodes:
  a:
    interfaces:
      eth0: {addresses: [192.0.2.1/24]}
    routes: [{to: 198.51.100.0/24, via: 192.0.2.2}]
  b:
    interfaces:
      eth0: {addresses: [192.0.2.2/24]}
links:
  - [a:eth0, b:eth0]
`, "LAB", name, 1)
		if err := os.WriteFile("lab.yaml", []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			args []string
			code int
			want []string // regular expressions, each to match a line of stdout
		}{
			{[]string{"plan", "--detailed-exitcode", "lab.yaml"}, exitChanges, []string{
				`^    \+ netns ` + name + `\.a +# ip netns add ` + name + `\.a$`,
				`^    \+ route 198\.51\.100\.0/24 via 192\.0\.2\.2 +# ip -n ` + name + `\.a route replace 198\.51\.100\.0/24 via 192\.0\.2\.2 proto 78$`,
				`^Plan: 8 to create, 0 to change, 0 to replace, 0 to delete\.$`,
			}},
			{[]string{"up", "lab.yaml"}, exitOK, []string{
				`^Lab ` + name + ` is up: 8 change\(s\) applied in [0-9.]+s, and the kernel matches the file\.$`,
			}},
			{[]string{"up", "lab.yaml"}, exitOK, []string{`^No changes: the lab matches the file\.$`}},
			{[]string{"plan", "--detailed-exitcode", "lab.yaml"}, exitOK, []string{`^No changes: the lab matches the file\.$`}},
			{[]string{"status", "lab.yaml"}, exitOK, []string{
				`^lab ` + name + `: 2 node\(s\)$`,
				`^a +eth0 +veth +b:eth0 +- +up +1500 +192\.0\.2\.1/24 `,
				`^b +eth0 +veth +a:eth0 +- +up +1500 +192\.0\.2\.2/24 `,
			}},
			{[]string{"ls"}, exitOK, []string{`^` + name + ` +2 +a b$`}},
			{[]string{"down", "lab.yaml"}, exitOK, []string{`^Lab ` + name + ` is down: 2 namespace\(s\) removed\.$`}},
			{[]string{"down", "lab.yaml"}, exitOK, []string{`^Lab ` + name + ` is not running: nothing to remove\.$`}},
		}
		for _, st := range steps {
			var stdout, stderr bytes.Buffer
			code := run(st.args, strings.NewReader(""), &stdout, &stderr)
			if code != st.code {
				t.Fatalf("netlab %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(st.args, " "), code, st.code, stdout.String(), stderr.String())
			}
			if stderr.Len() != 0 {
				t.Errorf("netlab %s: stderr %q", strings.Join(st.args, " "), stderr.String())
			}
			for _, re := range st.want {
				if !regexp.MustCompile("(?m)" + re).MatchString(stdout.String()) {
					t.Errorf("netlab %s: no line matches %s in stdout:\n%s", strings.Join(st.args, " "), re, stdout.String())
				}
			}
		}
	})
}
