package kernel_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
)

// eachNetNS runs fn on the fake network (kerneltest.Net) always and, as
// root, on the real kernel, each with a throw-away namespace of its own
// (netns) holding a veth pair nl0-nl1 when veth is set; del deletes an
// interface of it by hand.
func eachNetNS(t *testing.T, veth bool, fn func(t *testing.T, nn kernel.NetNS, netns string, del func(ifname string))) {
	t.Run("fake", func(t *testing.T) {
		t.Parallel()
		n := kerneltest.NewNet()
		ns := kerneltest.LabName(t) // a name no namespace of the machine has
		n.AddNetNS(ns)
		if veth {
			n.AddLink(ns, "nl0")
			n.AddLink(ns, "nl1")
		}
		fn(t, n, ns, func(ifname string) { n.DelLink(ns, ifname) })
	})
	t.Run("linux", func(t *testing.T) {
		kerneltest.RequireRoot(t)
		t.Parallel()
		ns := kerneltest.NewTestNS(t)
		if veth {
			ipCmd(t, "-n", ns, "link", "add", "nl0", "type", "veth", "peer", "name", "nl1")
		}
		fn(t, newLinux(t), ns, func(ifname string) { ipCmd(t, "-n", ns, "link", "del", ifname) })
	})
}

// TestListenPacketLinkNoInterface names a missing interface in netlab's
// words, not in those of Go's net package ("route ip+net: no such network
// interface").
func TestListenPacketLinkNoInterface(t *testing.T) {
	eachNetNS(t, false, func(t *testing.T, nn kernel.NetNS, ns string, _ func(string)) {
		c, err := nn.ListenPacketLink(ns, "nosuch0")
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
	})
}

// TestReadPacketInterfaceGone: when the interface goes down or is deleted
// during a capture, the kernel fails the socket with ENETDOWN; the read
// says what happened to the interface, not "network is down".
func TestReadPacketInterfaceGone(t *testing.T) {
	eachNetNS(t, true, func(t *testing.T, nn kernel.NetNS, ns string, del func(string)) {
		c, err := nn.ListenPacketLink(ns, "nl0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		del("nl0")
		if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
			t.Fatal(err)
		}
		_, err = c.ReadPacket(make([]byte, 2048))
		if !errors.Is(err, unix.ENETDOWN) || !strings.Contains(err.Error(), "the interface went down or was deleted") {
			t.Errorf("ReadPacket after the interface was deleted: %v, want ENETDOWN said as the interface going down or away", err)
		}
	})
}
