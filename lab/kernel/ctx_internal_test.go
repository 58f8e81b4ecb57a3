package kernel

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"testing"

	"netlab/lab/state"
)

// TestCancelledContextTouchesNothing calls every method of the Kernel
// interface with a context already cancelled: each returns the context's
// error at once, having opened no namespace and made none, so a cancelled
// up sends the kernel nothing more. It needs no root: nothing reaches the
// kernel.
func TestCancelledContextTouchesNothing(t *testing.T) {
	t.Parallel()
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	lab := fmt.Sprintf("nltest%x", b[:3])
	netns := state.NetNSName(lab, "a")
	path, err := NewLinux().netnsPath(netns)
	if err != nil {
		t.Fatal(err)
	}
	// Were a method to make the namespace regardless, it must not outlive
	// the test.
	t.Cleanup(func() {
		if _, err := os.Lstat(path); err == nil {
			t.Errorf("a cancelled call made %s", path)
			NewLinux().deleteNetNS(netns)
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	k := NewLinux()
	defer k.Close()
	link := &state.Link{Name: "eth0", Kind: "veth", Alias: state.LinkMarker(lab, "eth0")}
	peer := &state.Link{Name: "eth1", Kind: "veth", Alias: state.LinkMarker(lab, "eth1")}
	p := netip.MustParsePrefix("10.9.0.1/24")
	r := state.Route{To: netip.MustParsePrefix("10.9.9.0/24"), Via: netip.MustParseAddr("10.9.0.2")}
	want := state.New(lab)
	want.Nodes["h"] = &state.Node{Name: "h", NetNS: state.HostNetNS, Host: true, Links: map[string]*state.Link{}}
	calls := map[string]func() error{
		"Observe":      func() error { _, err := k.Observe(ctx, lab, want); return err },
		"NetNSList":    func() error { _, err := k.NetNSList(ctx, lab); return err },
		"Labs":         func() error { _, err := k.Labs(ctx); return err },
		"HostLinks":    func() error { _, err := k.HostLinks(ctx, lab); return err },
		"NetNSAdd":     func() error { return k.NetNSAdd(ctx, lab, "a") },
		"NetNSDel":     func() error { return k.NetNSDel(ctx, netns) },
		"LinkAdd":      func() error { return k.LinkAdd(ctx, netns, link, netns, peer) },
		"LinkDel":      func() error { return k.LinkDel(ctx, netns, "eth0") },
		"LinkSet":      func() error { return k.LinkSet(ctx, netns, link, []state.LinkAttr{state.AttrMTU, state.AttrUp}) },
		"AddrAdd":      func() error { return k.AddrAdd(ctx, netns, "eth0", p) },
		"AddrDel":      func() error { return k.AddrDel(ctx, netns, "eth0", p) },
		"RouteReplace": func() error { return k.RouteReplace(ctx, netns, r) },
		"RouteDel":     func() error { return k.RouteDel(ctx, netns, r) },
		"SysctlSet":    func() error { return k.SysctlSet(ctx, netns, "net.ipv4.ip_forward", "1") },
		"SysctlProblems": func() error {
			_, err := k.SysctlProblems(ctx, "", []string{"net.ipv4.ip_forward"})
			return err
		},
		"SysctlTry": func() error {
			_, err := k.SysctlTry(ctx, []SysctlWrite{{Key: "net.ipv4.ip_forward", Value: "1"}})
			return err
		},
		"NFTableSet": func() error { return k.NFTableSet(ctx, netns, &state.NFTable{}) },
		"Conntrack": func() error {
			_, err := k.Conntrack(ctx, netns)
			return err
		},
		"ConntrackFlush": func() error { return k.ConntrackFlush(ctx, netns) },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context = %v, want %v", name, err, context.Canceled)
		}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for name := range k.conns {
		t.Errorf("a cancelled call opened namespace %s", name)
	}
}
