package kernel_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"netlab/lab"
	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/plan"
	"netlab/lab/reconcile"
	"netlab/lab/state"
	"netlab/topologies"
)

// macvlanLab has two nodes with a macvlan each on eth0 of node host, a veth
// to node ext. MODE stands for the macvlans' mode.
const macvlanLab = `name: LAB
nodes:
  host:
    interfaces:
      eth0: {addresses: [10.50.0.1/24]}
  ext:
    interfaces:
      eth0: {addresses: [10.50.0.2/24]}
  m1:
    interfaces:
      mv0: {kind: macvlan, macvlan: {parent: host:eth0, mode: MODE}, addresses: [10.50.0.11/24]}
  m2:
    interfaces:
      mv0: {kind: macvlan, macvlan: {parent: host:eth0, mode: MODE}, addresses: [10.50.0.12/24]}
links:
  - [host:eth0, ext:eth0]
`

func labText(name, text string, repl ...string) string {
	text = strings.Replace(text, "name: LAB\n", "name: "+name+"\n", 1)
	return strings.NewReplacer(repl...).Replace(text)
}

// reach reports whether a UDP echo from node from reaches addr in node to.
func reach(t *testing.T, lab, from, to, addr string, wait time.Duration) bool {
	t.Helper()
	srv := udpEchoServer(t, openNS(t, state.NetNSName(lab, to)), netip.MustParseAddr(addr))
	_, err := udpProbe(openNS(t, state.NetNSName(lab, from)), srv, wait)
	if err != nil && !errors.Is(err, errNoAnswer) && !errors.Is(err, unix.EHOSTUNREACH) && !errors.Is(err, unix.ECONNREFUSED) {
		t.Fatalf("probe %s -> %s (%s): %v", from, to, addr, err)
	}
	return err == nil
}

// TestMACVLANBridgeAndPrivate proves the difference of the two modes with
// real datagrams: macvlans on one parent reach each other in bridge mode
// and not in private mode; in both they reach the far end of the parent's
// link, and never the parent's own node.
func TestMACVLANBridgeAndPrivate(t *testing.T) {
	for _, tc := range []struct {
		mode     string
		siblings bool
	}{
		{"bridge", true},
		{"private", false},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			eachKernel(t, func(t *testing.T, k *testKernel) {
				name := kerneltest.LabName(t)
				l := parseLab(t, labText(name, macvlanLab, "MODE", tc.mode))
				upLab(t, k, l)

				s, err := k.Observe(context.Background(), name, plan.Desired(l))
				if err != nil {
					t.Fatal(err)
				}
				mv := s.Nodes["m1"].Links["mv0"]
				if mv.Kind != "macvlan" || mv.Mode != tc.mode || mv.Parent != "host:eth0" || !mv.Owned {
					t.Fatalf("observed m1 mv0: kind %s mode %s parent %q owned %v", mv.Kind, mv.Mode, mv.Parent, mv.Owned)
				}
				if !k.linux {
					return // traffic needs the real kernel
				}
				if !reach(t, name, "m1", "ext", "10.50.0.2", 10*time.Second) {
					t.Fatal("m1 does not reach ext through the parent")
				}
				if got := reach(t, name, "m1", "m2", "10.50.0.12", 3*time.Second); got != tc.siblings {
					t.Errorf("m1 reaches m2: %v, want %v", got, tc.siblings)
				}
				if reach(t, name, "m1", "host", "10.50.0.1", 2*time.Second) {
					t.Error("m1 reaches the parent's own node through its macvlan")
				}
			})
		})
	}
}

// TestMACVLANModes creates each other mode, observes it as declared, and
// plans nothing on a second look.
func TestMACVLANModes(t *testing.T) {
	for _, mode := range []string{"vepa", "passthru", "source"} {
		t.Run(mode, func(t *testing.T) {
			eachKernel(t, func(t *testing.T, k *testKernel) {
				name := kerneltest.LabName(t)
				text := `name: LAB
nodes:
  h:
    interfaces:
      eth0: {}
      mv0: {kind: macvlan, macvlan: {parent: eth0, mode: MODE}}
  x:
    interfaces:
      eth0: {}
links:
  - [h:eth0, x:eth0]
`
				if mode == "source" {
					text = strings.Replace(text, "mode: MODE}", "mode: MODE, source-macs: ['02:00:00:00:00:02', '02:00:00:00:00:01']}", 1)
				}
				l := parseLab(t, labText(name, text, "MODE", mode))
				upLab(t, k, l)
				s, err := k.Observe(context.Background(), name, nil)
				if err != nil {
					t.Fatal(err)
				}
				mv := s.Nodes["h"].Links["mv0"]
				if mv.Mode != mode || mv.Parent != "h:eth0" {
					t.Errorf("observed mode %q parent %q, want %q h:eth0", mv.Mode, mv.Parent, mode)
				}
				if mode == "source" {
					want := "02:00:00:00:00:01 02:00:00:00:00:02"
					if got := strings.Join(mv.SourceMACs, " "); got != want {
						t.Errorf("source macs %q, want %q", got, want)
					}
					// One sender less is changed in place.
					l2 := parseLab(t, labText(name, text, "MODE", mode, "'02:00:00:00:00:02', ", ""))
					_, p := planLab(t, k, l2)
					if got := planText(p); !strings.Contains(got, "~ link mv0: source-macs") {
						t.Fatalf("plan after dropping a source mac:\n%s", got)
					}
					applyPlanned(t, k, l2, p)
				}
			})
		})
	}
}

// TestMACVLANDriftAndReplace changes a macvlan's mode by hand (replaced),
// deletes it by hand (made again), and moves it to another parent in the
// file (replaced): each up leaves the kernel as the file says.
func TestMACVLANDriftAndReplace(t *testing.T) {
	t.Parallel()
	eachKernel(t, func(t *testing.T, k *testKernel) {
		name := kerneltest.LabName(t)
		text := labText(name, macvlanLab, "MODE", "bridge")
		l := parseLab(t, text)
		upLab(t, k, l)
		m1 := state.NetNSName(name, "m1")

		k.hand(t, "ip -n "+m1+" link set mv0 type macvlan mode private")
		_, p := planLab(t, k, l)
		if got := planText(p); !strings.Contains(got, "-/+ link mv0") || !strings.Contains(got, "mode private -> bridge") {
			t.Fatalf("plan after a mode change by hand:\n%s", got)
		}
		// The replacement and what the kernel takes with it (the address)
		// are one repair, shown in one section.
		if got := planText(p); strings.Contains(got, "\nChanges:\n") || !strings.Contains(got, "Changed outside netlab") {
			t.Errorf("a hand change of the mode shows outside \"Changed outside netlab\":\n%s", got)
		}
		upLab(t, k, l)

		k.hand(t, "ip -n "+m1+" link del mv0")
		_, p = planLab(t, k, l)
		if got := planText(p); !strings.Contains(got, "+ link mv0 (macvlan)") {
			t.Fatalf("plan after a delete by hand:\n%s", got)
		}
		upLab(t, k, l)

		// Another parent: the macvlan moves to ext's eth0.
		l2 := parseLab(t, strings.Replace(text, "mv0: {kind: macvlan, macvlan: {parent: host:eth0", "mv0: {kind: macvlan, macvlan: {parent: ext:eth0", 1))
		_, p = planLab(t, k, l2)
		if got := planText(p); !strings.Contains(got, "parent host:eth0 -> ext:eth0 cannot change in place") {
			t.Fatalf("plan after a parent change:\n%s", got)
		}
		upLab(t, k, l2)
		if k.linux && !reach(t, name, "m1", "host", "10.50.0.1", 10*time.Second) {
			t.Error("m1, now on ext's eth0, does not reach host")
		}

		// Re-wire the veth under m2's macvlan: the kernel deletes the macvlan
		// with the old veth, so the plan replaces it too, after the new veth.
		text3 := strings.Replace(strings.Replace(text, "  - [host:eth0, ext:eth0]\n", "  - [host:eth0, sw:eth0]\n  - [ext:eth0, sw:eth1]\n", 1),
			"links:\n", "  sw:\n    interfaces:\n      br0: {kind: bridge}\n      eth0: {master: br0}\n      eth1: {master: br0}\nlinks:\n", 1)
		l3 := parseLab(t, text3)
		_, p = planLab(t, k, l3)
		if got := planText(p); !strings.Contains(got, "-/+ link mv0 [its lower device host:eth0 is replaced") {
			t.Fatalf("plan after re-wiring the parent:\n%s", got)
		}
		upLab(t, k, l3)
		if k.linux && !reach(t, name, "m2", "ext", "10.50.0.2", 10*time.Second) {
			t.Error("m2 does not reach ext through the re-wired parent and sw")
		}
	})
}

// vxlanLab is two hosts joined by an underlay veth; each has a bridge with
// a container on it and a vxlan to the other host, with the flood entry
// written as an fdb entry (head-end replication) rather than a remote when
// FDB is set.
const vxlanLab = `name: LAB
nodes:
  h1:
    interfaces:
      under: {addresses: [192.0.2.1/24]}
      br0: {kind: bridge}
      vx0: {kind: vxlan, master: br0, vxlan: {vni: VNI, remote: 192.0.2.2, local: 192.0.2.1, dev: under}}
      p1: {master: br0}
  h2:
    interfaces:
      under: {addresses: [192.0.2.2/24]}
      br0: {kind: bridge}
      vx0: {kind: vxlan, master: br0, vxlan: {vni: VNI, remote: 192.0.2.1, local: 192.0.2.2, dev: under, fdb: [{mac: '00:00:00:00:00:00', dst: 192.0.2.9}]}}
      p1: {master: br0}
  c1:
    interfaces:
      eth0: {addresses: [10.60.0.1/24]}
  c2:
    interfaces:
      eth0: {addresses: [10.60.0.2/24]}
links:
  - [h1:under, h2:under]
  - [c1:eth0, h1:p1]
  - [c2:eth0, h2:p1]
`

// TestVXLANOverlay proves that containers on bridges of two hosts reach
// each other at layer 2 through the vxlan, observes the vxlan's settings,
// its MTU (the underlay's minus 50) and its extra fdb entry, and replaces
// it when its VNI changes.
func TestVXLANOverlay(t *testing.T) {
	t.Parallel()
	eachKernel(t, func(t *testing.T, k *testKernel) {
		name := kerneltest.LabName(t)
		l := parseLab(t, labText(name, vxlanLab, "VNI", "42"))
		upLab(t, k, l)
		s, err := k.Observe(context.Background(), name, nil)
		if err != nil {
			t.Fatal(err)
		}
		vx := s.Nodes["h2"].Links["vx0"]
		got := fmt.Sprintf("vni %d port %d remote %s local %s dev %s learning %v mtu %d fdb %v",
			vx.VNI, vx.Port, vx.Remote, vx.Local, vx.Dev, vx.Learning, vx.MTU, vx.FDB)
		want := "vni 42 port 4789 remote 192.0.2.1 local 192.0.2.2 dev under learning true mtu 1450 fdb [00:00:00:00:00:00 dst 192.0.2.1 00:00:00:00:00:00 dst 192.0.2.9]"
		if got != want {
			t.Errorf("observed vxlan:\n got %s\nwant %s", got, want)
		}
		if k.linux && !reach(t, name, "c1", "c2", "10.60.0.2", 10*time.Second) {
			t.Fatal("c1 does not reach c2 across the overlay")
		}

		// The extra fdb entry removed by hand (bridge fdb del) is drift that
		// up puts back in place, without re-creating the vxlan.
		k.hand(t, "bridge -n "+state.NetNSName(name, "h2")+" fdb del 00:00:00:00:00:00 dev vx0 dst 192.0.2.9")
		_, p := planLab(t, k, l)
		if got := planText(p); !strings.Contains(got, "~ link vx0: fdb [00:00:00:00:00:00 dst 192.0.2.1] -> [00:00:00:00:00:00 dst 192.0.2.1, 00:00:00:00:00:00 dst 192.0.2.9]") {
			t.Fatalf("plan after an fdb entry was removed by hand:\n%s", got)
		}
		upLab(t, k, l)
		if after := observeAll(t, k, name).Nodes["h2"].Links["vx0"]; after == nil || after.Index != vx.Index {
			t.Error("the vxlan was re-created for an fdb change")
		}

		l2 := parseLab(t, labText(name, vxlanLab, "VNI", "43"))
		_, p = planLab(t, k, l2)
		if got := planText(p); !strings.Contains(got, "vni 42 -> 43 cannot change in place") {
			t.Fatalf("plan after a vni change:\n%s", got)
		}
		upLab(t, k, l2)
		if k.linux && !reach(t, name, "c2", "c1", "10.60.0.1", 10*time.Second) {
			t.Fatal("c2 does not reach c1 after the vni change")
		}
	})
}

// TestVXLANMulticast creates a vxlan on a multicast group and observes it.
func TestVXLANMulticast(t *testing.T) {
	t.Parallel()
	eachKernel(t, func(t *testing.T, k *testKernel) {
		name := kerneltest.LabName(t)
		l := parseLab(t, labText(name, `name: LAB
nodes:
  a:
    interfaces:
      eth0: {addresses: [192.0.2.1/24], mtu: 9000}
      vx1: {kind: vxlan, vxlan: {vni: 43, group: 239.1.1.1, dev: eth0, port: 8472, learning: false}}
  b:
    interfaces:
      eth0: {addresses: [192.0.2.2/24]}
links:
  - [a:eth0, b:eth0]
`))
		upLab(t, k, l)
		s, err := k.Observe(context.Background(), name, nil)
		if err != nil {
			t.Fatal(err)
		}
		vx := s.Nodes["a"].Links["vx1"]
		got := fmt.Sprintf("vni %d port %d group %s remote %s dev %s learning %v mtu %d", vx.VNI, vx.Port, vx.Group, vx.Remote, vx.Dev, vx.Learning, vx.MTU)
		if want := "vni 43 port 8472 group 239.1.1.1 remote invalid IP dev eth0 learning false mtu 8950"; got != want {
			t.Errorf("observed vxlan:\n got %s\nwant %s", got, want)
		}
	})
}

// TestTunTap creates a persistent tun and tap with an owner and group,
// observes them, and attaches to the tap as a user-space program would
// (TUNSETIFF on its name, inside the namespace) to send a frame out.
func TestTunTap(t *testing.T) {
	t.Parallel()
	eachKernel(t, func(t *testing.T, k *testKernel) {
		name := kerneltest.LabName(t)
		l := parseLab(t, labText(name, `name: LAB
nodes:
  a:
    interfaces:
      tap0: {kind: tap, tap: {owner: 1000, group: 1001}, addresses: [10.70.0.1/24]}
      tun0: {kind: tun, tun: {owner: 1000}}
`))
		upLab(t, k, l)
		s, err := k.Observe(context.Background(), name, nil)
		if err != nil {
			t.Fatal(err)
		}
		tap, tun := s.Nodes["a"].Links["tap0"], s.Nodes["a"].Links["tun0"]
		if got := fmt.Sprintf("%s %s/%s, %s %s/%s", tap.Kind, state.IDText(tap.TunOwner), state.IDText(tap.TunGroup),
			tun.Kind, state.IDText(tun.TunOwner), state.IDText(tun.TunGroup)); got != "tap 1000/1001, tun 1000/(none)" {
			t.Fatalf("observed tap0, tun0: %s", got)
		}

		if k.linux {
			tapAttached(t, k, name)
		}
		// The device outlives the program: it is persistent.
		if _, err := k.Observe(context.Background(), name, nil); err != nil {
			t.Fatal(err)
		}
		_, p := planLab(t, k, l)
		if !p.Empty() {
			t.Errorf("plan after the program left:\n%s", planText(p))
		}

		// Deleted by hand, the tap is made again, with its owner and address.
		k.hand(t, "ip -n "+state.NetNSName(name, "a")+" link del tap0")
		_, p = planLab(t, k, l)
		if got := planText(p); !strings.Contains(got, "+ link tap0 (tap)") || !strings.Contains(got, "tuntap add dev tap0 mode tap user 1000 group 1001") {
			t.Fatalf("plan after the tap was deleted by hand:\n%s", got)
		}
		upLab(t, k, l)
	})
}

// tapAttached attaches to lab's tap0 as a user-space program would
// (TUNSETIFF on its name, inside node a's namespace), sends a frame out
// and reads one in, and proves that the kernel lets only tap0's and
// tun0's owner and group attach. Only the real kernel has devices to
// attach to.
func tapAttached(t *testing.T, k kernel.Kernel, name string) {
	t.Helper()
	fd := openNS(t, state.NetNSName(name, "a"))
	var f *os.File
	err := kernel.InNetNS(fd, func() error {
		tfd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		var req [40]byte
		copy(req[:], "tap0")
		*(*uint16)(unsafe.Pointer(&req[16])) = unix.IFF_TAP | unix.IFF_NO_PI
		if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(tfd), unix.TUNSETIFF, uintptr(unsafe.Pointer(&req[0]))); errno != 0 {
			unix.Close(tfd)
			return fmt.Errorf("TUNSETIFF tap0: %w", errno)
		}
		f = os.NewFile(uintptr(tfd), "tap0")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// With a program attached, the tap carries the node's traffic: a
	// datagram to an address on its subnet makes the kernel ask for it
	// with ARP, which the program reads.
	go udpProbe(fd, netip.MustParseAddrPort("10.70.0.2:7"), 2*time.Second)
	f.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 2048)
	for {
		n, err := f.Read(buf)
		if err != nil {
			t.Fatalf("read a frame from tap0: %v", err)
		}
		if n >= 14 && buf[12] == 0x08 && buf[13] == 0x06 {
			break // an ARP request from the node
		}
	}
	// And a frame the program writes arrives at the node.
	before := linkRx(t, k, name, "a", "tap0")
	frame := append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x88, 0xb5}, make([]byte, 46)...)
	if _, err := f.Write(frame); err != nil {
		t.Fatalf("write a frame to tap0: %v", err)
	}
	if after := linkRx(t, k, name, "a", "tap0"); after <= before {
		t.Errorf("tap0 rx packets %d -> %d after a frame was written", before, after)
	}
	f.Close()

	// Without privileges, a program attaches only as the owner and in the
	// group: the kernel requires both when both are set. tun0 has only an
	// owner, so any group does.
	for _, tc := range []struct {
		dev      string
		uid, gid int
		ok       bool
	}{
		{"tap0", 1000, 1001, true}, {"tap0", 1000, 1000, false}, {"tap0", 1002, 1001, false},
		{"tun0", 1000, 1005, true}, {"tun0", 1001, 1000, false},
	} {
		err := attachAs(fd, tc.uid, tc.gid, tc.dev)
		if (err == nil) != tc.ok {
			t.Errorf("attach to %s as uid %d gid %d: %v, want ok %v", tc.dev, tc.uid, tc.gid, err, tc.ok)
		}
	}
}

func linkRx(t *testing.T, k kernel.Kernel, lab, node, link string) uint64 {
	t.Helper()
	s, err := k.Observe(context.Background(), lab, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s.Nodes[node].Links[link].Stats.RxPackets
}

// TestShippedDeviceLabs brings up the shipped vxlan and macvlan labs and
// proves what their checks claim with real datagrams.
func TestShippedDeviceLabs(t *testing.T) {
	kerneltest.RequireRoot(t)
	for _, tc := range []struct {
		file   string
		probes []struct {
			from, to, addr string
			ok             bool
		}
	}{
		{"vxlan-overlay.yaml", []struct {
			from, to, addr string
			ok             bool
		}{{"c1", "c3", "10.42.0.13", true}, {"c3", "c2", "10.42.0.12", true}}},
		{"macvlan.yaml", []struct {
			from, to, addr string
			ok             bool
		}{{"c1", "router", "198.51.100.1", true}, {"c1", "c2", "198.51.100.22", true}, {"c1", "host", "198.51.100.10", false}}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			data, err := topologies.Read(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			name := kerneltest.LabName(t)
			text := string(data)
			first, _, _ := strings.Cut(text, "\n")
			l := parseLab(t, strings.Replace(text, first, "name: "+name, 1))
			k := newLinux(t)
			upLab(t, k, l)
			for _, p := range tc.probes {
				wait := 10 * time.Second
				if !p.ok {
					wait = 2 * time.Second
				}
				if got := reach(t, name, p.from, p.to, p.addr, wait); got != p.ok {
					t.Errorf("%s reaches %s (%s): %v, want %v", p.from, p.to, p.addr, got, p.ok)
				}
			}
		})
	}
}

// rootLinks lists the links of the machine's root namespace as NAME
// ALIAS FLAGS MTU lines, to prove that a host node touched nothing else.
func rootLinks(t *testing.T, skip map[string]bool) []string {
	t.Helper()
	h := nsHandle(t, rootNS(t))
	links, err := h.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range links {
		a := l.Attrs()
		if skip[a.Name] || strings.HasPrefix(a.Name, "nlt") || strings.HasPrefix(a.Name, state.TempLinkPrefix) {
			continue // ours, or another test's
		}
		out = append(out, fmt.Sprintf("%s alias=%q flags=%v mtu=%d master=%d", a.Name, a.Alias, a.Flags, a.MTU, a.MasterIndex))
	}
	return out
}

// testStartNS is the namespace the test binary started in, opened during
// initialisation on the main thread. /proc/PID/ns/net would not do: it is
// the main thread's, and a thread that ended in a namespace netlab made
// may be the main thread, which the runtime parks rather than ends.
var testStartNS, testStartNSErr = netns.Get()

// rootNS opens the machine's root namespace, as kernel.Linux finds it.
func rootNS(t *testing.T) netns.NsHandle {
	t.Helper()
	fd, err := netns.GetFromPath("/proc/1/ns/net")
	if err != nil {
		if testStartNSErr != nil {
			t.Fatal(testStartNSErr)
		}
		var dup int
		if dup, err = unix.FcntlInt(uintptr(testStartNS), unix.F_DUPFD_CLOEXEC, 0); err != nil {
			t.Fatal(err)
		}
		fd = netns.NsHandle(dup)
	}
	t.Cleanup(func() { fd.Close() })
	return fd
}

// rootLinkNames returns n unique names for links of the root namespace,
// each deleted when the test ends, whatever it left on the real kernel.
func rootLinkNames(t *testing.T, k *testKernel, n int) []string {
	t.Helper()
	var names []string
	for range n {
		var b [3]byte
		if _, err := unix.Getrandom(b[:], 0); err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("nlt%x%d", b, len(names))
		names = append(names, name)
		if k.linux {
			t.Cleanup(func() { exec.Command("ip", "link", "del", name).Run() })
		}
	}
	return names
}

// TestHostNode builds a lab with a host: true node: a bridge, a tap and a
// veth end in the machine's root namespace, each marked, with no address
// (nothing is routed out of the machine). Nothing else of the root
// namespace changes; a declared name taken by a link of the machine is a
// conflict that even prune does not take; and DownHost removes only the
// marked links.
func TestHostNode(t *testing.T) {
	t.Parallel()
	eachKernel(t, func(t *testing.T, k *testKernel) {
		name := kerneltest.LabName(t)
		names := rootLinkNames(t, k, 4)
		br, tap, veth, foreign := names[0], names[1], names[2], names[3]
		tmpl := `name: LAB
nodes:
  h:
    host: true
    interfaces:
      BR: {kind: bridge}
      TAP: {kind: tap, master: BR, tap: {owner: 1000}}
      VETH: {master: BR}
  c:
    interfaces:
      eth0: {addresses: [198.51.100.7/32]}
      mv0: {kind: macvlan, macvlan: {parent: h:BR, mode: private}}
links:
  - [h:VETH, c:eth0]
`
		l := parseLab(t, labText(name, tmpl, "BR", br, "TAP", tap, "VETH", veth))
		// The machine's own links, which only the real kernel has.
		var before []string
		if k.linux {
			before = rootLinks(t, nil)
		}
		upLab(t, k, l)
		if k.linux {
			if after := rootLinks(t, nil); strings.Join(after, "\n") != strings.Join(before, "\n") {
				t.Errorf("the machine's own links changed:\nbefore %q\nafter  %q", before, after)
			}
		}
		s, err := k.Observe(context.Background(), name, plan.Desired(l))
		if err != nil {
			t.Fatal(err)
		}
		if mv := s.Nodes["c"].Links["mv0"]; mv == nil || mv.Parent != "h:"+br || mv.Mode != "private" {
			t.Errorf("observed c mv0 on the host's bridge: %+v", mv)
		}
		h := s.Nodes["h"]
		if len(h.Links) != 3 || h.Links[tap].Master != br || h.Links[veth].Peer != "c:eth0" || !h.Links[br].Owned || state.IDText(h.Links[tap].TunOwner) != "1000" {
			t.Errorf("observed host node: %v", h.LinkNames())
		}
		got, err := k.HostLinks(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{br, tap, veth}; !sameSet(got, want) {
			t.Errorf("HostLinks = %q", got)
		}

		// A link of the machine's with a declared name is in the way: a
		// conflict, with prune too, and never deleted.
		k.hand(t, "ip link add "+foreign+" type bridge")
		tmpl2 := strings.Replace(tmpl, "      VETH: {master: BR}\n", "      VETH: {master: BR}\n      FOREIGN: {kind: bridge}\n", 1)
		l2 := parseLab(t, labText(name, tmpl2, "BR", br, "TAP", tap, "VETH", veth, "FOREIGN", foreign))
		planned, err := reconcile.Plan(context.Background(), k, l2, reconcile.Options{Prune: true})
		if err != nil {
			t.Fatal(err)
		}
		p := planned.Plan
		if len(p.Conflicts) != 1 || p.Conflicts[0].Name != foreign {
			var b strings.Builder
			p.WriteText(&b)
			t.Errorf("conflicts = %v, want the machine's %s; plan:\n%s", p.Conflicts, foreign, b.String())
		}
		for _, c := range p.Changes {
			if c.Name == foreign && c.Action != plan.Create {
				t.Errorf("plan touches the machine's %s: %s", foreign, c.Line())
			}
		}
		if err := k.LinkDel(context.Background(), state.HostNetNS, foreign); !errors.As(err, new(*kernel.ForeignError)) {
			t.Errorf("LinkDel of an unmarked root link: %v, want ForeignError", err)
		}

		res, err := reconcile.Down(context.Background(), k, name, reconcile.DownOptions{AllowHost: true})
		if err != nil {
			t.Fatal(err)
		}
		deleted := res.HostDeleted
		// The veth's root end goes with c's namespace, but the kernel may
		// not have torn it down yet.
		if !sameSet(deleted, []string{br, tap}) && !sameSet(deleted, []string{br, tap, veth}) {
			t.Errorf("DownHost deleted %q, want %s %s [%s]", deleted, br, tap, veth)
		}
		left, err := k.HostLinks(context.Background(), name)
		if err != nil || len(left) != 0 {
			t.Errorf("after down, the lab's root links are %q (%v)", left, err)
		}
		if err := k.tryHand("ip link set " + foreign + " mtu 1400"); err != nil {
			t.Errorf("the machine's %s is gone: %v", foreign, err)
		}
		if !k.linux {
			return
		}
		if after := rootLinks(t, nil); strings.Join(after, "\n") != strings.Join(before, "\n") {
			t.Errorf("the machine's own links changed:\nbefore %q\nafter  %q", before, after)
		}
	})
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// attachAs attaches to a tun or tap device as an unprivileged program of
// that uid and gid would: from a thread inside the namespace that gives up
// root (credentials are per thread in Linux; the raw syscalls change only
// this one) and asks for the device by name on /dev/net/tun. The
// thread is never unlocked, so the runtime ends it rather than reuse it.
func attachAs(fd netns.NsHandle, uid, gid int, name string) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := netns.Set(fd); err != nil {
			errc <- err
			return
		}
		// /dev/net/tun is 0600 on some machines: open it first, as root.
		// What the owner and group allow is checked by TUNSETIFF, with
		// the credentials of that moment.
		tfd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- err
			return
		}
		defer unix.Close(tfd)
		for _, call := range []struct {
			nr   uintptr
			a, b uintptr
		}{
			{unix.SYS_SETGROUPS, 0, 0},
			{unix.SYS_SETRESGID, uintptr(gid), uintptr(gid)},
			{unix.SYS_SETRESUID, uintptr(uid), uintptr(uid)},
		} {
			c := uintptr(0)
			if call.nr != unix.SYS_SETGROUPS {
				c = call.b
			}
			if _, _, errno := unix.RawSyscall(call.nr, call.a, call.b, c); errno != 0 {
				errc <- fmt.Errorf("drop privileges: %w", errno)
				return
			}
		}
		var req [40]byte
		copy(req[:], name)
		flags := uint16(unix.IFF_TAP | unix.IFF_NO_PI)
		if strings.HasPrefix(name, "tun") {
			flags = unix.IFF_TUN | unix.IFF_NO_PI
		}
		*(*uint16)(unsafe.Pointer(&req[16])) = flags
		if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(tfd), unix.TUNSETIFF, uintptr(unsafe.Pointer(&req[0]))); errno != 0 {
			errc <- fmt.Errorf("TUNSETIFF %s: %w", name, errno)
			return
		}
		errc <- nil
	}()
	return <-errc
}

// hreLab is three hosts on one underlay switch, each with a bridge, a
// container and a vxlan. Each vxlan's remote is one other host, and a
// static flood entry (00:00:00:00:00:00) adds the third: head-end
// replication, so broadcasts (ARP) reach every host.
const hreLab = `name: LAB
nodes:
  u:
    interfaces:
      br0: {kind: bridge}
      p1: {master: br0}
      p2: {master: br0}
      p3: {master: br0}
  h1:
    interfaces:
      under: {addresses: [192.0.2.1/24]}
      br0: {kind: bridge}
      vx0: {kind: vxlan, master: br0, vxlan: {vni: 7, remote: 192.0.2.2, dev: under, fdb: [{mac: '00:00:00:00:00:00', dst: 192.0.2.3}]}}
      p: {master: br0}
  h2:
    interfaces:
      under: {addresses: [192.0.2.2/24]}
      br0: {kind: bridge}
      vx0: {kind: vxlan, master: br0, vxlan: {vni: 7, remote: 192.0.2.1, dev: under, fdb: [{mac: '00:00:00:00:00:00', dst: 192.0.2.3}]}}
      p: {master: br0}
  h3:
    interfaces:
      under: {addresses: [192.0.2.3/24]}
      br0: {kind: bridge}
      vx0: {kind: vxlan, master: br0, vxlan: {vni: 7, remote: 192.0.2.1, dev: under, fdb: [{mac: '00:00:00:00:00:00', dst: 192.0.2.2}]}}
      p: {master: br0}
  c1:
    interfaces:
      eth0: {addresses: [10.61.0.1/24]}
  c2:
    interfaces:
      eth0: {addresses: [10.61.0.2/24]}
  c3:
    interfaces:
      eth0: {addresses: [10.61.0.3/24]}
links:
  - [h1:under, u:p1]
  - [h2:under, u:p2]
  - [h3:under, u:p3]
  - [c1:eth0, h1:p]
  - [c2:eth0, h2:p]
  - [c3:eth0, h3:p]
`

// TestVXLANHeadEndReplication proves that static flood entries reach the
// hosts that are no vxlan's remote: c1 reaches c3 only because h1 floods
// to h3 too, and without that entry it does not.
func TestVXLANHeadEndReplication(t *testing.T) {
	t.Parallel()
	eachKernel(t, func(t *testing.T, k *testKernel) {
		name := kerneltest.LabName(t)
		l := parseLab(t, labText(name, hreLab))
		upLab(t, k, l)
		for _, p := range [][3]string{{"c1", "c2", "10.61.0.2"}, {"c1", "c3", "10.61.0.3"}, {"c3", "c2", "10.61.0.2"}} {
			if k.linux && !reach(t, name, p[0], p[1], p[2], 10*time.Second) {
				t.Errorf("%s does not reach %s across the overlay", p[0], p[1])
			}
		}

		// Without h1's flood entry to h3, and with c1's ARP cache cleared,
		// c1's ARP requests are flooded to h2 only and never reach c3.
		l2 := parseLab(t, labText(name, strings.Replace(hreLab,
			"vxlan: {vni: 7, remote: 192.0.2.2, dev: under, fdb: [{mac: '00:00:00:00:00:00', dst: 192.0.2.3}]}",
			"vxlan: {vni: 7, remote: 192.0.2.2, dev: under}", 1)))
		_, p := planLab(t, k, l2)
		if got := planText(p); !strings.Contains(got, "~ link vx0: fdb [00:00:00:00:00:00 dst 192.0.2.2, 00:00:00:00:00:00 dst 192.0.2.3] -> [00:00:00:00:00:00 dst 192.0.2.2]") {
			t.Fatalf("plan after removing the flood entry:\n%s", got)
		}
		upLab(t, k, l2)
		secondUp(t, k, l2)
		if k.linux {
			ipCmd(t, "-n", state.NetNSName(name, "c1"), "neigh", "flush", "dev", "eth0")
			if reach(t, name, "c1", "c3", "10.61.0.3", 2*time.Second) {
				t.Error("c1 reaches c3 without a flood entry to h3")
			}
		}
	})
}

// TestTunOwnerRoot proves that owner 0 and group 0 are owners like any
// other: an unprivileged program cannot attach to such a tap, while with
// neither set the kernel lets any program that can open /dev/net/tun in
// the namespace attach. netlab observes which of the two a device has.
func TestTunOwnerRoot(t *testing.T) {
	t.Parallel()
	eachKernel(t, func(t *testing.T, k *testKernel) {
		name := kerneltest.LabName(t)
		l := parseLab(t, labText(name, `name: LAB
nodes:
  a:
    interfaces:
      tap0: {kind: tap, tap: {owner: 0, group: 0}}
      tap1: {kind: tap}
`))
		upLab(t, k, l)
		s, err := k.Observe(context.Background(), name, nil)
		if err != nil {
			t.Fatal(err)
		}
		for dev, want := range map[string]string{"tap0": "0/0", "tap1": "(none)/(none)"} {
			tl := s.Nodes["a"].Links[dev]
			if got := state.IDText(tl.TunOwner) + "/" + state.IDText(tl.TunGroup); got != want {
				t.Errorf("observed %s owner/group %s, want %s", dev, got, want)
			}
		}
		// Only the real kernel has devices to attach to.
		var fd netns.NsHandle
		if k.linux {
			fd = openNS(t, state.NetNSName(name, "a"))
			if err := attachAs(fd, 1000, 1000, "tap0"); !errors.Is(err, unix.EPERM) {
				t.Errorf("attach to tap0 (owner 0, group 0) as uid 1000: %v, want EPERM", err)
			}
			if err := attachAs(fd, 1000, 1000, "tap1"); err != nil {
				t.Errorf("attach to tap1 (no owner, no group) as uid 1000: %v, want success", err)
			}
		}
		secondUp(t, k, l)

		// A tap made by hand without an owner in place of tap0 is drift:
		// the owner cannot change in place, so up makes it again.
		ns := state.NetNSName(name, "a")
		k.hand(t,
			"ip -n "+ns+" link del tap0",
			"ip -n "+ns+" tuntap add dev tap0 mode tap",
			"ip -n "+ns+" link set tap0 alias netlab:"+name)
		_, p := planLab(t, k, l)
		if got := planText(p); !strings.Contains(got, "owner (none) -> 0, group (none) -> 0 cannot change in place") {
			t.Fatalf("plan after tap0 was made again without an owner:\n%s", got)
		}
		upLab(t, k, l)
		if k.linux {
			if err := attachAs(fd, 1000, 1000, "tap0"); !errors.Is(err, unix.EPERM) {
				t.Errorf("attach to the repaired tap0 as uid 1000: %v, want EPERM", err)
			}
		}
		secondUp(t, k, l)
	})
}

// vxlan6Lab is vxlanLab over an IPv6 underlay (fd00::/8, private, only
// inside the lab's namespaces).
const vxlan6Lab = `name: LAB
nodes:
  h1:
    interfaces:
      under: {addresses: ["fd00:70::1/64"]}
      br0: {kind: bridge}
      vx0: {kind: vxlan, master: br0, vxlan: {vni: 70, remote: "fd00:70::2", local: "fd00:70::1", dev: under}}
      p1: {master: br0}
  h2:
    interfaces:
      under: {addresses: ["fd00:70::2/64"]}
      br0: {kind: bridge}
      vx0: {kind: vxlan, master: br0, vxlan: {vni: 70, remote: "fd00:70::1", local: "fd00:70::2", dev: under}}
      p1: {master: br0}
  c1:
    interfaces:
      eth0: {addresses: [10.70.0.1/24]}
  c2:
    interfaces:
      eth0: {addresses: [10.70.0.2/24]}
links:
  - [h1:under, h2:under]
  - [c1:eth0, h1:p1]
  - [c2:eth0, h2:p1]
`

// TestVXLANIPv6Underlay: over IPv6 the kernel gives a vxlan its underlay's
// MTU minus 70, not 50; netlab expects that, so up converges at once and a
// second up changes nothing; the bridge has the vxlan's smaller MTU.
func TestVXLANIPv6Underlay(t *testing.T) {
	t.Parallel()
	eachKernel(t, func(t *testing.T, k *testKernel) {
		name := kerneltest.LabName(t)
		l := parseLab(t, labText(name, vxlan6Lab))
		upLab(t, k, l)
		secondUp(t, k, l)
		s, err := k.Observe(context.Background(), name, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, node := range []string{"h1", "h2"} {
			n := s.Nodes[node]
			if got := fmt.Sprintf("vx0 %d br0 %d", n.Links["vx0"].MTU, n.Links["br0"].MTU); got != "vx0 1430 br0 1430" {
				t.Errorf("node %s: MTUs %s, want vx0 1430 br0 1430", node, got)
			}
		}
		if k.linux && !reach(t, name, "c1", "c2", "10.70.0.2", 10*time.Second) {
			t.Fatal("c1 does not reach c2 across the IPv6 overlay")
		}
	})
}

// TestKernelFDBEntryRepaired: the entry the kernel made for a vxlan's
// remote, deleted by hand, breaks the overlay; plan shows it as drift and
// up puts it back, over the vxlan's dev, as the kernel had it.
func TestKernelFDBEntryRepaired(t *testing.T) {
	t.Parallel()
	eachKernel(t, func(t *testing.T, k *testKernel) {
		name := kerneltest.LabName(t)
		l := parseLab(t, labText(name, vxlanLab, "VNI", "44"))
		upLab(t, k, l)
		if k.linux && !reach(t, name, "c1", "c2", "10.60.0.2", 10*time.Second) {
			t.Fatal("c1 does not reach c2 across the overlay")
		}
		h1 := state.NetNSName(name, "h1")
		// The kernel's own entry as bridge(8) shows it, on the real kernel;
		// on the fake, as Observe reads it.
		kernelFDB := func() string {
			if !k.linux {
				return fmt.Sprint(observeAll(t, k, name).Nodes["h1"].Links["vx0"].FDB)
			}
			out, err := exec.Command("bridge", "-n", h1, "fdb", "show", "dev", "vx0").CombinedOutput()
			if err != nil {
				t.Fatalf("bridge fdb show: %v: %s", err, out)
			}
			var lines []string
			for line := range strings.Lines(string(out)) {
				if strings.HasPrefix(line, "00:00:00:00:00:00 ") {
					lines = append(lines, strings.TrimSpace(line))
				}
			}
			return strings.Join(lines, "\n")
		}
		made := kernelFDB()
		if want := "00:00:00:00:00:00 dst 192.0.2.2 via under self permanent"; !k.linux {
			if made != "[00:00:00:00:00:00 dst 192.0.2.2]" {
				t.Fatalf("the kernel's entry: %q", made)
			}
		} else if made != want {
			t.Fatalf("the kernel's entry: %q", made)
		}
		k.hand(t, "bridge -n "+h1+" fdb del 00:00:00:00:00:00 dev vx0 dst 192.0.2.2 via under")
		if got := kernelFDB(); got != "" && got != "[]" {
			t.Fatalf("after bridge fdb del: %q", got)
		}
		if k.linux {
			ipCmd(t, "-n", state.NetNSName(name, "c1"), "neigh", "flush", "dev", "eth0")
			if reach(t, name, "c1", "c2", "10.60.0.2", 2*time.Second) {
				t.Error("c1 reaches c2 without the vxlan's flood entry")
			}
		}
		_, p := planLab(t, k, l)
		got := planText(p)
		if !strings.Contains(got, "~ link vx0: fdb (none) -> [00:00:00:00:00:00 dst 192.0.2.2]") ||
			!strings.Contains(got, "fdb append 00:00:00:00:00:00 dev vx0 dst 192.0.2.2 via under") || !strings.Contains(got, "outside netlab") {
			t.Fatalf("plan after the kernel's fdb entry was deleted by hand:\n%s", got)
		}
		upLab(t, k, l)
		if got := kernelFDB(); got != made {
			t.Errorf("after up, the entry is %q, want %q", got, made)
		}
		secondUp(t, k, l)
		if k.linux && !reach(t, name, "c1", "c2", "10.60.0.2", 10*time.Second) {
			t.Fatal("c1 does not reach c2 after the repair")
		}
	})
}

// TestUndeclaredMTUManaged: an MTU the file does not give is the kind's
// default, and one changed by hand (a veth, a bridge, lo, a vxlan) is
// drift that up repairs; one left from an mtu the file dropped is an edit
// that up makes. Each time a second up changes nothing.
func TestUndeclaredMTUManaged(t *testing.T) {
	t.Parallel()
	eachKernel(t, func(t *testing.T, k *testKernel) {
		name := kerneltest.LabName(t)
		l := parseLab(t, labText(name, vxlanLab, "VNI", "45"))
		upLab(t, k, l)
		h1, c1 := state.NetNSName(name, "h1"), state.NetNSName(name, "c1")
		k.hand(t,
			"ip -n "+c1+" link set dev eth0 mtu 1400",
			"ip -n "+h1+" link set dev br0 mtu 1300",
			"ip -n "+h1+" link set dev vx0 mtu 1200",
			"ip -n "+c1+" link set dev lo mtu 1500")
		_, p := planLab(t, k, l)
		got := planText(p)
		for _, want := range []string{
			"~ link eth0: mtu 1400 -> 1500", "~ link br0: mtu 1300 -> 1450", "~ link vx0: mtu 1200 -> 1450", "~ link lo: mtu 1500 -> 65536",
		} {
			if !strings.Contains(got, want) {
				t.Errorf("plan after MTUs were changed by hand lacks %q:\n%s", want, got)
			}
		}
		if !strings.Contains(got, "outside netlab") {
			t.Errorf("plan does not call the hand changes drift:\n%s", got)
		}
		upLab(t, k, l)
		secondUp(t, k, l)

		// An mtu given and then dropped from the file goes back to 1500.
		jumbo := parseLab(t, strings.Replace(labText(name, vxlanLab, "VNI", "45"), "  - [c1:eth0, h1:p1]\n", "  - {endpoints: [c1:eth0, h1:p1], mtu: 9000}\n", 1))
		upLab(t, k, jumbo)
		secondUp(t, k, jumbo)
		// Planned against the record of the jumbo up, the change is an edit.
		_, p = planSince(t, k, l, plan.Desired(jumbo))
		got = planText(p)
		if !strings.Contains(got, "~ link eth0: mtu 9000 -> 1500") || !strings.Contains(got, "~ link p1: mtu 9000 -> 1500") || strings.Contains(got, "outside netlab") {
			t.Errorf("plan after mtu was dropped from the file:\n%s", got)
		}
		upLab(t, k, l)
		secondUp(t, k, l)
	})
}

func mustObserve(t *testing.T, k kernel.Kernel, l *lab.Lab) *state.State {
	t.Helper()
	s, err := k.Observe(context.Background(), l.Name, plan.Desired(l))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestLowerMTURaised: a macvlan has its parent's MTU; when the file
// raises the parent's, the macvlans on it (one there, one made in the
// same up) follow in one up, since netlab changes the parent first.
func TestLowerMTURaised(t *testing.T) {
	t.Parallel()
	eachKernel(t, func(t *testing.T, k *testKernel) {
		name := kerneltest.LabName(t)
		const text = `name: LAB
nodes:
  h:
    interfaces:
      eth0: {}
  b:
    interfaces:
      mv0: {kind: macvlan, macvlan: {parent: h:eth0}}
  x: {}
links:
  - LINK
`
		l := parseLab(t, labText(name, text, "LINK", "[h:eth0, x:eth0]"))
		upLab(t, k, l)
		secondUp(t, k, l)
		raised := strings.Replace(labText(name, text, "LINK", "{endpoints: [h:eth0, x:eth0], mtu: 9000}"),
			"  x: {}\n", "  x: {}\n  c:\n    interfaces:\n      mv1: {kind: macvlan, macvlan: {parent: h:eth0}}\n", 1)
		l = parseLab(t, raised)
		upLab(t, k, l)
		secondUp(t, k, l)
		s := mustObserve(t, k, l)
		if got := fmt.Sprint(s.Nodes["b"].Links["mv0"].MTU, " ", s.Nodes["c"].Links["mv1"].MTU); got != "9000 9000" {
			t.Errorf("macvlan MTUs %s, want 9000 9000", got)
		}
	})
}

// TestBridgeMTUWithPorts: a bridge's declared MTU holds once its ports
// join, whether they are larger (a tap at 1450, a veth at 1500) or not.
// Set in the message that creates the bridge, the MTU was overridden by
// the kernel with its smallest port's as ports joined, and up ended with
// "the kernel still differs: mtu 1450 -> 1400".
func TestBridgeMTUWithPorts(t *testing.T) {
	t.Parallel()
	eachKernel(t, func(t *testing.T, k *testKernel) {
		name := kerneltest.LabName(t)
		l := parseLab(t, labText(name, `name: LAB
nodes:
  a:
    interfaces:
      br0: {kind: bridge, mtu: 1400}
      tap0: {kind: tap, mtu: 1450, master: br0}
      eth0: {master: br0}
  b: {}
links:
  - [a:eth0, b:eth0]
`))
		upLab(t, k, l)
		s, err := k.Observe(context.Background(), name, plan.Desired(l))
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Nodes["a"].Links["br0"].MTU; got != 1400 {
			t.Errorf("br0 mtu %d, want 1400", got)
		}
	})
}
