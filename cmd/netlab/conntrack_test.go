package main

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"netlab/lab/conntrack"
	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/state"
	"netlab/topologies"
)

// natLab is a lab with a masquerading router between a client and a
// server, counting its connections; LAB is the lab's name.
const natLab = `name: LAB
nodes:
  c:
    interfaces:
      eth0: {addresses: [192.168.77.2/24]}
    routes: [{to: default, via: 192.168.77.1}]
  router:
    sysctls:
      net.ipv4.ip_forward: 1
      net.netfilter.nf_conntrack_acct: 1
    interfaces:
      eth0: {addresses: [192.168.77.1/24]}
      eth1: {addresses: [198.51.100.1/24]}
    nat:
      - {action: masquerade, source: 192.168.77.0/24, out: eth1}
  server:
    interfaces:
      eth0: {addresses: [198.51.100.2/24]}
links:
  - [c:eth0, router:eth0]
  - [router:eth1, server:eth0]
`

// upNATLab writes natLab under a lab name of the test's and brings it up.
func upNATLab(t *testing.T) string {
	t.Helper()
	sandbox(t)
	name := kerneltest.LabName(t)
	if err := os.WriteFile("lab.yaml", []byte(strings.Replace(natLab, "LAB", name, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runNetlab("up", "lab.yaml"); code != exitOK {
		t.Fatalf("up: exit %d: %s", code, stderr)
	}
	return name
}

// TestConntrackFake runs netlab conntrack on the fake kernel: the table
// as text and JSON, sorted, with the NAT column and counters; --flush
// says how many it removed and empties the table; a node the lab lacks
// is bad usage naming the nodes; a lab not up is a failure that says so.
func TestConntrackFake(t *testing.T) {
	f := useFakeKernel(t)
	name := upNATLab(t)
	a := netip.MustParseAddr
	masq := kernel.ConntrackEntry{
		Proto: "udp", Timeout: 29 * time.Second, SrcNAT: true, SeenReply: true,
		Orig:     kernel.ConntrackTuple{Src: a("192.168.77.2"), SPort: 40001, Dst: a("198.51.100.2"), DPort: 7},
		Reply:    kernel.ConntrackTuple{Src: a("198.51.100.2"), SPort: 7, Dst: a("198.51.100.1"), DPort: 40001},
		Counters: true, OrigPackets: 1, OrigBytes: 33, ReplyPackets: 1, ReplyBytes: 33,
	}
	echo := kernel.ConntrackEntry{
		Proto: "icmp", Timeout: 30 * time.Second,
		Orig:  kernel.ConntrackTuple{Src: a("192.168.77.1"), Dst: a("192.168.77.2"), ICMPType: 8, ICMPID: 5},
		Reply: kernel.ConntrackTuple{Src: a("192.168.77.2"), Dst: a("192.168.77.1"), ICMPID: 5},
	}
	f.PutConntrack(state.NetNSName(name, "router"), masq, echo)

	code, stdout, stderr := runNetlab("conntrack", "lab.yaml", "router")
	if code != exitOK || stderr != "" {
		t.Fatalf("conntrack: exit %d: %s", code, stderr)
	}
	want := "" +
		"PROTO  STATE      TIMEOUT  ORIGINAL                              REPLY                                 NAT   PACKETS  BYTES\n" +
		"icmp   UNREPLIED  30s      192.168.77.1 -> 192.168.77.2 id 5     192.168.77.2 -> 192.168.77.1 id 5     -     -        -\n" +
		"udp    REPLIED    29s      192.168.77.2:40001 -> 198.51.100.2:7  198.51.100.2:7 -> 198.51.100.1:40001  SNAT  1/1      33/33\n"
	if stdout != want {
		t.Errorf("conntrack printed\n%s\nwant\n%s", stdout, want)
	}

	code, stdout, _ = runNetlab("conntrack", "--lab", name, "router", "-o", "json")
	var got conntrackJSON
	if err := json.Unmarshal([]byte(stdout), &got); code != exitOK || err != nil {
		t.Fatalf("conntrack -o json: exit %d, %v: %s", code, err, stdout)
	}
	if got.Lab != name || got.Node != "router" || len(got.Entries) != 2 || got.Entries[1].NAT != "snat" || *got.Entries[1].Reply.DPort != 40001 || got.Entries[1].Counters.ReplyBytes != 33 {
		t.Errorf("conntrack -o json = %+v", got)
	}

	code, stdout, _ = runNetlab("conntrack", "lab.yaml", "router", "--flush")
	if code != exitOK || stdout != "Flushed node router's conntrack table: 2 entries removed.\n" {
		t.Errorf("conntrack --flush: exit %d, %q", code, stdout)
	}
	if left, _ := f.Conntrack(context.Background(), state.NetNSName(name, "router")); len(left) != 0 {
		t.Errorf("after --flush the table holds %v", left)
	}
	code, stdout, _ = runNetlab("conntrack", "lab.yaml", "router")
	if code != exitOK || !strings.HasPrefix(stdout, "Node router tracks no connections") {
		t.Errorf("conntrack of an empty table: exit %d, %q", code, stdout)
	}
	f.PutConntrack(state.NetNSName(name, "router"), echo)
	code, stdout, _ = runNetlab("conntrack", "lab.yaml", "router", "--flush", "-o", "json")
	var flushed conntrackFlushJSON
	if err := json.Unmarshal([]byte(stdout), &flushed); code != exitOK || err != nil || flushed != (conntrackFlushJSON{Lab: name, Node: "router", Flushed: 1}) {
		t.Errorf("conntrack --flush -o json: exit %d, %v: %s", code, err, stdout)
	}
	code, stdout, _ = runNetlab("conntrack", "lab.yaml", "c", "-o", "json")
	if code != exitOK || !strings.Contains(stdout, `"entries": []`) {
		t.Errorf("conntrack -o json of an empty table: exit %d, %s", code, stdout)
	}

	code, _, stderr = runNetlab("conntrack", "lab.yaml", "nosuch")
	if code != exitUsage || !strings.Contains(stderr, "netlab: lab "+name+" has no node nosuch (nodes: c, router, server)") {
		t.Errorf("conntrack of a node the lab lacks: exit %d, %q", code, stderr)
	}
	code, _, stderr = runNetlab("conntrack", "--lab", "nltestnone", "router")
	if code != exitFailure || !strings.Contains(stderr, "lab nltestnone is not running: start it with netlab up") {
		t.Errorf("conntrack of a lab not up: exit %d, %q", code, stderr)
	}
	// The kernel's error, with the node it was about.
	f.FailOn("Conntrack", os.ErrPermission, 1)
	code, _, stderr = runNetlab("conntrack", "lab.yaml", "router")
	if code != exitFailure || !strings.Contains(stderr, "node router: read its conntrack table: ") {
		t.Errorf("conntrack with the kernel failing: exit %d, %q", code, stderr)
	}
}

// TestConntrackHostNode: a host: true node is the machine's namespace,
// whose table netlab never reads: refused, with the reason, from the
// file and with --lab (from the file up kept).
func TestConntrackHostNode(t *testing.T) {
	f := useFakeKernel(t)
	sandbox(t)
	name := kerneltest.LabName(t)
	text := "name: " + name + "\nnodes:\n  h:\n    host: true\n    interfaces:\n      " + name + "v: {}\n  c:\n    interfaces:\n      eth0: {addresses: [192.0.2.7/24]}\nlinks:\n  - [h:" + name + "v, c:eth0]\n"
	if err := os.WriteFile("lab.yaml", []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runNetlab("up", "--allow-host", "lab.yaml"); code != exitOK {
		t.Fatalf("up: exit %d: %s", code, stderr)
	}
	for _, args := range [][]string{{"conntrack", "lab.yaml", "h"}, {"conntrack", "--lab", name, "h", "--flush"}} {
		code, _, stderr := runNetlab(args...)
		if code != exitFailure || !strings.Contains(stderr, "node h has host: true: it is this machine's own namespace, whose conntrack table netlab neither reads nor flushes") {
			t.Errorf("netlab %s: exit %d, %q", strings.Join(args, " "), code, stderr)
		}
	}
	if n := f.Calls("Conntrack") + f.Calls("ConntrackFlush"); n != 0 {
		t.Errorf("the kernel was asked %d time(s) for the machine's table", n)
	}
}

// TestConntrackLinux, as root: up a lab with a masquerading router, send
// UDP from the client to the server through it (sockets in the lab's
// namespaces only), and netlab conntrack router shows the entry with
// SNAT, the reply tuple translated to the router's address, and counters;
// --flush empties the table, as listing it again shows.
func TestConntrackLinux(t *testing.T) {
	kerneltest.RequireRoot(t)
	name := upNATLab(t)
	k := kernel.NewLinux()
	defer k.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv, err := k.ListenPacketIn(state.NetNSName(name, "server"), "udp", "198.51.100.2:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srvPort := srv.LocalAddr().(*net.UDPAddr).Port
	cli, err := k.DialIn(ctx, state.NetNSName(name, "c"), "udp", srv.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	cliPort := cli.LocalAddr().(*net.UDPAddr).Port
	if _, err := cli.Write([]byte("probe")); err != nil {
		t.Fatal(err)
	}
	srv.SetDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64)
	_, from, err := srv.ReadFrom(buf)
	if err != nil {
		t.Fatalf("the server got nothing: %v", err)
	}
	if got := from.(*net.UDPAddr).IP.String(); got != "198.51.100.1" {
		t.Fatalf("the server saw the probe from %s, want the router's 198.51.100.1", got)
	}
	if _, err := srv.WriteTo([]byte("answer"), from); err != nil {
		t.Fatal(err)
	}
	cli.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := cli.Read(buf); err != nil {
		t.Fatalf("no answer came back: %v", err)
	}

	orig := "192.168.77.2:" + strconv.Itoa(cliPort) + " -> 198.51.100.2:" + strconv.Itoa(srvPort)
	reply := "198.51.100.2:" + strconv.Itoa(srvPort) + " -> 198.51.100.1:" + strconv.Itoa(from.(*net.UDPAddr).Port)
	code, stdout, stderr := runNetlab("conntrack", "--lab", name, "router")
	if code != exitOK {
		t.Fatalf("conntrack: exit %d: %s", code, stderr)
	}
	var line string
	for l := range strings.Lines(stdout) {
		if strings.Contains(l, orig) {
			line = l
		}
	}
	if !strings.HasPrefix(line, "udp ") || !strings.Contains(line, reply) || !strings.Contains(line, " SNAT ") || !strings.Contains(line, " 1/1 ") {
		t.Errorf("no line shows the udp entry %s, answered at %s, SNAT, 1 packet each way:\n%s", orig, reply, stdout)
	}

	code, stdout, _ = runNetlab("conntrack", "--lab", name, "router", "-o", "json")
	var listed conntrackJSON
	if err := json.Unmarshal([]byte(stdout), &listed); code != exitOK || err != nil {
		t.Fatalf("conntrack -o json: exit %d, %v: %s", code, err, stdout)
	}
	var e *conntrack.Entry
	for i := range listed.Entries {
		if x := &listed.Entries[i]; x.Proto == "udp" && x.Original.DPort != nil && int(*x.Original.DPort) == srvPort {
			e = x
		}
	}
	if e == nil || e.NAT != "snat" || e.KernelNAT != "snat" || e.Reply.Dst != "198.51.100.1" || !e.SeenReply || e.Counters == nil || e.Counters.OrigPackets != 1 {
		t.Errorf("conntrack -o json: the udp entry is %+v, want snat both ways, answered at 198.51.100.1, counted", e)
	}

	code, stdout, _ = runNetlab("conntrack", "--lab", name, "router", "--flush")
	if code != exitOK || !strings.HasPrefix(stdout, "Flushed node router's conntrack table: ") || strings.Contains(stdout, ": 0 entries") {
		t.Errorf("conntrack --flush: exit %d, %q", code, stdout)
	}
	code, stdout, _ = runNetlab("conntrack", "--lab", name, "router", "-o", "json")
	listed = conntrackJSON{}
	if err := json.Unmarshal([]byte(stdout), &listed); code != exitOK || err != nil || len(listed.Entries) != 0 {
		t.Errorf("conntrack after --flush: exit %d, %v, entries %+v", code, err, listed.Entries)
	}
}

// TestConntrackDefaultLab, as root, on the shipped default lab (single-ip,
// under a name of the test's): after netlab check, whose UDP check sends
// from c2 to server through host's masquerade, netlab conntrack host shows
// that connection translated: SNAT, the answer expected at host's
// 198.51.100.86. c1's ping of the server is masqueraded the same way.
func TestConntrackDefaultLab(t *testing.T) {
	kerneltest.RequireRoot(t)
	sandbox(t)
	name := kerneltest.LabName(t)
	text := string(topologies.Default())
	if !strings.Contains(text, "name: single-ip\n") {
		t.Fatal(`the default lab no longer has the line "name: single-ip"`)
	}
	text = strings.Replace(text, "name: single-ip\n", "name: "+name+"\n", 1)
	if err := os.WriteFile("lab.yaml", []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runNetlab("up", "lab.yaml"); code != exitOK {
		t.Fatalf("up: exit %d: %s", code, stderr)
	}
	if code, stdout, stderr := runNetlab("check", "lab.yaml"); code != exitOK {
		t.Fatalf("check: exit %d: %s%s", code, stdout, stderr)
	}

	code, stdout, stderr := runNetlab("conntrack", "lab.yaml", "host")
	if code != exitOK {
		t.Fatalf("conntrack: exit %d: %s", code, stderr)
	}
	udp := regexp.MustCompile(`(?m)^udp +\S+ +\d+s +192\.168\.31\.11:(\d+) -> 198\.51\.100\.183:7 +198\.51\.100\.183:7 -> 198\.51\.100\.86:(\d+) +SNAT$`)
	if m := udp.FindStringSubmatch(stdout); m == nil {
		t.Errorf("no line shows c2's UDP probe masqueraded to 198.51.100.86:\n%s", stdout)
	} else if m[1] != m[2] {
		t.Logf("the masquerade moved the port %s to %s", m[1], m[2])
	}
	icmp := regexp.MustCompile(`(?m)^icmp +\S+ +\d+s +192\.168\.31\.10 -> 198\.51\.100\.183 id \d+ +198\.51\.100\.183 -> 198\.51\.100\.86 id \d+ +SNAT$`)
	if !icmp.MatchString(stdout) {
		t.Errorf("no line shows c1's ping of the server masqueraded:\n%s", stdout)
	}
	// c1's ping of c2 stays on the bridge: not translated, if tracked.
	if strings.Contains(stdout, "192.168.31.10 -> 192.168.31.11") && !regexp.MustCompile(`192\.168\.31\.11 -> 192\.168\.31\.10 id \d+ +-`).MatchString(stdout) {
		t.Errorf("c1's ping of c2 shows a translation:\n%s", stdout)
	}
}

// TestConntrackNeedsRoot runs netlab (this test binary, under the name
// netlab) as nobody: conntrack refuses with the message every root
// command gives, before it reads anything. It needs root to become
// nobody.
func TestConntrackNeedsRoot(t *testing.T) {
	kerneltest.RequireRoot(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	// Not t.TempDir: its parent is 0700, which nobody cannot enter.
	dir, err := os.MkdirTemp("", "nltest-bin")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "netlab")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	asNobody := func(args ...string) (int, string) {
		cmd := exec.Command(bin, args...)
		cmd.Dir = "/"
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatalf("run %s as nobody: %v", bin, err)
		}
		return cmd.ProcessState.ExitCode(), stderr.String()
	}
	code, stderr := asNobody("conntrack", "--lab", "nltestnone", "router")
	want := "netlab: this command changes or reads network namespaces: run as root (sudo netlab ...)\n"
	if code != exitFailure || stderr != want {
		t.Errorf("conntrack as nobody: exit %d, stderr %q; want 1, %q", code, stderr, want)
	}
	if _, other := asNobody("status", "--lab", "nltestnone"); other != stderr {
		t.Errorf("conntrack as nobody says %q, status %q: want the same", stderr, other)
	}
}
