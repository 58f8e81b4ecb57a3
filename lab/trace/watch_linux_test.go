package trace_test

import (
	"context"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/labfile"
	"netlab/lab/plan"
	"netlab/lab/reconcile"
	"netlab/lab/state"
	"netlab/lab/trace"
	"netlab/lab/validate"
)

// watchLab is a client a behind a router r that masquerades it onto b's
// network; r forwards udp to port 7 and the answers, and drops the rest.
const watchLab = `name: NAME
nodes:
  a:
    interfaces:
      veth0: {addresses: [192.168.31.11/24]}
    routes: [{to: default, via: 192.168.31.1}]
  r:
    sysctls: {net.ipv4.ip_forward: 1}
    interfaces:
      veth1: {addresses: [192.168.31.1/24]}
      eth0:  {addresses: [198.51.100.86/24]}
    nat:
      - {action: masquerade, source: 192.168.31.0/24, out: eth0}
    firewall:
      forward:
        policy: drop
        rules:
          - {action: accept, state: [established, related]}
          - {action: accept, in: veth1, out: eth0, proto: udp, dport: 7}
  b:
    interfaces:
      eth0: {addresses: [198.51.100.10/24]}
links:
  - [a:veth0, r:veth1]
  - [r:eth0, b:eth0]
`

// traceTables lists the netlab_trace tables of netns, as nft shows them
// from outside.
func traceTables(t *testing.T, netns string) []string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", netns, "nft", "list", "tables").Output()
	if err != nil {
		t.Fatalf("nft list tables in %s: %v", netns, err)
	}
	var tables []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, kernel.TraceTablePrefix) {
			tables = append(tables, line)
		}
	}
	return tables
}

// TestWatchOnTheKernel: Watch, on a lab up on the real kernel, tells the
// way of each udp packet to or from port 7 sent between the lab's
// namespaces (the request, masqueraded by r; the answer, translated
// back), not the packet to another port; once ctx ends, no trace table
// is left in any namespace.
func TestWatchOnTheKernel(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	name := kerneltest.LabName(t)
	l, diags := labfile.Parse("watch.yaml", []byte(strings.Replace(watchLab, "name: NAME", "name: "+name, 1)))
	diags.Append(validate.Lab(l)...)
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	k := kernel.NewLinux()
	defer k.Close()
	ctx := context.Background()
	if _, err := reconcile.Up(ctx, k, l, reconcile.Options{}); err != nil {
		t.Fatalf("up: %v", err)
	}
	desired := plan.Desired(l)
	s, err := reconcile.Observe(ctx, k, l.Name, desired, nil)
	if err != nil {
		t.Fatal(err)
	}
	reconcile.NameRules(s, l.Name, nil, desired)
	aNS, rNS, bNS := state.NetNSName(name, "a"), state.NetNSName(name, "r"), state.NetNSName(name, "b")

	var mu sync.Mutex
	var ways []*trace.Way
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- trace.Watch(wctx, k, k, s, kernel.TraceMatch{Proto: "udp", Port: 7}, func(w *trace.Way) {
			mu.Lock()
			defer mu.Unlock()
			ways = append(ways, w)
		})
	}()
	for deadline := time.Now().Add(5 * time.Second); len(traceTables(t, aNS)) == 0 || len(traceTables(t, bNS)) == 0 || len(traceTables(t, rNS)) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("no trace table after 5s of Watch")
		}
		time.Sleep(20 * time.Millisecond)
	}

	echo, err := k.ListenPacketIn(bNS, "udp", "198.51.100.10:7")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := echo.ReadFrom(buf)
			if err != nil {
				return
			}
			echo.WriteTo(buf[:n], from)
		}
	}()
	c, err := k.ListenPacketIn(aNS, "udp", "192.168.31.11:40401")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b := &net.UDPAddr{IP: net.IPv4(198, 51, 100, 10), Port: 7}
	if _, err := c.WriteTo([]byte("not traced"), &net.UDPAddr{IP: b.IP, Port: 9}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WriteTo([]byte("traced"), b); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, _, err := c.ReadFrom(make([]byte, 100)); err != nil {
		t.Fatalf("no echo from b: %v", err)
	}

	const req, ans = "udp 192.168.31.11:40401 -> 198.51.100.10:7", "udp 198.51.100.10:7 -> 198.51.100.86:40401"
	byPacket := map[string]*trace.Way{}
	for deadline := time.Now().Add(5 * time.Second); byPacket[req] == nil || byPacket[ans] == nil; {
		if time.Now().After(deadline) {
			for _, w := range byPacket {
				var text strings.Builder
				w.WriteText(&text)
				t.Logf("%s", text.String())
			}
			t.Fatalf("ways after 5s: %d", len(byPacket))
		}
		time.Sleep(50 * time.Millisecond)
		mu.Lock()
		for _, w := range ways {
			byPacket[w.Packet] = w
		}
		mu.Unlock()
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Watch: %v", err)
	}
	for p, w := range byPacket {
		var text strings.Builder
		w.WriteText(&text)
		t.Logf("%s", text.String())
		if strings.Contains(p, ":9") {
			t.Errorf("a packet to port 9 was traced: %s", p)
		}
	}
	masq := false
	for _, st := range byPacket[req].Steps {
		if st.Node == "r" && st.Hook == "postrouting" && st.After != nil && st.After.Src == "198.51.100.86:40401" {
			masq = true
		}
	}
	if !masq || byPacket[req].End != (trace.End{What: "delivered", Node: "b"}) {
		t.Errorf("request: masquerade at r postrouting %v, end %+v", masq, byPacket[req].End)
	}
	back := false
	for _, st := range byPacket[ans].Steps {
		if st.Node == "r" && st.Hook == "prerouting" && st.Rule == "conntrack" && st.After != nil && st.After.Dst == "192.168.31.11:40401" {
			back = true
		}
	}
	if !back || byPacket[ans].End != (trace.End{What: "delivered", Node: "a"}) {
		t.Errorf("answer: translated back at r prerouting %v, end %+v", back, byPacket[ans].End)
	}
	for _, ns := range []string{aNS, rNS, bNS} {
		if tables := traceTables(t, ns); len(tables) != 0 {
			t.Errorf("after the watch, %s has %v", ns, tables)
		}
	}
}
