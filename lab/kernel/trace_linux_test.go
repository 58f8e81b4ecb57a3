package kernel_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
)

// nftTables lists the tables of a namespace as `nft list tables` and
// `nft list table` show them from outside, as a user would: "FAMILY
// NAME" -> the table's flags. (Text, not -j: nft 1.0.6 writes a table's
// flags in JSON as its release name.)
func nftTables(t *testing.T, netns string) map[string][]string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", netns, "nft", "list", "tables").Output()
	if err != nil {
		t.Fatalf("nft list tables in %s: %v", netns, err)
	}
	tables := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line) // table FAMILY NAME
		if len(f) != 3 || f[0] != "table" {
			continue
		}
		text, err := exec.Command("ip", "netns", "exec", netns, "nft", "list", "table", f[1], f[2]).Output()
		if err != nil {
			continue // gone in between
		}
		flags := []string{}
		for _, l := range strings.Split(string(text), "\n") {
			if rest, ok := strings.CutPrefix(strings.TrimSpace(l), "flags "); ok && !strings.Contains(l, "chain") {
				for _, fl := range strings.Split(rest, ",") {
					flags = append(flags, strings.TrimSpace(fl))
				}
				break
			}
		}
		tables[f[1]+" "+f[2]] = flags
	}
	return tables
}

// traceTables are the trace tables of a namespace, seen from outside.
func traceTables(t *testing.T, netns string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for name, flags := range nftTables(t, netns) {
		if strings.Contains(name, kernel.TraceTablePrefix) {
			out[name] = flags
		}
	}
	return out
}

// collect reads a trace's events until quiet has passed without one.
func collect(tr kernel.Trace, quiet time.Duration) []kernel.TraceEvent {
	var out []kernel.TraceEvent
	for {
		select {
		case e, ok := <-tr.Events():
			if !ok {
				return out
			}
			out = append(out, e)
		case <-time.After(quiet):
			return out
		}
	}
}

// udpSend sends one datagram from a local port to addr, inside a
// namespace.
func udpSend(t *testing.T, netns string, from, to string) {
	t.Helper()
	k := kernel.NewLinux()
	defer k.Close()
	c, err := k.ListenPacketIn(netns, "udp4", from)
	if err != nil {
		t.Fatalf("listen %s in %s: %v", from, netns, err)
	}
	defer c.Close()
	dst, err := net.ResolveUDPAddr("udp4", to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WriteTo([]byte("netlab trace"), dst); err != nil {
		t.Fatalf("send %s -> %s in %s: %v", from, to, netns, err)
	}
}

func TestTraceLoopbackOwnedTable(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	ns := kerneltest.NewTestNS(t)
	if out, err := exec.Command("ip", "-n", ns, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("lo up: %v: %s", err, out)
	}
	k := newLinux(t)
	tr, err := k.TraceStart(context.Background(), []string{ns}, kernel.TraceMatch{Proto: "udp", Port: 40123})
	if err != nil {
		t.Fatal(err)
	}
	tables := traceTables(t, ns)
	if len(tables) != 1 {
		t.Fatalf("trace tables while tracing: %v; want one inet table", tables)
	}
	for name, flags := range tables {
		if !strings.HasPrefix(name, "inet "+kernel.TraceTablePrefix+"_") || !slices.Contains(flags, "owner") {
			t.Errorf("trace table %s has flags %v; want an inet table with the owner flag", name, flags)
		}
	}
	udpSend(t, ns, "127.0.0.1:40123", "127.0.0.1:9")
	udpSend(t, ns, "127.0.0.1:40124", "127.0.0.1:9") // not traced
	events := collect(tr, 500*time.Millisecond)
	hooks := map[string]bool{}
	for _, e := range events {
		t.Logf("%+v", e)
		hooks[e.Hook] = true
		if e.NetNS != ns || !e.Own || e.Family != "inet" {
			t.Errorf("event %+v: want the trace's own inet table in %s", e, ns)
		}
	}
	for _, h := range []string{"output", "postrouting", "prerouting", "input"} {
		if !hooks[h] {
			t.Errorf("no event at %s; events: %d", h, len(events))
		}
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tr.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, ok := <-tr.Events(); ok {
		t.Error("events channel still open after Close")
	}
	if left := traceTables(t, ns); len(left) != 0 {
		t.Errorf("trace tables after Close: %v", left)
	}
}

func init() {
	// nltest-trace NETNS: start a trace in the namespace, say "ready",
	// and wait to be killed (TestTraceTableGoesWithItsProcess).
	helpers["nltest-trace"] = func(args []string) int {
		k := kernel.NewLinux()
		tr, err := k.TraceStart(context.Background(), args, kernel.TraceMatch{Proto: "udp", Port: 40123})
		if err != nil {
			fmt.Println(err)
			return 1
		}
		defer tr.Close()
		fmt.Println("ready")
		select {}
	}
}

// A trace's table is the kernel's to remove when the process that made it
// dies, even by SIGKILL: nothing of netlab runs then.
func TestTraceTableGoesWithItsProcess(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	ns := kerneltest.NewTestNS(t)
	cmd := exec.Command(os.Args[0], "nltest-trace", ns)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	t.Cleanup(func() {
		if !killed {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("trace helper: %q, %v", line, err)
	}
	tables := traceTables(t, ns)
	if len(tables) != 1 {
		t.Fatalf("trace tables of the helper: %v; want one", tables)
	}
	for name, flags := range tables {
		if !slices.Contains(flags, "owner") {
			t.Errorf("table %s: flags %v; want owner", name, flags)
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	killed = true
	if left := traceTables(t, ns); len(left) != 0 {
		t.Errorf("trace tables after kill -9 of their process: %v", left)
	}
}

// nft runs nft inside a namespace, as a user would.
func nft(t *testing.T, netns string, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", append([]string{"netns", "exec", netns, "nft"}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("nft %v in %s: %v: %s", args, netns, err, out)
	}
}

func TestTraceSweep(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	ns, clean := kerneltest.NewTestNS(t), kerneltest.NewTestNS(t)
	k := newLinux(t)
	live, err := k.TraceStart(context.Background(), []string{ns}, kernel.TraceMatch{Proto: "icmp", Port: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	liveTables := traceTables(t, ns)
	// Left behind by a netlab without the owner flag, or made by hand.
	nft(t, ns, "add", "table", "inet", "netlab_trace_x")
	nft(t, ns, "add", "table", "bridge", "netlab_trace_1_1")
	// Not a trace table: another tool's, with a name alike.
	nft(t, ns, "add", "table", "inet", "netlab_tracer")

	swept, err := k.TraceSweep(context.Background(), []string{ns, clean})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(swept, []string{ns}) {
		t.Errorf("swept %v; want [%s]", swept, ns)
	}
	left := nftTables(t, ns)
	for _, gone := range []string{"inet netlab_trace_x", "bridge netlab_trace_1_1"} {
		if _, ok := left[gone]; ok {
			t.Errorf("%s is still there after the sweep", gone)
		}
	}
	if _, ok := left["inet netlab_tracer"]; !ok {
		t.Error("the sweep removed netlab_tracer, which is no trace table")
	}
	for name := range liveTables {
		if _, ok := left[name]; !ok {
			t.Errorf("the sweep removed the live trace's table %s", name)
		}
	}
	if swept, err := k.TraceSweep(context.Background(), []string{ns}); err != nil || len(swept) != 0 {
		t.Errorf("second sweep: %v, %v; want nothing to do", swept, err)
	}
	if _, err := k.TraceSweep(context.Background(), []string{":host"}); !kernel.IsPerm(err) {
		t.Errorf("sweep of the machine's namespace: %v; want EPERM", err)
	}
}

// A trace ends with its context: the events channel closes and the tables
// go, with no Close.
func TestTraceEndsWithContext(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	ns := kerneltest.NewTestNS(t)
	k := newLinux(t)
	ctx, cancel := context.WithCancel(context.Background())
	tr, err := k.TraceStart(ctx, []string{ns}, kernel.TraceMatch{Proto: "tcp", Port: 80})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	cancel()
	select {
	case _, ok := <-tr.Events():
		if ok {
			t.Fatal("an event after cancel, none was sent")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("events channel still open 5s after the context ended")
	}
	if left := traceTables(t, ns); len(left) != 0 {
		t.Errorf("trace tables after the context ended: %v", left)
	}
	if err := tr.Close(); err != nil {
		t.Errorf("Close after the context ended: %v", err)
	}
}

func TestTraceStartRefuses(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	ns := kerneltest.NewTestNS(t)
	k := newLinux(t)
	for _, tc := range []struct {
		netns []string
		m     kernel.TraceMatch
	}{
		{[]string{ns}, kernel.TraceMatch{Proto: "sctp", Port: 1}},
		{nil, kernel.TraceMatch{Proto: "udp", Port: 1}},
		{[]string{ns, ":host"}, kernel.TraceMatch{Proto: "udp", Port: 1}},
		{[]string{ns, "nltest-no-such-namespace"}, kernel.TraceMatch{Proto: "udp", Port: 1}},
		{[]string{ns, "../etc"}, kernel.TraceMatch{Proto: "udp", Port: 1}},
	} {
		if tr, err := k.TraceStart(context.Background(), tc.netns, tc.m); err == nil {
			tr.Close()
			t.Errorf("TraceStart(%v, %+v) succeeded", tc.netns, tc.m)
		}
		// A refused trace leaves no table in the namespace it got to.
		if left := traceTables(t, ns); len(left) != 0 {
			t.Errorf("TraceStart(%v, %+v) left %v", tc.netns, tc.m, left)
		}
	}
}

// After Close, none of the trace's goroutines is left. Not parallel: the
// other tests' traces would be in the dump.
func TestTraceLeavesNoGoroutine(t *testing.T) {
	kerneltest.RequireRoot(t)
	ns := kerneltest.NewTestNS(t)
	k := newLinux(t)
	tr, err := k.TraceStart(context.Background(), []string{ns}, kernel.TraceMatch{Proto: "udp", Port: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !eventually(func() bool { return strings.Contains(goroutines(), "(*linuxTrace).listen") }) {
		t.Fatal("no listener goroutine while tracing: the check below would prove nothing")
	}
	tr.Close()
	// A listener returns before Close does, but may still be on its way
	// out of the dump.
	if !eventually(func() bool { return !strings.Contains(goroutines(), "(*linuxTrace).listen") }) {
		t.Errorf("a listener goroutine is left a second after Close:\n%s", goroutines())
	}
}

// eventually reports whether cond holds within a second.
func eventually(cond func() bool) bool {
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

func goroutines() string {
	buf := make([]byte, 1<<20)
	return string(buf[:runtime.Stack(buf, true)])
}

// The ICMP errors that quote a traced packet are traced too: the port
// unreachable of a datagram to a closed port, in IPv4 and IPv6 (the
// quoted header's offsets differ).
func TestTraceQuotedICMPErrors(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	ns := kerneltest.NewTestNS(t)
	if out, err := exec.Command("ip", "-n", ns, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("lo up: %v: %s", err, out)
	}
	k := newLinux(t)
	tr, err := k.TraceStart(context.Background(), []string{ns}, kernel.TraceMatch{Proto: "udp", Port: 40125})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	send6 := func(from string) {
		c, err := k.ListenPacketIn(ns, "udp6", from)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.WriteTo([]byte("x"), &net.UDPAddr{IP: net.IPv6loopback, Port: 9}); err != nil {
			t.Fatal(err)
		}
	}
	// countErrors counts the events of ICMP and ICMPv6 port unreachables.
	countErrors := func() (v4, v6 int) {
		for _, e := range collect(tr, 500*time.Millisecond) {
			if len(e.Network) == 0 || len(e.Transport) == 0 {
				continue
			}
			switch {
			case e.Network[0]>>4 == 4 && e.Network[9] == 1 && e.Transport[0] == 3:
				v4++
			case e.Network[0]>>4 == 6 && e.Network[6] == 58 && e.Transport[0] == 1:
				v6++
			}
		}
		return v4, v6
	}
	// The kernel dumps 20 bytes of the transport header, not the quoted
	// ports: an error quoting another port is told by its absence.
	udpSend(t, ns, "127.0.0.1:40126", "127.0.0.1:9")
	send6("[::1]:40126")
	if v4, v6 := countErrors(); v4+v6 != 0 {
		t.Errorf("errors quoting another port were traced: %d IPv4, %d IPv6 events", v4, v6)
	}
	udpSend(t, ns, "127.0.0.1:40125", "127.0.0.1:9")
	send6("[::1]:40125")
	if v4, v6 := countErrors(); v4 == 0 || v6 == 0 {
		t.Errorf("events of port unreachable errors: %d IPv4, %d IPv6; want both", v4, v6)
	}
}

// A trace by address only (Port 0, Addr set: trace --watch --from)
// follows the packets to or from the address, whatever their ports, and
// no other.
func TestTraceByAddressOnly(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	ns := kerneltest.NewTestNS(t)
	if out, err := exec.Command("ip", "-n", ns, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("lo up: %v: %s", err, out)
	}
	k := newLinux(t)
	tr, err := k.TraceStart(context.Background(), []string{ns}, kernel.TraceMatch{Proto: "udp", Addr: netip.MustParseAddr("127.0.0.2")})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	udpSend(t, ns, "127.0.0.1:40301", "127.0.0.1:9")
	if got := collect(tr, 500*time.Millisecond); len(got) != 0 {
		t.Errorf("a datagram between other addresses was traced: %d events", len(got))
	}
	udpSend(t, ns, "127.0.0.1:40302", "127.0.0.2:9")
	udpSend(t, ns, "127.0.0.1:40303", "127.0.0.2:4000")
	ports := map[uint16]bool{}
	for _, e := range collect(tr, 500*time.Millisecond) {
		if len(e.Network) >= 20 && e.Network[9] == 17 && len(e.Transport) >= 4 {
			ports[binary.BigEndian.Uint16(e.Transport[2:4])] = true
		}
	}
	if !ports[9] || !ports[4000] {
		t.Errorf("destination ports traced: %v; want 9 and 4000", ports)
	}
}
