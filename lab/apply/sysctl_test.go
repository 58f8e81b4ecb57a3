package apply_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"netlab/lab/apply"
	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/plan"
)

const sysctlLab = `name: sc
nodes:
  a:
    sysctls:
      net.ipv4.ip_forward: "01"
      net.ipv4.conf.eth0.rp_filter: 2
      net.ipv4.conf.eth9.rp_filter: 2
      net.ipv4.no_such_key: 1
      net.core.rmem_max: 4096
      net.ipv4.route.flush: 1
    interfaces:
      eth0: {addresses: [10.0.0.1/24]}
  b: {}
links:
  - [a:eth0, b:eth0]
`

// TestCheckSysctls: a key the kernel lacks, one a namespace may only
// read, and an action with nothing to read back are refused at their
// positions before anything is written, in a node not made yet (asked of a fresh
// namespace) and in one that exists; a key of a device the node declares
// is looked up as the default device's until the device exists.
func TestCheckSysctls(t *testing.T) {
	ctx := context.Background()
	k := kerneltest.NewFake()
	l := mustLab(t, "sysctl", []byte(sysctlLab))
	want := []string{
		`sysctl.yaml:7:7: sysctl "net.ipv4.conf.eth9.rp_filter" does not exist in the namespace of node "a"`,
		`sysctl.yaml:8:7: sysctl "net.ipv4.no_such_key" does not exist in the namespace of node "a"`,
		`sysctl.yaml:9:7: sysctl "net.core.rmem_max" is read-only in the namespace of node "a"`,
		`sysctl.yaml:10:7: sysctl "net.ipv4.route.flush" is write-only (an action, not a setting netlab can read back) in the namespace of node "a"`,
	}
	check := func(when string) {
		t.Helper()
		observed, err := k.Observe(ctx, l.Name, plan.Desired(l))
		if err != nil {
			t.Fatal(err)
		}
		writes := k.Writes()
		diags, err := apply.CheckSysctls(ctx, k, l, "", observed)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, d := range diags {
			msg, _, _ := strings.Cut(d.String(), `"a": `) // the hint follows
			got = append(got, msg+`"a"`)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: diagnostics (-want +got):\n%s", when, diff)
		}
		if k.Writes() != writes {
			t.Errorf("%s: CheckSysctls wrote to the kernel", when)
		}
	}
	check("before the lab exists")
	if k.Calls("SysctlProblems") != 1 {
		t.Errorf("SysctlProblems called %d times for one fresh namespace, want 1", k.Calls("SysctlProblems"))
	}

	// Without the two bad keys the lab comes up, "01" reads back as 1,
	// and a second up changes nothing.
	good := mustLab(t, "sysctl", []byte(strings.NewReplacer(
		"      net.ipv4.conf.eth9.rp_filter: 2\n", "", "      net.ipv4.no_such_key: 1\n", "",
		"      net.core.rmem_max: 4096\n", "", "      net.ipv4.route.flush: 1\n", "").Replace(sysctlLab)))
	upFake(t, k, good, plan.Options{})
	if p := upFake(t, k, good, plan.Options{}); !p.Empty() {
		t.Errorf("second up: %s", p.Changes[0].Describe())
	}
	check("once the lab is up")
}

// TestCheckSysctlsTriesValues: a value the kernel refuses ("true" for an
// integer sysctl) is refused at its position before anything is written,
// having been tried in a fresh namespace, and so is none of the others.
func TestCheckSysctlsTriesValues(t *testing.T) {
	ctx := context.Background()
	k := kerneltest.NewFake()
	l := mustLab(t, "sysctl", []byte(`name: sc
nodes:
  a:
    sysctls:
      net.ipv4.ip_forward: "true"
      net.ipv4.conf.eth0.rp_filter: 2
      net.ipv4.tcp_congestion_control: bbr
    interfaces:
      eth0: {addresses: [10.0.0.1/24]}
  b: {}
links:
  - [a:eth0, b:eth0]
`))
	observed, err := k.Observe(ctx, l.Name, plan.Desired(l))
	if err != nil {
		t.Fatal(err)
	}
	diags, err := apply.CheckSysctls(ctx, k, l, "", observed)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range diags {
		got = append(got, d.String())
	}
	want := []string{`sysctl.yaml:5:7: sysctl "net.ipv4.ip_forward": the kernel refuses the value "true": invalid argument: write a value the key takes: netlab exec a -- sysctl net.ipv4.ip_forward shows the current one`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("diagnostics (-want +got):\n%s", diff)
	}
	if k.Writes() != 0 || k.Calls("SysctlTry") != 1 {
		t.Errorf("%d writes to the lab and %d tries, want none and one", k.Writes(), k.Calls("SysctlTry"))
	}
}

// trialKernel is the fake kernel, recording the writes SysctlTry is
// asked to try.
type trialKernel struct {
	*kerneltest.Fake
	tried []kernel.SysctlWrite
}

func (k *trialKernel) SysctlTry(ctx context.Context, writes []kernel.SysctlWrite) ([]kernel.SysctlTrial, error) {
	k.tried = append(k.tried, writes...)
	return k.Fake.SysctlTry(ctx, writes)
}

// TestCheckSysctlsOncePerSetting: the routers of a chain all set the
// same sysctls, and each setting is tried once, not once a router; once
// the lab is up, nothing is looked up or tried, since nothing will be
// written (a no-op plan of a 1000-router chain entered every namespace).
func TestCheckSysctlsOncePerSetting(t *testing.T) {
	l := mustLab(t, "sc", chainLab("sc", 6, 0))
	k := &trialKernel{Fake: kerneltest.NewFake()}
	diags, err := apply.CheckSysctls(context.Background(), k, l, "", nil)
	if err != nil || diags.HasErrors() {
		t.Fatalf("CheckSysctls of a fresh chain: %v, %v", diags.Err(), err)
	}
	if len(k.tried) != 2 { // ip_forward and ipv6 forwarding, at 1
		t.Errorf("tried %d writes for 6 routers of 2 settings, want 2: %v", len(k.tried), k.tried)
	}
	upFake(t, k, l, plan.Options{})
	observed, err := k.Observe(context.Background(), "sc", plan.Desired(l))
	if err != nil {
		t.Fatal(err)
	}
	k.tried = nil
	looked := k.Calls("SysctlProblems")
	if _, err := apply.CheckSysctls(context.Background(), k, l, "", observed); err != nil {
		t.Fatal(err)
	}
	if n := k.Calls("SysctlProblems") - looked; n != 0 || len(k.tried) != 0 {
		t.Errorf("CheckSysctls of a lab that is up looked up %d namespaces and tried %v; want none", n, k.tried)
	}
}
