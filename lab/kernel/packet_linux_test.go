package kernel_test

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
)

// TestListenPacketLinkNoInterface names a missing interface in netlab's
// words, not in those of Go's net package ("route ip+net: no such network
// interface").
func TestListenPacketLinkNoInterface(t *testing.T) {
	ns := kerneltest.NewTestNS(t)
	c, err := kernel.NewLinux().ListenPacketLink(ns, "nosuch0")
	if err == nil {
		c.Close()
		t.Fatal("ListenPacketLink on a missing interface succeeded")
	}
	want := "no interface nosuch0 in namespace " + ns
	if err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if strings.Contains(err.Error(), "ip+net") {
		t.Errorf("error %q speaks Go's net package", err)
	}
}

// TestReadPacketInterfaceGone: when the interface goes down or is deleted
// during a capture, the kernel fails the socket with ENETDOWN; the read
// says what happened to the interface, not "network is down".
func TestReadPacketInterfaceGone(t *testing.T) {
	ns := kerneltest.NewTestNS(t)
	if out, err := exec.Command("ip", "-n", ns, "link", "add", "nl0", "type", "veth", "peer", "name", "nl1").CombinedOutput(); err != nil {
		t.Fatalf("ip link add: %v: %s", err, out)
	}
	c, err := kernel.NewLinux().ListenPacketLink(ns, "nl0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if out, err := exec.Command("ip", "-n", ns, "link", "del", "nl0").CombinedOutput(); err != nil {
		t.Fatalf("ip link del: %v: %s", err, out)
	}
	if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	_, err = c.ReadPacket(make([]byte, 2048))
	if !errors.Is(err, unix.ENETDOWN) || !strings.Contains(err.Error(), "the interface went down or was deleted") {
		t.Errorf("ReadPacket after the interface was deleted: %v, want ENETDOWN said as the interface going down or away", err)
	}
}
