package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"net/netip"
	"regexp"
	"strings"
	"testing"

	"netlab/lab/check"
	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/plan"
)

// traceLab is lab p: c1 and server on one veth.
const traceLab = `name: p
nodes:
  c1:
    interfaces:
      eth0: {addresses: [192.0.2.10/24]}
  server:
    interfaces:
      eth0: {addresses: [192.0.2.20/24]}
links:
  - [c1:eth0, server:eth0]
`

// udpHeaders are the first bytes of an IPv4 UDP packet, as a trace event
// carries them.
func udpHeaders(src, dst netip.AddrPort) (network, transport []byte) {
	network = make([]byte, 20)
	network[0], network[9] = 0x45, 17
	binary.BigEndian.PutUint16(network[2:], 20+8+16)
	network[8] = 64
	copy(network[12:16], src.Addr().AsSlice())
	copy(network[16:20], dst.Addr().AsSlice())
	transport = make([]byte, 8)
	binary.BigEndian.PutUint16(transport[0:], src.Port())
	binary.BigEndian.PutUint16(transport[2:], dst.Port())
	binary.BigEndian.PutUint16(transport[4:], 8+16)
	return network, transport
}

// hookEvents are the trace's own events of one hook crossed: its first
// chain's and its last chain's.
func hookEvents(netns string, id uint32, hook, iif, oif string, src, dst netip.AddrPort) []kernel.TraceEvent {
	nw, tp := udpHeaders(src, dst)
	e := kernel.TraceEvent{NetNS: netns, ID: id, Family: "inet", Table: kernel.TraceTablePrefix + "_1_1", Hook: hook,
		Own: true, Type: "rule", IIf: iif, OIf: oif, Network: nw, Transport: tp}
	first, last := e, e
	first.Chain, first.Priority, first.OwnFirst, first.Verdict = "first_"+hook, kernel.TraceFirstPriority, true, "accept"
	last.Chain, last.Priority, last.Verdict = "last_"+hook, kernel.TraceLastPriority, "continue"
	return []kernel.TraceEvent{first, last}
}

// udpExchange is what the kernel reports of a UDP probe from c1's port
// to server:7 and its answer.
func udpExchange(m kernel.TraceMatch) []kernel.TraceEvent {
	return udpExchangeBetween("p.c1", "p.server", netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("192.0.2.20"))(m)
}

// udpExchangeBetween is what the kernel reports of a UDP probe from
// namespace fromNS (address from) to port 7 of toNS (address to), and its
// answer, each on eth0.
func udpExchangeBetween(fromNS, toNS string, from, to netip.Addr) func(kernel.TraceMatch) []kernel.TraceEvent {
	return func(m kernel.TraceMatch) []kernel.TraceEvent {
		c := netip.AddrPortFrom(from, m.Port)
		srv := netip.AddrPortFrom(to, 7)
		var evs []kernel.TraceEvent
		add := func(e []kernel.TraceEvent) { evs = append(evs, e...) }
		add(hookEvents(fromNS, 1, "output", "", "eth0", c, srv))
		add(hookEvents(fromNS, 1, "postrouting", "", "eth0", c, srv))
		add(hookEvents(toNS, 2, "prerouting", "eth0", "", c, srv))
		add(hookEvents(toNS, 2, "input", "eth0", "", c, srv))
		add(hookEvents(toNS, 3, "output", "", "eth0", srv, c))
		add(hookEvents(toNS, 3, "postrouting", "", "eth0", srv, c))
		add(hookEvents(fromNS, 4, "prerouting", "eth0", "", srv, c))
		add(hookEvents(fromNS, 4, "input", "eth0", "", srv, c))
		return evs
	}
}

// fakeTrace runs netlab trace's runTrace on the fake network of traceLab
// with a tracer that reports udpExchange.
func fakeTrace(ctx context.Context, t *testing.T, asJSON bool) (string, *kerneltest.Tracer, error) {
	t.Helper()
	l, _, diags := parseLab("lab.yaml", []byte(traceLab))
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	n := kerneltest.NewNet()
	n.AddNetNS("p.c1", netip.MustParsePrefix("192.0.2.10/24"))
	n.AddNetNS("p.server", netip.MustParsePrefix("192.0.2.20/24"))
	tr := kerneltest.NewTracer()
	tr.Script(udpExchange)
	c, err := check.ForTrace(l, "c1", "server", "udp", 7, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	e := &env{stdout: &out, stderr: &out}
	err = runTrace(ctx, e, n, tr, l, plan.Desired(l), c, asJSON)
	return out.String(), tr, err
}

// TestTraceText: netlab trace prints the request's and the answer's
// steps, how each ended and the probe's outcome; the trace's tables are
// gone afterwards.
func TestTraceText(t *testing.T) {
	t.Parallel()
	out, tr, err := fakeTrace(context.Background(), t, false)
	if err != nil {
		t.Fatalf("runTrace: %v\n%s", err, out)
	}
	for _, re := range []string{
		`(?m)^request udp 192\.0\.2\.10:(6[1-5]\d{3}) -> 192\.0\.2\.20:7$`,
		`(?m)^  c1 +output +route +.*-> eth0`,
		`(?m)^  server +input +`,
		`(?m)^  delivered to server$`,
		`(?m)^answer udp 192\.0\.2\.20:7 -> 192\.0\.2\.10:\d+$`,
		`(?m)^  delivered to c1$`,
		`(?m)^probe: answered, rtt [0-9.]+ ms, server saw source 192\.0\.2\.10$`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("output does not match %s:\n%s", re, out)
		}
	}
	if tr.Live() != 0 || len(tr.Tables("p.c1")) != 0 || len(tr.Tables("p.server")) != 0 {
		t.Errorf("after the trace: %d live, tables %v %v", tr.Live(), tr.Tables("p.c1"), tr.Tables("p.server"))
	}
}

// TestTraceJSON: -o json has the Result's fields, its path and the
// probe's outcome.
func TestTraceJSON(t *testing.T) {
	t.Parallel()
	out, _, err := fakeTrace(context.Background(), t, true)
	if err != nil {
		t.Fatalf("runTrace: %v\n%s", err, out)
	}
	var got struct {
		Lab, From, To, Proto string
		Port                 int
		Request              struct {
			Steps []struct{ Node, Hook string }
			End   struct{ What, Node string }
		}
		Answer *struct{ End struct{ What, Node string } }
		Path   struct {
			Via []string
			NAT string
			End string
		}
		Probe struct {
			Reached bool
			Seen    string `json:"seen_source"`
		}
	}
	if strings.Contains(out, `\u003e`) || !strings.Contains(out, `"packet": "udp 192.0.2.10:`) {
		t.Errorf("the JSON escapes > or lost the packet line:\n%s", out)
	}
	if i, j := strings.Index(out, `"request"`), strings.Index(out, `"probe"`); i < 0 || j < i || !strings.HasPrefix(out, "{\n  \"lab\"") {
		t.Errorf("the JSON is not in the Result's order (lab first, probe last):\n%s", out)
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got.Lab != "p" || got.From != "c1" || got.To != "server" || got.Proto != "udp" || got.Port != 7 {
		t.Errorf("header %+v", got)
	}
	if got.Request.End.What != "delivered" || got.Answer == nil || got.Answer.End.Node != "c1" || len(got.Request.Steps) < 4 {
		t.Errorf("ways: request %+v answer %+v", got.Request, got.Answer)
	}
	if got.Path.Via == nil || len(got.Path.Via) != 0 || got.Path.NAT != "none" || got.Path.End != "delivered" {
		t.Errorf("path %+v, want direct, no NAT, delivered", got.Path)
	}
	if !got.Probe.Reached || got.Probe.Seen != "192.0.2.10" {
		t.Errorf("probe %+v", got.Probe)
	}
}

// TestTraceInterrupted: a trace whose ctx ends (Ctrl-C) says so and
// leaves no table.
func TestTraceInterrupted(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out, tr, err := fakeTrace(ctx, t, false)
	if err == nil || err.Error() != "trace interrupted: its tables are removed" {
		t.Errorf("runTrace after Ctrl-C: %v\n%s", err, out)
	}
	if tr.Live() != 0 || len(tr.Tables("p.c1")) != 0 {
		t.Errorf("after Ctrl-C: %d live, tables %v", tr.Live(), tr.Tables("p.c1"))
	}
}
