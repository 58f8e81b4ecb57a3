package reconcile_test

import (
	"strings"
	"testing"

	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/reconcile"
)

// ipv6OffLab is pairLab with IPv6 turned off in a, all of it (lo too), and
// in b on eth0 only: what a course does to keep IPv6 out of the way.
func ipv6OffLab(t *testing.T, name string) string {
	t.Helper()
	text := strings.Replace(pairLab, "name: pair", "name: "+name, 1)
	text = strings.Replace(text, "  a:\n", "  a:\n    sysctls: {net.ipv6.conf.all.disable_ipv6: 1}\n", 1)
	return strings.Replace(text, "  b:\n", "  b:\n    sysctls: {net.ipv6.conf.eth0.disable_ipv6: 1}\n", 1)
}

// TestIPv6OffOnLinux: a node whose sysctls turn IPv6 off comes up (the
// kernel then drops lo's ::1, which up used to want back), and a second
// plan is empty.
func TestIPv6OffOnLinux(t *testing.T) {
	kerneltest.RequireRoot(t)
	name := toolboxLab(t)
	l := parse(t, ipv6OffLab(t, name))
	k := kernel.NewLinux()
	defer k.Close()
	if _, err := reconcile.Up(ctx, k, l, reconcile.Options{}); err != nil {
		t.Fatalf("up: %v", err)
	}
	defer reconcile.Down(ctx, k, name, reconcile.DownOptions{})
	p, err := reconcile.Plan(ctx, k, l, reconcile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Plan.Empty() {
		var b strings.Builder
		p.Plan.WriteText(&b)
		t.Errorf("second plan is not empty:\n%s", b.String())
	}
}

// TestIPv6OffOnFake is TestIPv6OffOnLinux on the fake, which drops the
// IPv6 addresses of the links whose IPv6 a sysctl turns off, as Linux
// does.
func TestIPv6OffOnFake(t *testing.T) {
	l := parse(t, ipv6OffLab(t, "v6off"))
	k := kerneltest.NewFake()
	if _, err := reconcile.Up(ctx, k, l, reconcile.Options{}); err != nil {
		t.Fatalf("up: %v", err)
	}
	o, err := k.Observe(ctx, "v6off", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ node, link string }{{"a", "lo"}, {"a", "eth0"}, {"b", "eth0"}} {
		for _, a := range o.Nodes[c.node].Links[c.link].Addrs {
			if a.Addr().Is6() {
				t.Errorf("%s:%s has IPv6 address %s with IPv6 turned off", c.node, c.link, a)
			}
		}
	}
	if has6 := false; true {
		for _, a := range o.Nodes["b"].Links["lo"].Addrs {
			has6 = has6 || a.Addr().Is6()
		}
		if !has6 {
			t.Errorf("b:lo lost its IPv6 address, though only b's eth0 has IPv6 off")
		}
	}
}
