package kernel_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"

	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/state"
)

// TestConntrackRefusesTheMachine: Conntrack and ConntrackFlush never
// read or flush the machine's own table, and say so with EPERM before
// any message; a namespace that is not there is ENOENT. No root needed:
// nothing reaches the kernel.
func TestConntrackRefusesTheMachine(t *testing.T) {
	t.Parallel()
	k := kernel.NewLinux()
	defer k.Close()
	ctx := context.Background()
	if _, err := k.Conntrack(ctx, state.HostNetNS); !errors.Is(err, unix.EPERM) {
		t.Errorf("Conntrack of the machine's namespace: %v, want EPERM", err)
	}
	if err := k.ConntrackFlush(ctx, state.HostNetNS); !errors.Is(err, unix.EPERM) {
		t.Errorf("ConntrackFlush of the machine's namespace: %v, want EPERM", err)
	}
	missing := state.NetNSName(kerneltest.LabName(t), "a")
	if _, err := k.Conntrack(ctx, missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Conntrack of a missing namespace: %v, want one that is not there", err)
	}
	if _, err := k.Conntrack(ctx, "../../etc"); err == nil || !strings.Contains(err.Error(), "invalid namespace name") {
		t.Errorf("Conntrack of a bad name: %v, want it refused", err)
	}
}

// TestConntrackLinux makes connections inside a throw-away namespace,
// over loopback, with counting on (nf_conntrack_acct=1) and a ct rule
// that makes the namespace track: a UDP exchange, a TCP connection over
// IPv6 and an ICMP echo. Conntrack lists each with its protocol, state,
// tuples, ICMP identifier and counters; ConntrackFlush empties the table.
func TestConntrackLinux(t *testing.T) {
	kerneltest.RequireRoot(t)
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("nft not found: the test adds its ct rule with it")
	}
	t.Parallel()
	ns := kerneltest.NewTestNS(t)
	k := newLinux(t)
	ctx := context.Background()
	ipCmd(t, "-n", ns, "link", "set", "lo", "up")
	// Conntrack tracks a namespace once a rule there needs it.
	nft := exec.Command("ip", "netns", "exec", ns, "nft", "-f", "-")
	nft.Stdin = strings.NewReader("table inet t {\n chain o {\n  type filter hook output priority 0\n  ct state new counter\n }\n}\n")
	if out, err := nft.CombinedOutput(); err != nil {
		t.Fatalf("nft: %v: %s", err, out)
	}
	if err := k.SysctlSet(ctx, ns, "net.netfilter.nf_conntrack_acct", "1"); err != nil {
		t.Fatal(err)
	}
	if got, err := k.Conntrack(ctx, ns); err != nil || len(got) != 0 {
		t.Fatalf("Conntrack of a quiet namespace = %v, %v; want none", got, err)
	}

	// UDP there and back.
	srv, err := k.ListenPacketIn(ns, "udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	udpPort := uint16(srv.LocalAddr().(*net.UDPAddr).Port)
	cli, err := k.DialIn(ctx, ns, "udp", srv.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	cliPort := uint16(cli.LocalAddr().(*net.UDPAddr).Port)
	if _, err := cli.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	srv.SetDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64)
	_, from, err := srv.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.WriteTo([]byte("pong"), from); err != nil {
		t.Fatal(err)
	}
	cli.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := cli.Read(buf); err != nil {
		t.Fatal(err)
	}

	// TCP over IPv6: ESTABLISHED once the handshake is done.
	ln, err := k.ListenIn(ns, "tcp", "[::1]:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tcpPort := uint16(ln.Addr().(*net.TCPAddr).Port)
	tc, err := k.DialIn(ctx, ns, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	acc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer acc.Close()

	// ICMP echo with identifier 4711; the namespace answers it itself.
	raw, err := k.ListenPacketIn(ns, "ip4:icmp", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	msg, _ := (&icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: 4711, Seq: 1, Data: []byte("x")}}).Marshal(nil)
	if _, err := raw.WriteTo(msg, &net.IPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
		t.Fatal(err)
	}
	raw.SetDeadline(time.Now().Add(5 * time.Second))
	for {
		n, _, err := raw.ReadFrom(buf)
		if err != nil {
			t.Fatalf("no echo reply: %v", err)
		}
		if m, err := icmp.ParseMessage(1, buf[:n]); err == nil && m.Type == ipv4.ICMPTypeEchoReply {
			break
		}
	}

	entries, err := k.Conntrack(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	lo, lo6 := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")
	var sawUDP, sawTCP, sawICMP bool
	for _, e := range entries {
		switch {
		case e.Proto == "udp" && e.Orig.DPort == udpPort:
			sawUDP = true
			want := kernel.ConntrackTuple{Src: lo, Dst: lo, SPort: udpPort, DPort: cliPort}
			if e.Orig.Src != lo || e.Orig.SPort != cliPort || e.Reply != want {
				t.Errorf("udp entry tuples %+v -> %+v, want the reply %+v", e.Orig, e.Reply, want)
			}
			if !e.SeenReply || e.SrcNAT || e.DstNAT || e.State != "" {
				t.Errorf("udp entry %+v: want seen reply, no NAT, no state", e)
			}
			if !e.Counters || e.OrigPackets != 1 || e.ReplyPackets != 1 || e.OrigBytes != 32 || e.ReplyBytes != 32 {
				t.Errorf("udp entry counters %+v: want 1 packet of 32 bytes each way", e)
			}
			if e.Timeout <= 0 || e.Timeout > 200*time.Second {
				t.Errorf("udp entry timeout %v", e.Timeout)
			}
		case e.Proto == "tcp" && e.Orig.DPort == tcpPort:
			sawTCP = true
			if e.Orig.Src != lo6 || e.Reply.Src != lo6 || e.Reply.SPort != tcpPort {
				t.Errorf("tcp entry tuples %+v -> %+v, want ::1 both ways", e.Orig, e.Reply)
			}
			if e.State != "ESTABLISHED" || !e.Assured {
				t.Errorf("tcp entry state %q assured %v, want ESTABLISHED, assured", e.State, e.Assured)
			}
		case e.Proto == "icmp" && e.Orig.ICMPID == 4711:
			sawICMP = true
			if e.Orig.ICMPType != 8 || e.Orig.ICMPCode != 0 || e.Reply.ICMPType != 0 || e.Reply.ICMPID != 4711 || e.Orig.SPort != 0 {
				t.Errorf("icmp entry tuples %+v -> %+v, want echo request 8 and reply 0, id 4711", e.Orig, e.Reply)
			}
		}
	}
	if !sawUDP || !sawTCP || !sawICMP {
		t.Fatalf("entries %+v: want the udp (%v), tcp (%v) and icmp (%v) ones", entries, sawUDP, sawTCP, sawICMP)
	}

	for _, c := range []interface{ Close() error }{cli, srv, acc, tc, ln, raw} {
		c.Close()
	}
	if err := k.ConntrackFlush(ctx, ns); err != nil {
		t.Fatal(err)
	}
	if got, err := k.Conntrack(ctx, ns); err != nil || len(got) != 0 {
		t.Errorf("Conntrack after a flush = %+v, %v; want none", got, err)
	}
}
