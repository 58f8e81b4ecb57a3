package machinetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// twoMachines is a dual-stack underlay of two machines.
var twoMachines = []Machine{
	{Name: "m1", Addr: netip.MustParsePrefix("203.0.113.1/24"), Addr6: netip.MustParsePrefix("2001:db8::1/64")},
	{Name: "m2", Addr: netip.MustParsePrefix("203.0.113.2/24"), Addr6: netip.MustParsePrefix("2001:db8::2/64")},
}

// requireWorld skips the test unless it can make a World, and with
// -short: a World builds netlab and starts processes.
func requireWorld(t *testing.T) {
	t.Helper()
	kerneltest.RequireRoot(t)
	if testing.Short() {
		t.Skip("simulated machines build netlab and take seconds: not with -short")
	}
}

// newWorld is New after requireWorld.
func newWorld(t *testing.T, machines ...Machine) *World {
	t.Helper()
	requireWorld(t)
	return New(t, machines...)
}

// pairLab is a lab of two nodes on one veth pair, with a check between
// them; node a runs a process.
func pairLab(t *testing.T, lab string) string {
	t.Helper()
	text := fmt.Sprintf(`name: %s
nodes:
  a:
    interfaces:
      eth0: {addresses: [10.0.0.1/24]}
    run:
      - {name: sleeper, command: [sleep, "600"]}
  b:
    interfaces:
      eth0: {addresses: [10.0.0.2/24]}
links:
  - [a:eth0, b:eth0]
checks:
  - {from: a, ping: 10.0.0.2}
`, lab)
	file := filepath.Join(t.TempDir(), lab+".yaml")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// must runs netlab on the machine and requires exit code 0.
func must(t *testing.T, w *World, machine string, args ...string) Result {
	t.Helper()
	r := w.Netlab(t, machine, args...)
	if r.Code != 0 {
		t.Fatalf("on %s: %s", machine, r)
	}
	return r
}

// ping sends one echo request from the machine's own namespace to dst
// and waits for the reply.
func ping(t *testing.T, w *World, from string, dst netip.Addr) {
	t.Helper()
	k := kernel.NewLinux()
	defer k.Close()
	network, laddr, proto := "ip4:icmp", "0.0.0.0", 1
	var typ, reply icmp.Type = ipv4.ICMPTypeEcho, ipv4.ICMPTypeEchoReply
	if dst.Is6() {
		network, laddr, proto = "ip6:ipv6-icmp", "::", 58
		typ, reply = ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply
	}
	conn, err := k.ListenPacketIn(w.MachineNetNS(t, from), network, laddr)
	if err != nil {
		t.Fatalf("%s: open an ICMP socket: %v", from, err)
	}
	defer conn.Close()
	id := os.Getpid() & 0xffff
	msg := icmp.Message{Type: typ, Body: &icmp.Echo{ID: id, Seq: 1, Data: []byte("machinetest")}}
	b, err := msg.Marshal(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.WriteTo(b, &net.IPAddr{IP: dst.AsSlice()}); err != nil {
		t.Fatalf("%s: ping %s: %v", from, dst, err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1500)
	for {
		n, peer, err := conn.ReadFrom(buf)
		if err != nil {
			t.Fatalf("%s: ping %s: no reply: %v", from, dst, err)
		}
		m, err := icmp.ParseMessage(proto, buf[:n])
		if err != nil || m.Type != reply {
			continue // our own request (IPv6 raw sockets see it), or another message
		}
		if e, ok := m.Body.(*icmp.Echo); ok && e.ID == id && peer.String() == dst.String() {
			return
		}
	}
}

// realNetNS lists the real /run/netns entries of a lab.
func realNetNS(t *testing.T, lab string) []string {
	t.Helper()
	entries, err := os.ReadDir(kernel.NetNSDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), lab+".") {
			out = append(out, e.Name())
		}
	}
	return out
}

// labFiles lists the lab's files in a run directory.
func labFiles(t *testing.T, dir, lab string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, lab+".*"))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestUnderlay(t *testing.T) {
	t.Parallel()
	w := newWorld(t, twoMachines...)
	for _, c := range []struct{ from, to string }{
		{"m1", "203.0.113.2"}, {"m2", "203.0.113.1"},
		{"m1", "2001:db8::2"}, {"m2", "2001:db8::1"},
	} {
		ping(t, w, c.from, netip.MustParseAddr(c.to))
	}
	// Each machine's /sys is its own: eth0 and lo, nothing of the root
	// namespace's.
	for _, m := range []string{"m1", "m2"} {
		names, err := readNames(w.Dir(m) + "/sys/class/net")
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"eth0", "lo"}; !slices.Equal(names, want) {
			t.Errorf("%s: /sys/class/net has %q, want %q", m, names, want)
		}
		if got := w.NetNS(t, m); len(got) != 0 {
			t.Errorf("%s: /run/netns has %q before any lab, want nothing", m, got)
		}
	}
}

func TestLabOnOneMachine(t *testing.T) {
	t.Parallel()
	w := newWorld(t, twoMachines...)
	lab := kerneltest.LabName(t)
	file := pairLab(t, lab)

	must(t, w, "m1", "up", file)
	want := []string{lab + ".a", lab + ".b"}
	if got := w.NetNS(t, "m1"); !slices.Equal(got, want) {
		t.Errorf("m1's /run/netns has %q, want %q", got, want)
	}
	if got := w.NetNS(t, "m2"); len(got) != 0 {
		t.Errorf("m2's /run/netns has %q, want nothing", got)
	}
	if got := realNetNS(t, lab); len(got) != 0 {
		t.Errorf("the real /run/netns has %q of a lab of m1", got)
	}
	if got := labFiles(t, w.Dir("m1")+kerneltest.RunDir, lab); len(got) == 0 {
		t.Errorf("m1's %s has no file of lab %s", kerneltest.RunDir, lab)
	}
	if got := labFiles(t, kerneltest.RunDir, lab); len(got) != 0 {
		t.Errorf("the real %s has %q of a lab of m1", kerneltest.RunDir, got)
	}

	r := must(t, w, "m1", "status", "--lab", lab, "-o", "json")
	if !json.Valid([]byte(r.Stdout)) || !strings.Contains(r.Stdout, lab) {
		t.Errorf("status -o json on m1 is not JSON naming %s: %s", lab, r)
	}
	must(t, w, "m1", "check", "--lab", lab)
	r = must(t, w, "m1", "ls", "-o", "json")
	var labs []kernel.LabInfo
	if err := json.Unmarshal([]byte(r.Stdout), &labs); err != nil || len(labs) != 1 || labs[0].Name != lab {
		t.Errorf("ls -o json on m1 = %v (%v), want lab %s alone", labs, err, lab)
	}
	// On m2 the lab is not running: status says so, and its JSON (which
	// exits 0 for a lab that is down) has no node.
	if r := w.Netlab(t, "m2", "status", "--lab", lab); r.Code == 0 || !strings.Contains(r.Stderr, "is not running") {
		t.Errorf("status of m1's lab on m2: %s; want a failure, not running", r)
	}
	r = must(t, w, "m2", "status", "--lab", lab, "-o", "json")
	var st struct{ Nodes []json.RawMessage }
	if err := json.Unmarshal([]byte(r.Stdout), &st); err != nil || len(st.Nodes) != 0 {
		t.Errorf("status -o json of m1's lab on m2 has %d node(s) (%v), want none: %s", len(st.Nodes), err, r)
	}
	if r := must(t, w, "m2", "ls", "-o", "json"); strings.TrimSpace(r.Stdout) != "[]" {
		t.Errorf("ls -o json on m2 = %s, want []", r.Stdout)
	}

	must(t, w, "m1", "down", "--lab", lab)
	if got := w.NetNS(t, "m1"); len(got) != 0 {
		t.Errorf("m1's /run/netns has %q after down, want nothing", got)
	}
}

// TestCleanupLeavesNothing makes a World in a subtest, leaves a lab up on
// one machine with a process running and a netlab exec running on the
// other, and checks after the subtest's cleanup that no namespace and no
// process of it is left.
func TestCleanupLeavesNothing(t *testing.T) {
	t.Parallel()
	requireWorld(t)
	var (
		netnsNames []string // the underlay's and the machines' namespaces
		pids       []int    // holders, and what Start started
		labNS      []nsID   // the lab's namespaces inside m1
		starts     = map[int]uint64{}
	)
	t.Run("world", func(t *testing.T) {
		w := newWorld(t, twoMachines...)
		lab := kerneltest.LabName(t)
		must(t, w, "m1", "up", pairLab(t, lab))
		lab2 := kerneltest.LabName(t)
		must(t, w, "m2", "up", pairLab(t, lab2))
		cmd := w.Start(t, "m2", "exec", "--lab", lab2, "b", "--", "sleep", "600")

		netnsNames = append(netnsNames, w.hub)
		for _, m := range w.machines {
			netnsNames = append(netnsNames, m.netns)
			pids = append(pids, m.pid)
		}
		pids = append(pids, cmd.Process.Pid)
		for _, n := range w.NetNS(t, "m1") {
			id, err := statNS(w.Dir("m1") + kernel.NetNSDir + "/" + n)
			if err != nil {
				t.Fatal(err)
			}
			labNS = append(labNS, id)
		}
		if len(labNS) != 2 {
			t.Fatalf("m1 has %d namespaces of lab %s, want 2", len(labNS), lab)
		}
		for _, pid := range pids {
			start, _, err := kernel.ProcStart(pid)
			if err != nil {
				t.Fatal(err)
			}
			starts[pid] = start
		}
	})
	if len(netnsNames) == 0 {
		t.Skip("no world was made") // the subtest failed or skipped, and said why
	}
	for _, n := range netnsNames {
		if _, err := os.Lstat(filepath.Join(kernel.NetNSDir, n)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("namespace %s is left (%v)", n, err)
		}
	}
	for _, pid := range pids {
		if start, st, err := kernel.ProcStart(pid); err == nil && start == starts[pid] && st != 'Z' {
			t.Errorf("process %d is left running", pid)
		}
	}
	// No process anywhere is in a namespace of the lab.
	for _, pid := range allPids(t) {
		for _, kind := range []string{"net", "mnt"} {
			id, err := statNS(fmt.Sprintf("/proc/%d/ns/%s", pid, kind))
			if err == nil && slices.Contains(labNS, id) {
				t.Errorf("process %d is in a namespace of m1's lab", pid)
			}
		}
	}
}

// TestStartKilled starts a netlab exec on a machine, kills it with
// SIGKILL once its command runs in the node, and checks that Wait tells
// the signal, that the command died with netlab (Start's process is
// netlab itself, not a wrapper) and that netlab works on after it.
func TestStartKilled(t *testing.T) {
	t.Parallel()
	w := newWorld(t, twoMachines[0])
	lab := kerneltest.LabName(t)
	file := pairLab(t, lab)
	must(t, w, "m1", "up", file)
	node, err := statNS(w.Dir("m1") + kernel.NetNSDir + "/" + lab + ".b")
	if err != nil {
		t.Fatal(err)
	}
	cmd := w.Start(t, "m1", "exec", "--lab", lab, "b", "--", "sleep", "600")
	var sleeper int
	for deadline := time.Now().Add(10 * time.Second); sleeper == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no sleep in node b after 10s")
		}
		sleeper = inNetNS(t, node, "sleep")
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if r := Wait(cmd); r.Code != -1 || r.Signal != syscall.SIGKILL {
		t.Errorf("Wait after SIGKILL = %s, want killed by SIGKILL", r)
	}
	for deadline := time.Now().Add(5 * time.Second); inNetNS(t, node, "sleep") != 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("sleep %d still runs in node b 5s after netlab was killed", sleeper)
		}
	}
	if r := must(t, w, "m1", "up", file); !strings.Contains(r.Stdout, "No changes") {
		t.Errorf("up after the kill changed the lab: %s", r)
	}
}

// inNetNS returns the pid of a live process named comm in the namespace,
// or 0.
func inNetNS(t *testing.T, ns nsID, comm string) int {
	t.Helper()
	for _, pid := range allPids(t) {
		id, err := statNS(fmt.Sprintf("/proc/%d/ns/net", pid))
		if err != nil || id != ns {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if _, st, serr := kernel.ProcStart(pid); err == nil && serr == nil && st != 'Z' && strings.TrimSpace(string(b)) == comm {
			return pid
		}
	}
	return 0
}

// TestEnterChecksHolder checks that netlab is not run on a machine whose
// holder is not the one recorded: another start time (the pid reused), or
// other namespaces.
func TestEnterChecksHolder(t *testing.T) {
	t.Parallel()
	w := newWorld(t, twoMachines[0])
	m := w.machines[0]
	for _, tc := range []struct {
		name  string
		spoil func(m *machine)
		want  string
	}{
		{"start time", func(m *machine) { m.start++ }, "no longer its holder"},
		{"mount namespace", func(m *machine) { m.mnt.ino++ }, "mnt namespace is"},
		{"network namespace", func(m *machine) { m.net.ino++ }, "net namespace is"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spoilt := &machine{Machine: m.Machine, netns: m.netns, stderr: m.stderr, pid: m.pid, start: m.start, mnt: m.mnt, net: m.net}
			tc.spoil(spoilt)
			r, err := w.run(spoilt, "ls")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("netlab ls with a spoilt holder record = %v, %s; want an error with %q", err, r, tc.want)
			}
		})
	}
	if r := must(t, w, "m1", "ls", "-o", "json"); strings.TrimSpace(r.Stdout) != "[]" {
		t.Errorf("ls -o json on m1 = %s, want []", r.Stdout)
	}
}

// allPids lists the processes of the machine.
func allPids(t *testing.T) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// TestNewNeedsMachines checks the refusals of checkMachines.
func TestNewNeedsMachines(t *testing.T) {
	p := netip.MustParsePrefix
	for _, tc := range []struct {
		name     string
		machines []Machine
		want     string
	}{
		{"none", nil, "no machines"},
		{"no name", []Machine{{Addr: p("203.0.113.1/24")}}, "want a plain word"},
		{"a dot", []Machine{{Name: "m.1", Addr: p("203.0.113.1/24")}}, "want a plain word"},
		{"twice", []Machine{{Name: "m1", Addr: p("203.0.113.1/24")}, {Name: "m1", Addr: p("203.0.113.2/24")}}, "named twice"},
		{"no address", []Machine{{Name: "m1"}}, "no underlay address"},
		{"Addr6 of IPv4", []Machine{{Name: "m1", Addr: p("203.0.113.1/24"), Addr6: p("203.0.113.9/24")}}, "not IPv6"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkMachines(tc.machines)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("checkMachines = %v, want an error with %q", err, tc.want)
			}
		})
	}
	if err := checkMachines(twoMachines); err != nil {
		t.Errorf("checkMachines(twoMachines) = %v", err)
	}
}
