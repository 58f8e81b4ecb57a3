package kernel_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/state"
)

// traceLab is a client a behind a router r that masquerades it onto the
// network of b, a server, and publishes a's udp port 7 as its own 8080.
// r's forward policy drops what its rules do not let through: udp to
// port 7 from the bridge out, to a's port 7 in, and the answers. The
// bridge on r (a's side) makes r's namespace get a bridge-family trace
// table too.
const traceLab = `name: NAME
nodes:
  a:
    interfaces:
      veth0: {addresses: [192.168.31.11/24]}
    routes: [{to: default, via: 192.168.31.1}]
  r:
    sysctls: {net.ipv4.ip_forward: 1}
    interfaces:
      br0:   {kind: bridge, addresses: [192.168.31.1/24]}
      veth1: {master: br0}
      eth0:  {addresses: [198.51.100.86/24]}
    nat:
      - {action: masquerade, source: 192.168.31.0/24, out: eth0}
      - {action: dnat, in: eth0, proto: udp, dport: 8080, to: "192.168.31.11:7"}
    firewall:
      forward:
        policy: drop
        rules:
          - {action: accept, state: [established, related]}
          - {action: accept, in: br0, out: eth0, proto: udp, dport: 7}
          - {action: accept, in: eth0, proto: udp, dport: 7, destination: 192.168.31.11/32}
  b:
    interfaces:
      eth0: {addresses: [198.51.100.10/24]}
links:
  - [a:veth0, r:veth1]
  - [r:eth0, b:eth0]
`

// masqText is the text of r's masquerade rule, whose tag its events carry.
const masqText = `ip saddr 192.168.31.0/24 oifname "eth0" counter masquerade`

// traceScenario is one run of the trace lab: the events a trace saw of
// one probe, and whether the answer came.
type traceScenario struct {
	lab      string
	events   []kernel.TraceEvent
	answered bool
}

// udpEcho answers every datagram that reaches addr in the namespace.
func udpEcho(t *testing.T, netns, addr string) {
	t.Helper()
	c, err := kernel.NewLinux().ListenPacketIn(netns, "udp4", addr)
	if err != nil {
		t.Fatalf("listen %s in %s: %v", addr, netns, err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			c.WriteTo(buf[:n], from)
		}
	}()
}

// udpAsk sends one datagram from a's port to dst and reports whether an
// answer came within wait.
func udpAsk(t *testing.T, netns string, port uint16, dst string, wait time.Duration) bool {
	t.Helper()
	return udpAskFrom(t, netns, fmt.Sprintf("192.168.31.11:%d", port), dst, wait)
}

func udpAskFrom(t *testing.T, netns, from, dst string, wait time.Duration) bool {
	t.Helper()
	k := kernel.NewLinux()
	defer k.Close()
	c, err := k.ListenPacketIn(netns, "udp4", from)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	to, _ := net.ResolveUDPAddr("udp4", dst)
	if _, err := c.WriteTo([]byte("netlab trace probe"), to); err != nil {
		t.Fatalf("send to %s: %v", dst, err)
	}
	c.SetReadDeadline(time.Now().Add(wait))
	_, _, err = c.ReadFrom(make([]byte, 1500))
	return err == nil
}

// runTrace traces one udp probe from a (port) to dst in the lab's three
// namespaces, and checks that the trace tables are gone after Close.
func runTrace(t *testing.T, name string, port uint16, dst string) traceScenario {
	t.Helper()
	return runTraceFrom(t, name, "a", fmt.Sprintf("192.168.31.11:%d", port), dst)
}

// runTraceFrom traces one udp probe from node's address from.
func runTraceFrom(t *testing.T, name, node, from, dst string) traceScenario {
	t.Helper()
	k := newLinux(t)
	ns := []string{state.NetNSName(name, "a"), state.NetNSName(name, "r"), state.NetNSName(name, "b")}
	port := netip.MustParseAddrPort(from).Port()
	tr, err := k.TraceStart(context.Background(), ns, kernel.TraceMatch{Proto: "udp", Port: port})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	answered := udpAskFrom(t, state.NetNSName(name, node), from, dst, time.Second)
	events := collect(tr, 500*time.Millisecond)
	if err := tr.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, n := range ns {
		if left := traceTables(t, n); len(left) != 0 {
			t.Errorf("%s: trace tables after Close: %v", n, left)
		}
	}
	return traceScenario{lab: name, events: events, answered: answered}
}

// addrs are the source and destination of an event's IPv4 header.
func addrs(e kernel.TraceEvent) (src, dst netip.Addr) {
	if len(e.Network) < 20 || e.Network[0]>>4 != 4 {
		return
	}
	src, _ = netip.AddrFromSlice(e.Network[12:16])
	dst, _ = netip.AddrFromSlice(e.Network[16:20])
	return src, dst
}

// find returns the events of node's namespace at hook (family inet) that
// match keep.
func (s traceScenario) find(node, family, hook string, keep func(kernel.TraceEvent) bool) []kernel.TraceEvent {
	var out []kernel.TraceEvent
	for _, e := range s.events {
		if e.NetNS == state.NetNSName(s.lab, node) && e.Family == family && e.Hook == hook && (keep == nil || keep(e)) {
			out = append(out, e)
		}
	}
	return out
}

func fromAddr(a string) func(kernel.TraceEvent) bool {
	return func(e kernel.TraceEvent) bool { src, _ := addrs(e); return src.String() == a }
}

func toAddr(a string) func(kernel.TraceEvent) bool {
	return func(e kernel.TraceEvent) bool { _, dst := addrs(e); return dst.String() == a }
}

func (s traceScenario) dump(t *testing.T) {
	t.Helper()
	for _, e := range s.events {
		src, dst := addrs(e)
		t.Logf("%3d %s %s %s/%s %s(%d) own=%v first=%v %s %d %q %s in=%s out=%s %s->%s", e.Seq, e.NetNS, e.Family, e.Table, e.Chain,
			e.Hook, e.Priority, e.Own, e.OwnFirst, e.Type, e.Rule, e.RuleTag, e.Verdict, e.IIf, e.OIf, src, dst)
	}
}

// writeFixture keeps the events of a run, with the lab renamed "trace", for
// the trace assembler's tests (lab/trace/testdata), when NETLAB_UPDATE=1.
func writeFixture(t *testing.T, s traceScenario, file, scenario string, probe map[string]any) {
	t.Helper()
	if os.Getenv("NETLAB_UPDATE") != "1" {
		return
	}
	events := make([]kernel.TraceEvent, len(s.events))
	for i, e := range s.events {
		e.NetNS = "trace." + strings.TrimPrefix(e.NetNS, s.lab+".")
		events[i] = e
	}
	doc := map[string]any{
		"scenario": scenario,
		"lab":      strings.Replace(traceLab, "name: NAME", "name: trace", 1),
		"probe":    probe,
		"events":   events,
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "trace", "testdata", file)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestTraceThroughMasquerade(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	name := kerneltest.LabName(t)
	k := newLinux(t)
	upLab(t, k, parseLab(t, strings.Replace(traceLab, "name: NAME", "name: "+name, 1)))
	udpEcho(t, state.NetNSName(name, "b"), "198.51.100.10:7")

	s := runTrace(t, name, 40001, "198.51.100.10:7")
	s.dump(t)
	if !s.answered {
		t.Fatal("no answer from b: the lab does not work, the trace cannot show it")
	}
	writeFixture(t, s, "kernel-udp-masquerade.json",
		"udp 192.168.31.11:40001 -> 198.51.100.10:7 from a through r (bridge br0, masquerade onto eth0) to b, and b's answer",
		map[string]any{"from": "a", "to": "b", "proto": "udp", "port": 40001, "dst": "198.51.100.10:7"})

	req := fromAddr("192.168.31.11")
	for _, want := range []struct{ node, family, hook string }{
		{"a", "inet", "output"}, {"a", "inet", "postrouting"},
		{"r", "bridge", "prerouting"}, {"r", "inet", "prerouting"}, {"r", "inet", "forward"}, {"r", "inet", "postrouting"},
	} {
		if len(s.find(want.node, want.family, want.hook, req)) == 0 {
			t.Errorf("the request has no %s event in %s at %s", want.family, want.node, want.hook)
		}
	}
	// r's postrouting: the masquerade rule, tagged, and the source
	// changed between the first chain and the last.
	post := s.find("r", "inet", "postrouting", nil)
	var first, last *kernel.TraceEvent
	masq := false
	for i, e := range post {
		if e.Own && e.OwnFirst && first == nil {
			first = &post[i]
		}
		if e.Own && !e.OwnFirst && e.Type == "policy" && last == nil {
			last = &post[i]
		}
		if e.Table == state.NFTableName && e.RuleTag == state.RuleTag(masqText) && e.Verdict == "accept" {
			masq = true
		}
	}
	if !masq {
		t.Errorf("no event of r's masquerade rule (tag %s) at postrouting", state.RuleTag(masqText))
	}
	if first == nil || last == nil {
		t.Fatalf("r postrouting: first %v, last %v: want both of the trace's chains", first, last)
	}
	if src, _ := addrs(*first); src.String() != "192.168.31.11" {
		t.Errorf("r postrouting enters with source %s; want 192.168.31.11", src)
	}
	if src, _ := addrs(*last); src.String() != "198.51.100.86" {
		t.Errorf("r postrouting leaves with source %s; want the masquerade address 198.51.100.86", src)
	}
	if first.OIf != "eth0" {
		t.Errorf("r postrouting: out interface %q; want eth0", first.OIf)
	}
	// b sees the translated request, and the answer goes back to a.
	masqueraded := fromAddr("198.51.100.86")
	for _, hook := range []string{"prerouting", "input"} {
		if len(s.find("b", "inet", hook, masqueraded)) == 0 {
			t.Errorf("b has no event at %s of the masqueraded request", hook)
		}
	}
	answer := toAddr("198.51.100.86")
	if len(s.find("b", "inet", "output", answer)) == 0 {
		t.Error("b has no event of the answer at output")
	}
	back := s.find("r", "inet", "prerouting", answer)
	if len(back) == 0 {
		t.Error("r has no event of the answer at prerouting")
	}
	// The reverse translation is conntrack's, at r's prerouting: the
	// answer enters for 198.51.100.86 and leaves for a.
	toA := toAddr("192.168.31.11")
	if len(s.find("r", "inet", "forward", toA)) == 0 || len(s.find("a", "inet", "input", toA)) == 0 {
		t.Error("the answer, translated back, does not reach r's forward and a's input")
	}
	for _, e := range s.events {
		if e.Hook == "" {
			t.Errorf("event without a hook: %+v", e)
		}
	}
}

func TestTraceForwardPolicyDrop(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	name := kerneltest.LabName(t)
	k := newLinux(t)
	upLab(t, k, parseLab(t, strings.Replace(traceLab, "name: NAME", "name: "+name, 1)))
	udpEcho(t, state.NetNSName(name, "b"), "198.51.100.10:9")

	s := runTrace(t, name, 40002, "198.51.100.10:9")
	s.dump(t)
	if s.answered {
		t.Fatal("b answered on port 9: r's forward policy should drop it")
	}
	writeFixture(t, s, "kernel-udp-drop.json",
		"udp 192.168.31.11:40002 -> 198.51.100.10:9 from a, dropped by r's forward policy (no rule lets port 9 through)",
		map[string]any{"from": "a", "to": "b", "proto": "udp", "port": 40002, "dst": "198.51.100.10:9"})
	var drop []kernel.TraceEvent
	for _, e := range s.find("r", "inet", "forward", nil) {
		if e.Table == state.NFTableName && e.Type == "policy" && e.Verdict == "drop" {
			drop = append(drop, e)
		}
	}
	if len(drop) == 0 {
		t.Fatal("no policy drop event in r's forward chain")
	}
	if d := drop[0]; d.Chain != "filter_forward" || d.Priority != 0 || d.IIf != "br0" || d.OIf != "eth0" {
		t.Errorf("drop event %+v: want chain filter_forward priority 0, br0 -> eth0", d)
	}
	if got := s.find("r", "inet", "postrouting", nil); len(got) != 0 {
		t.Errorf("a dropped packet reached r's postrouting: %+v", got)
	}
	if got := s.find("b", "inet", "prerouting", nil); len(got) != 0 {
		t.Errorf("a dropped packet reached b: %+v", got)
	}
}

// Two traces at once in the same namespaces, on different ports: each
// sees its own packet only, though the kernel reports both to both.
func TestTraceConcurrentTraces(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	name := kerneltest.LabName(t)
	k := newLinux(t)
	upLab(t, k, parseLab(t, strings.Replace(traceLab, "name: NAME", "name: "+name, 1)))
	udpEcho(t, state.NetNSName(name, "b"), "198.51.100.10:7")
	ns := []string{state.NetNSName(name, "a"), state.NetNSName(name, "r"), state.NetNSName(name, "b")}
	ports := []uint16{40011, 40012}
	var traces []kernel.Trace
	for _, p := range ports {
		tr, err := k.TraceStart(context.Background(), ns, kernel.TraceMatch{Proto: "udp", Port: p})
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		traces = append(traces, tr)
	}
	for _, p := range ports {
		if !udpAsk(t, ns[0], p, "198.51.100.10:7", time.Second) {
			t.Fatalf("no answer to port %d", p)
		}
	}
	for i, tr := range traces {
		events := collect(tr, 500*time.Millisecond)
		tr.Close()
		if len(events) == 0 {
			t.Errorf("trace of port %d saw nothing", ports[i])
		}
		for _, e := range events {
			if len(e.Transport) < 4 {
				continue
			}
			sport, dport := uint16(e.Transport[0])<<8|uint16(e.Transport[1]), uint16(e.Transport[2])<<8|uint16(e.Transport[3])
			if sport != ports[i] && dport != ports[i] {
				t.Errorf("trace of port %d delivered an event of ports %d -> %d: %s %s/%s", ports[i], sport, dport, e.NetNS, e.Table, e.Chain)
			}
		}
	}
}

// icmpEcho sends one echo request with identifier id from a to dst, and
// reports whether the reply came.
func icmpEcho(t *testing.T, netns string, id uint16, dst string, wait time.Duration) bool {
	t.Helper()
	k := kernel.NewLinux()
	defer k.Close()
	c, err := k.ListenPacketIn(netns, "ip4:icmp", "0.0.0.0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := []byte{8, 0, 0, 0, byte(id >> 8), byte(id), 0, 1, 'n', 'l'}
	var sum uint32
	for i := 0; i < len(msg); i += 2 {
		sum += uint32(msg[i])<<8 | uint32(msg[i+1])
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	msg[2], msg[3] = byte(^sum>>8), byte(^sum)
	if _, err := c.WriteTo(msg, &net.IPAddr{IP: net.ParseIP(dst)}); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 1500)
	for {
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			return false
		}
		if n >= 8 && buf[0] == 0 && uint16(buf[4])<<8|uint16(buf[5]) == id {
			return true
		}
	}
}

// An ICMP trace follows the echo by its identifier, through the
// masquerade and back; with an address, only packets to or from it.
func TestTraceICMPEcho(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	name := kerneltest.LabName(t)
	k := newLinux(t)
	// Let echo through r's forward chain, which drops what it does not
	// accept.
	text := strings.Replace(traceLab, "name: NAME", "name: "+name, 1)
	text = strings.Replace(text, "          - {action: accept, in: br0, out: eth0, proto: udp, dport: 7}\n",
		"          - {action: accept, in: br0, out: eth0, proto: udp, dport: 7}\n          - {action: accept, in: br0, out: eth0, proto: icmp}\n", 1)
	upLab(t, k, parseLab(t, text))
	ns := []string{state.NetNSName(name, "a"), state.NetNSName(name, "r"), state.NetNSName(name, "b")}

	tr, err := k.TraceStart(context.Background(), ns, kernel.TraceMatch{Proto: "icmp", Port: 4242})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	// Only the echo whose identifier is the trace's.
	watched, err := k.TraceStart(context.Background(), ns, kernel.TraceMatch{Proto: "icmp", Port: 4242, Addr: netip.MustParseAddr("192.0.2.1")})
	if err != nil {
		t.Fatal(err)
	}
	defer watched.Close()
	addressed, err := k.TraceStart(context.Background(), ns, kernel.TraceMatch{Proto: "icmp", Port: 4242, Addr: netip.MustParseAddr("198.51.100.10")})
	if err != nil {
		t.Fatal(err)
	}
	defer addressed.Close()
	if !icmpEcho(t, ns[0], 4243, "198.51.100.10", time.Second) || !icmpEcho(t, ns[0], 4242, "198.51.100.10", time.Second) {
		t.Fatal("no echo reply from b")
	}
	s := traceScenario{lab: name, events: collect(tr, 500*time.Millisecond)}
	for _, e := range s.events {
		if len(e.Transport) < 6 || uint16(e.Transport[4])<<8|uint16(e.Transport[5]) != 4242 {
			t.Errorf("event of another echo: %s %s/%s %v", e.NetNS, e.Table, e.Chain, e.Transport)
		}
	}
	if len(s.find("b", "inet", "input", fromAddr("198.51.100.86"))) == 0 {
		t.Error("b has no input event of the masqueraded echo request")
	}
	if len(s.find("a", "inet", "input", fromAddr("198.51.100.10"))) == 0 {
		t.Error("a has no input event of the echo reply")
	}
	withAddr := traceScenario{lab: name, events: collect(addressed, 100*time.Millisecond)}
	if len(withAddr.find("b", "inet", "input", nil)) == 0 || len(withAddr.find("a", "inet", "input", nil)) == 0 {
		t.Errorf("a trace of 198.51.100.10 missed the echo or its reply: %d events", len(withAddr.events))
	}
	for _, e := range withAddr.events {
		if src, dst := addrs(e); src.String() != "198.51.100.10" && dst.String() != "198.51.100.10" {
			t.Errorf("a trace of 198.51.100.10 delivered %s -> %s", src, dst)
		}
	}
	if got := collect(watched, 100*time.Millisecond); len(got) != 0 {
		t.Errorf("a trace of 192.0.2.1 saw %d events of packets neither from nor to it", len(got))
	}
}

// dstPort is the destination port of an event's udp or tcp header.
func dstPort(e kernel.TraceEvent) uint16 {
	if len(e.Transport) < 4 {
		return 0
	}
	return uint16(e.Transport[2])<<8 | uint16(e.Transport[3])
}

// A published port: b's datagram to r's 8080 enters r's prerouting for
// 198.51.100.86:8080 and leaves it for a's port 7 (the DNAT rule); a's
// answer is translated back by conntrack.
func TestTraceThroughDNAT(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	name := kerneltest.LabName(t)
	k := newLinux(t)
	upLab(t, k, parseLab(t, strings.Replace(traceLab, "name: NAME", "name: "+name, 1)))
	udpEcho(t, state.NetNSName(name, "a"), "192.168.31.11:7")

	s := runTraceFrom(t, name, "b", "198.51.100.10:40003", "198.51.100.86:8080")
	s.dump(t)
	if !s.answered {
		t.Fatal("no answer from a through r's published port")
	}
	writeFixture(t, s, "kernel-udp-dnat.json",
		"udp 198.51.100.10:40003 -> 198.51.100.86:8080 from b, published by r's DNAT to a's 192.168.31.11:7, and a's answer",
		map[string]any{"from": "b", "to": "198.51.100.86", "proto": "udp", "port": 40003, "dst": "198.51.100.86:8080"})
	pre := s.find("r", "inet", "prerouting", fromAddr("198.51.100.10"))
	var first, last *kernel.TraceEvent
	dnat := false
	for i, e := range pre {
		if e.Own && e.OwnFirst && first == nil {
			first = &pre[i]
		}
		if e.Own && !e.OwnFirst && e.Type == "policy" && last == nil {
			last = &pre[i]
		}
		if e.Table == state.NFTableName && e.Chain == "nat_prerouting" && e.Verdict == "accept" && e.RuleTag != "" {
			dnat = true
		}
	}
	if !dnat {
		t.Error("no event of r's DNAT rule in nat_prerouting")
	}
	if first == nil || last == nil {
		t.Fatalf("r prerouting: first %v, last %v", first, last)
	}
	if _, dst := addrs(*first); dst.String() != "198.51.100.86" || dstPort(*first) != 8080 {
		t.Errorf("r prerouting entered for %s:%d; want 198.51.100.86:8080", dst, dstPort(*first))
	}
	if _, dst := addrs(*last); dst.String() != "192.168.31.11" || dstPort(*last) != 7 {
		t.Errorf("r prerouting left for %s:%d; want a's 192.168.31.11:7", dst, dstPort(*last))
	}
	if len(s.find("a", "inet", "input", toAddr("192.168.31.11"))) == 0 {
		t.Error("a has no input event of the published datagram")
	}
	if len(s.find("b", "inet", "input", fromAddr("198.51.100.86"))) == 0 {
		t.Error("b has no input event of the answer, translated back to r's address")
	}
}
