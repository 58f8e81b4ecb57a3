package conntrack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"netlab/lab/conntrack"
	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/state"
)

var a = netip.MustParseAddr

func tup(src string, sport uint16, dst string, dport uint16) kernel.ConntrackTuple {
	return kernel.ConntrackTuple{Src: a(src), SPort: sport, Dst: a(dst), DPort: dport}
}

func icmpTup(src, dst string, typ uint8, id uint16) kernel.ConntrackTuple {
	return kernel.ConntrackTuple{Src: a(src), Dst: a(dst), ICMPType: typ, ICMPID: id}
}

// Entries as the lab's routers show them: single-ip's masquerade, a
// published port, both at once, a port-only SNAT (a clash moved the
// port), ICMP echoes, IPv6, a protocol without ports.
var (
	masq = kernel.ConntrackEntry{
		Proto: "udp", Timeout: 29 * time.Second, SrcNAT: true,
		Orig:  tup("192.168.31.11", 40001, "198.51.100.183", 7),
		Reply: tup("198.51.100.183", 7, "198.51.100.86", 40001),
	}
	publish = kernel.ConntrackEntry{
		Proto: "tcp", State: "ESTABLISHED", Timeout: 431999 * time.Second, DstNAT: true, Assured: true, SeenReply: true,
		Orig:  tup("198.51.100.10", 51000, "198.51.100.1", 8080),
		Reply: tup("10.0.0.2", 80, "198.51.100.10", 51000),
	}
	both = kernel.ConntrackEntry{
		Proto: "tcp", State: "SYN_SENT", Timeout: 120 * time.Second, SrcNAT: true, DstNAT: true,
		Orig:  tup("10.0.0.5", 40000, "198.51.100.1", 8080),
		Reply: tup("10.0.0.2", 80, "10.0.0.1", 40000),
	}
	portOnly = kernel.ConntrackEntry{
		Proto: "udp", Timeout: 30 * time.Second, SrcNAT: true, SeenReply: true,
		Orig:  tup("192.0.2.1", 5000, "192.0.2.9", 53),
		Reply: tup("192.0.2.9", 53, "192.0.2.1", 5001),
	}
	plain = kernel.ConntrackEntry{
		Proto: "udp", Timeout: 170 * time.Second, SeenReply: true, Assured: true,
		Orig:  tup("192.0.2.1", 6000, "192.0.2.2", 7),
		Reply: tup("192.0.2.2", 7, "192.0.2.1", 6000),
	}
	echo = kernel.ConntrackEntry{
		Proto: "icmp", Timeout: 30 * time.Second, SeenReply: true,
		Orig:  icmpTup("192.0.2.1", "192.0.2.2", 8, 4711),
		Reply: icmpTup("192.0.2.2", "192.0.2.1", 0, 4711),
	}
	echoMasq = kernel.ConntrackEntry{
		Proto: "icmp", Timeout: 30 * time.Second, SrcNAT: true,
		Orig:  icmpTup("192.168.31.10", "198.51.100.183", 8, 7),
		Reply: icmpTup("198.51.100.183", "198.51.100.86", 0, 7),
	}
	echoNewID = kernel.ConntrackEntry{
		Proto: "icmp", Timeout: 30 * time.Second, SrcNAT: true,
		Orig:  icmpTup("192.0.2.1", "192.0.2.2", 8, 7),
		Reply: icmpTup("192.0.2.2", "192.0.2.1", 0, 8),
	}
	echo6 = kernel.ConntrackEntry{
		Proto: "ipv6-icmp", Timeout: 30 * time.Second, DstNAT: true, SeenReply: true,
		Orig:  icmpTup("2001:db8::1", "2001:db8::2", 128, 9),
		Reply: icmpTup("2001:db8::3", "2001:db8::1", 129, 9),
	}
	tcp6 = kernel.ConntrackEntry{
		Proto: "tcp", State: "TIME_WAIT", Timeout: 119 * time.Second, SeenReply: true, Assured: true,
		Orig:  tup("2001:db8::1", 40002, "2001:db8::2", 22),
		Reply: tup("2001:db8::2", 22, "2001:db8::1", 40002),
	}
	gre = kernel.ConntrackEntry{
		Proto: "gre", Timeout: 600 * time.Second,
		Orig:  kernel.ConntrackTuple{Src: a("192.0.2.1"), Dst: a("192.0.2.2")},
		Reply: kernel.ConntrackTuple{Src: a("192.0.2.2"), Dst: a("192.0.2.1")},
	}
	// byHand's tuples mirror each other, but its flags say SNAT: the
	// kind of entry conntrack -I makes.
	byHand = kernel.ConntrackEntry{
		Proto: "udp", Timeout: 10 * time.Second, SrcNAT: true,
		Orig:  tup("192.0.2.7", 1000, "192.0.2.8", 2000),
		Reply: tup("192.0.2.8", 2000, "192.0.2.7", 1000),
	}
)

func TestTranslation(t *testing.T) {
	for _, tc := range []struct {
		name string
		e    kernel.ConntrackEntry
		want string
	}{
		{"masquerade", masq, "SNAT"},
		{"published port", publish, "DNAT"},
		{"both", both, "SNAT+DNAT"},
		{"port only", portOnly, "SNAT"},
		{"none", plain, ""},
		{"echo", echo, ""},
		{"echo masqueraded", echoMasq, "SNAT"},
		{"echo with a new identifier", echoNewID, "SNAT"},
		{"echo6 to another address", echo6, "DNAT"},
		{"no ports", gre, ""},
		{"flags alone", byHand, ""},
	} {
		if got := conntrack.Translation(tc.e); got != tc.want {
			t.Errorf("%s: Translation = %q, want %q", tc.name, got, tc.want)
		}
	}
	if got := conntrack.KernelTranslation(byHand); got != "SNAT" {
		t.Errorf("KernelTranslation of an entry flagged SNAT = %q", got)
	}
	if got := conntrack.KernelTranslation(both); got != "SNAT+DNAT" {
		t.Errorf("KernelTranslation of an entry flagged both = %q", got)
	}
}

func TestTuple(t *testing.T) {
	for _, tc := range []struct {
		t     kernel.ConntrackTuple
		proto string
		want  string
	}{
		{masq.Orig, "udp", "192.168.31.11:40001 -> 198.51.100.183:7"},
		{tcp6.Orig, "tcp", "[2001:db8::1]:40002 -> [2001:db8::2]:22"},
		{echo.Orig, "icmp", "192.0.2.1 -> 192.0.2.2 id 4711"},
		{echo6.Reply, "ipv6-icmp", "2001:db8::3 -> 2001:db8::1 id 9"},
		{icmpTup("192.0.2.1", "192.0.2.2", 13, 5), "icmp", "192.0.2.1 -> 192.0.2.2 type 13 id 5"},
		{kernel.ConntrackTuple{Src: a("192.0.2.1"), Dst: a("192.0.2.2"), ICMPType: 3, ICMPCode: 1}, "icmp", "192.0.2.1 -> 192.0.2.2 type 3 code 1 id 0"},
		{gre.Orig, "gre", "192.0.2.1 -> 192.0.2.2"},
		{tup("192.0.2.1", 1, "192.0.2.2", 2), "sctp", "192.0.2.1:1 -> 192.0.2.2:2"},
		{kernel.ConntrackTuple{}, "99", "? -> ?"},
	} {
		if got := conntrack.Tuple(tc.t, tc.proto); got != tc.want {
			t.Errorf("Tuple(%+v, %s) = %q, want %q", tc.t, tc.proto, got, tc.want)
		}
	}
}

// TestSort orders by protocol name, then the original tuple, and keeps
// the order of entries alike.
func TestSort(t *testing.T) {
	first := plain
	first.Mark = 1
	second := plain
	second.Mark = 2
	entries := []kernel.ConntrackEntry{tcp6, first, masq, echo6, publish, second, echo, gre, portOnly}
	conntrack.Sort(entries)
	var got []string
	for _, e := range entries {
		got = append(got, e.Proto+" "+conntrack.Tuple(e.Orig, e.Proto)+" mark "+string(rune('0'+e.Mark)))
	}
	want := []string{
		"gre 192.0.2.1 -> 192.0.2.2 mark 0",
		"icmp 192.0.2.1 -> 192.0.2.2 id 4711 mark 0",
		"ipv6-icmp 2001:db8::1 -> 2001:db8::2 id 9 mark 0",
		"tcp 198.51.100.10:51000 -> 198.51.100.1:8080 mark 0",
		"tcp [2001:db8::1]:40002 -> [2001:db8::2]:22 mark 0",
		"udp 192.0.2.1:5000 -> 192.0.2.9:53 mark 0",
		"udp 192.0.2.1:6000 -> 192.0.2.2:7 mark 1",
		"udp 192.0.2.1:6000 -> 192.0.2.2:7 mark 2",
		"udp 192.168.31.11:40001 -> 198.51.100.183:7 mark 0",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sorted (-want +got):\n%s", diff)
	}
}

// TestWriteText prints tables: the routers' entries (no counters), the
// same counted, with a mark and a zone, and one whose flags disagree with
// its tuples.
func TestWriteText(t *testing.T) {
	all := []kernel.ConntrackEntry{masq, publish, both, portOnly, plain, echo, echoMasq, echo6, tcp6, gre}
	conntrack.Sort(all)
	counted := masq
	counted.Counters, counted.OrigPackets, counted.OrigBytes = true, 3, 96
	marked := publish
	marked.Counters, marked.OrigPackets, marked.OrigBytes, marked.ReplyPackets, marked.ReplyBytes = true, 6, 412, 4, 3046
	marked.Mark, marked.Zone = 0x10, 2
	for _, tc := range []struct {
		name    string
		entries []kernel.ConntrackEntry
	}{
		{"plain", all},
		{"counters", []kernel.ConntrackEntry{counted, marked, echo}},
		{"disagree", []kernel.ConntrackEntry{byHand, masq}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := conntrack.WriteText(&b, tc.entries); err != nil {
				t.Fatal(err)
			}
			golden(t, b.String())
		})
	}
	var b bytes.Buffer
	if err := conntrack.WriteText(&b, nil); err != nil || b.Len() != 0 {
		t.Errorf("WriteText of no entries wrote %q, %v", b.String(), err)
	}
}

// TestJSON pins the shape of -o json: ports or ICMP fields by protocol,
// nat in a path check's words, counters null when the kernel does not
// count.
func TestJSON(t *testing.T) {
	counted := masq
	counted.Counters, counted.OrigPackets, counted.OrigBytes = true, 3, 96
	data, err := json.MarshalIndent(conntrack.JSON([]kernel.ConntrackEntry{counted, publish, both, echo, echo6, gre, byHand}), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, string(data)+"\n")
	// The echo reply's type is 0, and still there.
	if !strings.Contains(string(data), `"icmp_type": 0`) {
		t.Errorf("the reply's ICMP type 0 is missing:\n%s", data)
	}
}

// TestListFlush reads and flushes a node's table through the seam, on
// the fake: List sorts, Flush says how many it removed, errors pass
// through with their cause.
func TestListFlush(t *testing.T) {
	ctx := context.Background()
	f := kerneltest.NewFake()
	if err := f.NetNSAdd(ctx, "lab1", "router"); err != nil {
		t.Fatal(err)
	}
	ns := state.NetNSName("lab1", "router")
	f.PutConntrack(ns, masq, echo, publish)
	got, err := conntrack.List(ctx, f, ns)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Proto != "icmp" || got[1].Proto != "tcp" || got[2].Proto != "udp" {
		t.Errorf("List = %+v, want icmp, tcp, udp", got)
	}
	n, err := conntrack.Flush(ctx, f, ns)
	if err != nil || n != 3 {
		t.Errorf("Flush = %d, %v; want 3", n, err)
	}
	if got, _ := conntrack.List(ctx, f, ns); len(got) != 0 {
		t.Errorf("List after Flush = %+v", got)
	}
	if n, err := conntrack.Flush(ctx, f, ns); err != nil || n != 0 {
		t.Errorf("Flush of an empty table = %d, %v; want 0", n, err)
	}
	f.FailOn("Conntrack", unix.EIO, 1)
	if _, err := conntrack.List(ctx, f, ns); !errors.Is(err, unix.EIO) {
		t.Errorf("List with the kernel failing: %v, want EIO", err)
	}
	f.PutConntrack(ns, masq)
	f.FailOn("ConntrackFlush", unix.EIO, 1)
	if n, err := conntrack.Flush(ctx, f, ns); !errors.Is(err, unix.EIO) || n != 0 {
		t.Errorf("Flush with the kernel failing: %d, %v; want 0, EIO", n, err)
	}
	if _, err := conntrack.List(ctx, f, state.HostNetNS); !errors.Is(err, unix.EPERM) {
		t.Errorf("List of the machine's table: %v, want EPERM", err)
	}
}

// golden compares got with testdata/TEST_NAME.golden; NETLAB_UPDATE=1
// rewrites it.
func golden(t *testing.T, got string) {
	t.Helper()
	path := filepath.Join("testdata", strings.ReplaceAll(t.Name(), "/", "_")+".golden")
	if os.Getenv("NETLAB_UPDATE") != "" {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (NETLAB_UPDATE=1 go test ./lab/conntrack writes it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}
