package main

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"netlab/lab/check"
	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
)

// TestPingSizeFlags: -s and -M are checked before anything is opened, and
// a bad value is a usage error that says what is allowed.
func TestPingSizeFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-s", "-1"}, "-s must be 0 to 65507 (IPv4) or 65527 (IPv6)"},
		{[]string{"-s", "65528"}, "-s must be 0 to 65507 (IPv4) or 65527 (IPv6)"},
		{[]string{"--size", "x"}, `-s/--size takes a whole number, got "x"`},
		{[]string{"-M", "probe"}, `want do, want or dont, not "probe"`},
		{[]string{"--pmtudisc", "DO"}, `want do, want or dont, not "DO"`},
	} {
		var stdout, stderr bytes.Buffer
		args := append([]string{"ping", "--lab", "nltestnone", "a", "192.0.2.1"}, tc.args...)
		code := run(args, strings.NewReader(""), &stdout, &stderr)
		if code != exitUsage || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("netlab %s: exit %d, stderr %q; want exit %d and %q", strings.Join(args, " "), code, stderr.String(), exitUsage, tc.want)
		}
	}
}

// TestPmtuFlag: -M takes ping(8)'s words and keeps the mode.
func TestPmtuFlag(t *testing.T) {
	t.Parallel()
	for word, want := range map[string]kernel.PMTUDisc{"do": kernel.PMTUDo, "want": kernel.PMTUWant, "dont": kernel.PMTUDont} {
		var f pmtuFlag
		if err := f.Set(word); err != nil || f.mode == nil || *f.mode != want || f.String() != word {
			t.Errorf("Set(%q): err %v, mode %v, String %q; want mode %v", word, err, f.mode, f.String(), want)
		}
	}
	var f pmtuFlag
	if f.mode != nil || f.String() != "" {
		t.Errorf("unset -M: mode %v, String %q; want nil and the kernel's default", f.mode, f.String())
	}
}

// TestPingSize: -s sets the data of each request, which the reply
// carries back: the reply is that many bytes and 8 of ICMP header, and
// the header line says the size. 0 bytes is a valid request.
func TestPingSize(t *testing.T) {
	t.Parallel()
	for _, size := range []int{0, 1, 1000, 1472} {
		var out bytes.Buffer
		e := &env{stdout: &out, stderr: &out}
		err := runPing(context.Background(), e, pingNet(), "p", "c1", netip.MustParseAddr("192.0.2.20"),
			pingOptions{count: 1, interval: time.Millisecond, wait: time.Second, size: size})
		if err != nil {
			t.Fatalf("-s %d: %v\n%s", size, err, out.String())
		}
		head := "PING 192.0.2.20 from node c1: " + itoa(size) + " data bytes\n"
		reply := itoa(size+8) + " bytes from 192.0.2.20: icmp_seq=1 "
		if !strings.HasPrefix(out.String(), head) || !strings.Contains(out.String(), reply) {
			t.Errorf("-s %d: output\n%s\nwant %q and %q", size, out.String(), head, reply)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// mtuLab writes a lab of a and b on a veth pair of MTU 1400, dual-stack,
// brings it up and returns its name.
func mtuLab(t *testing.T) string {
	t.Helper()
	kerneltest.RequireRoot(t)
	name := kerneltest.LabName(t)
	file := filepath.Join(t.TempDir(), "lab.yaml")
	text := "name: " + name + `
nodes:
  a:
    interfaces:
      eth0: {addresses: [10.0.0.1/24, "fd00::1/64"]}
  b:
    interfaces:
      eth0: {addresses: [10.0.0.2/24, "fd00::2/64"]}
links:
  - {endpoints: [a:eth0, b:eth0], mtu: 1400}
`
	upUntilCleanup(t, file, name, text)
	return name
}

// netlabPing runs netlab ping --lab LAB a DST ARGS... in this process and
// returns its stdout and exit code.
func netlabPing(t *testing.T, lab, dst string, args ...string) (string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	argv := append([]string{"ping", "--lab", lab, "a", dst, "-c", "1", "-W", "2s"}, args...)
	code := run(argv, strings.NewReader(""), &stdout, &stderr)
	if stderr.Len() > 0 {
		t.Logf("netlab %s: stderr: %s", strings.Join(argv, " "), stderr.String())
	}
	return stdout.String(), code
}

// TestPingDontFragment, on the real kernel: over a link of MTU 1400, a
// request with DF (-M do) passes when its packet is exactly 1400 bytes
// (1372 of data and 28 of IPv4 and ICMP headers; 1352 and 48 with IPv6)
// and is refused by a's own kernel, one byte more, with the route's MTU
// and no reply: exit 1. Without -M do the larger one is fragmented and
// gets its reply.
func TestPingDontFragment(t *testing.T) {
	t.Parallel()
	name := mtuLab(t)
	for _, tc := range []struct {
		dst     string
		fits    int
		headers int
	}{
		{"10.0.0.2", 1372, 28},
		{"fd00::2", 1352, 48},
	} {
		fit, over := itoa(tc.fits), itoa(tc.fits+1)
		if out, code := netlabPing(t, name, tc.dst, "-s", fit, "-M", "do"); code != 0 || !strings.Contains(out, itoa(tc.fits+8)+" bytes from "+tc.dst) {
			t.Errorf("ping %s -s %s -M do: exit %d, want 0 and a reply of %d bytes:\n%s", tc.dst, fit, code, tc.fits+8, out)
		}
		out, code := netlabPing(t, name, tc.dst, "-s", over, "-M", "do")
		want := "message too long, mtu=1400: a 1401-byte packet (" + over + " bytes of data and " + itoa(tc.headers) + " of headers) may not be fragmented; at most -s " + fit + " fits"
		if code != exitFailure || !strings.Contains(out, want) || !strings.Contains(out, "1 packets transmitted, 0 received") {
			t.Errorf("ping %s -s %s -M do: exit %d, want %d, %q and no reply:\n%s", tc.dst, over, code, exitFailure, want, out)
		}
		if out, code := netlabPing(t, name, tc.dst, "-s", "3000"); code != 0 {
			t.Errorf("ping %s -s 3000 (fragmented): exit %d, want 0:\n%s", tc.dst, code, out)
		}
		// The largest request fits one IP packet of 65535 bytes.
		v6 := strings.Contains(tc.dst, ":")
		most := itoa(check.MaxEchoPayload(v6))
		if out, code := netlabPing(t, name, tc.dst, "-s", most); code != 0 || !strings.Contains(out, itoa(check.MaxEchoPayload(v6)+8)+" bytes from") {
			t.Errorf("ping %s -s %s (the largest): exit %d, want 0 and its reply:\n%s", tc.dst, most, code, out)
		}
	}
	if out, code := netlabPing(t, name, "10.0.0.2", "-s", "65508"); code != exitUsage {
		t.Errorf("ping 10.0.0.2 -s 65508: exit %d, want %d (too large for IPv4):\n%s", code, exitUsage, out)
	}
}

// TestPingFragmentationNeeded, on the real kernel: a request with DF that
// fits a's link but not the link after router r is dropped by r, whose
// ICMP "fragmentation needed" (IPv6: "packet too big") comes back with
// the next link's MTU, and ping says so.
func TestPingFragmentationNeeded(t *testing.T) {
	t.Parallel()
	kerneltest.RequireRoot(t)
	name := kerneltest.LabName(t)
	file := filepath.Join(t.TempDir(), "lab.yaml")
	text := "name: " + name + `
nodes:
  a:
    interfaces:
      eth0: {addresses: [10.0.1.2/24, "fd00:1::2/64"]}
    routes:
      - {to: default, via: 10.0.1.1}
      - {to: "::/0", via: "fd00:1::1"}
  r:
    interfaces:
      eth0: {addresses: [10.0.1.1/24, "fd00:1::1/64"]}
      eth1: {addresses: [10.0.2.1/24, "fd00:2::1/64"]}
    sysctls:
      net.ipv4.ip_forward: 1
      net.ipv6.conf.all.forwarding: 1
  b:
    interfaces:
      eth0: {addresses: [10.0.2.2/24, "fd00:2::2/64"]}
    routes:
      - {to: default, via: 10.0.2.1}
      - {to: "::/0", via: "fd00:2::1"}
links:
  - [a:eth0, r:eth0]
  - {endpoints: [r:eth1, b:eth0], mtu: 1400}
`
	upUntilCleanup(t, file, name, text)
	for _, tc := range []struct{ dst, want string }{
		{"10.0.2.2", "too big: 10.0.1.1 reports ICMP destination unreachable, fragmentation needed, mtu=1400"},
		{"fd00:2::2", "ICMP6 packet too big, mtu=1400"},
	} {
		out, code := netlabPing(t, name, tc.dst, "-s", "1420", "-M", "do")
		if code != exitFailure || !strings.Contains(out, tc.want) {
			t.Errorf("ping %s -s 1420 -M do: exit %d, want %d and %q:\n%s", tc.dst, code, exitFailure, tc.want, out)
		}
		// Now a knows the path's MTU, and refuses the next one itself.
		out, code = netlabPing(t, name, tc.dst, "-s", "1420", "-M", "do")
		if code != exitFailure || !strings.Contains(out, "message too long, mtu=1400") {
			t.Errorf("ping %s -s 1420 -M do, again: exit %d, want %d and the learnt mtu=1400:\n%s", tc.dst, code, exitFailure, out)
		}
	}
}

// upUntilCleanup writes text to file and brings the lab name up with
// run(), and down again when the test ends.
func upUntilCleanup(t *testing.T, file, name, text string) {
	t.Helper()
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	if code := run([]string{"up", file}, strings.NewReader(""), &bytes.Buffer{}, &stderr); code != 0 {
		t.Fatalf("netlab up: exit %d: %s", code, stderr.String())
	}
	t.Cleanup(func() {
		var stderr bytes.Buffer
		if code := run([]string{"down", "--lab", name}, strings.NewReader(""), &bytes.Buffer{}, &stderr); code != 0 {
			t.Errorf("netlab down: exit %d: %s", code, stderr.String())
		}
	})
}
