package kerneltest_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/state"
)

// TestStopAtNetNSAdd stops a NetNSAdd after its first message: the
// namespace is then a stub, listed as one, not observed, and written in
// the transcript; the next NetNSAdd makes the namespace over it, and
// NetNSDel removes a stub.
func TestStopAtNetNSAdd(t *testing.T) {
	k := kerneltest.NewFake()
	k.StopAt("NetNSAdd", 1, 1)
	if err := k.NetNSAdd(ctx, "t", "a"); !errors.Is(err, kerneltest.ErrStopped) {
		t.Fatalf("NetNSAdd = %v, want ErrStopped", err)
	}
	if _, err := k.NetNSList(ctx, "t"); !errors.Is(err, kerneltest.ErrStopped) {
		t.Errorf("a call after the stop = %v, want ErrStopped", err)
	}
	k.Restart()
	list, err := k.NetNSList(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]kernel.NetNSInfo{{Name: "t.a", Node: "a", Stub: true}}, list); diff != "" {
		t.Errorf("NetNSList after the stop (-want +got):\n%s", diff)
	}
	if n := len(observe(t, k, "t", nil).Nodes); n != 0 {
		t.Errorf("Observe shows %d nodes, want none: a stub is not a namespace", n)
	}
	if got, want := k.String(), "touch "+kernel.NetNSDir+"/t.a\n"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	again := kerneltest.NewFake()
	again.MustSeed(t, k.String())
	if got := again.String(); got != k.String() {
		t.Errorf("the transcript seeded reads back as %q, want %q", got, k.String())
	}
	if err := k.NetNSAdd(ctx, "t", "a"); err != nil {
		t.Fatalf("NetNSAdd over the stub: %v", err)
	}
	if got, want := k.String(), "ip -n t.a link set lo alias netlab:t:a up\nip netns add t.a\nip netns exec t.a sysctl -qw net.ipv6.conf.default.accept_dad=0\n"; got != want {
		t.Errorf("String() after NetNSAdd over the stub = %q, want %q", got, want)
	}
	if err := again.NetNSDel(ctx, "t.a"); err != nil || again.String() != "" {
		t.Errorf("NetNSDel of a stub = %v, leaving %q", err, again.String())
	}
}

// TestStopAtLinkAdd stops a LinkAdd after each of its messages: the link
// is under its temporary name, unmarked, until the second (create, mark,
// rename, master, up). The transcript is sorted: "link set" before
// "tuntap add".
func TestStopAtLinkAdd(t *testing.T) {
	want := [][]string{
		{"ip -n t.a link set nlnew0000000002 alias ''", "ip -n t.a tuntap add dev nlnew0000000002 mode tap"},
		{"ip -n t.a link set nlnew0000000002 alias netlab:t", "ip -n t.a tuntap add dev nlnew0000000002 mode tap"},
		{"ip -n t.a link set p1 alias netlab:t", "ip -n t.a tuntap add dev p1 mode tap"},
		{"ip -n t.a link set p1 alias netlab:t master br0", "ip -n t.a tuntap add dev p1 mode tap"},
		{"ip -n t.a link set p1 alias netlab:t master br0 up", "ip -n t.a tuntap add dev p1 mode tap"},
	}
	for step, want := range want {
		k := kerneltest.NewFake()
		if err := k.NetNSAdd(ctx, "t", "a"); err != nil {
			t.Fatal(err)
		}
		br := &state.Link{Name: "br0", Kind: "bridge", Alias: "netlab:t"}
		if err := k.LinkAdd(ctx, "t.a", br, "", nil); err != nil {
			t.Fatal(err)
		}
		port := &state.Link{Name: "p1", Kind: "tap", Alias: "netlab:t", Master: "br0", Up: true}
		k.StopAt("LinkAdd", 1, step+1)
		err := k.LinkAdd(ctx, "t.a", port, "", nil)
		if !k.Stopped() || !errors.Is(err, kerneltest.ErrStopped) {
			t.Fatalf("step %d: LinkAdd = %v, want it stopped", step+1, err)
		}
		k.Restart()
		var got []string
		for line := range strings.Lines(k.String()) {
			if strings.Contains(line, "p1") || strings.Contains(line, "nlnew") {
				got = append(got, strings.TrimSuffix(line, "\n"))
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("after message %d (-want +got):\n%s", step+1, diff)
		}
	}
	// A call of fewer messages than the stop's step is made whole.
	k := kerneltest.NewFake()
	if err := k.NetNSAdd(ctx, "t", "a"); err != nil {
		t.Fatal(err)
	}
	k.StopAt("LinkAdd", 1, 2)
	if err := k.LinkAdd(ctx, "t.a", &state.Link{Name: "b1", Kind: "bridge", Alias: "netlab:t"}, "", nil); !errors.Is(err, kerneltest.ErrStopped) {
		t.Errorf("LinkAdd of a bridge stopped after its second message = %v, want ErrStopped", err)
	}
	k.Restart()
	k.StopAt("LinkAdd", 1, 4)
	if err := k.LinkAdd(ctx, "t.a", &state.Link{Name: "b2", Kind: "bridge", Alias: "netlab:t"}, "", nil); err != nil || k.Stopped() {
		t.Errorf("LinkAdd of a bridge, down, without master (3 messages) with a stop after the fourth = %v, stopped %v; want it whole", err, k.Stopped())
	}
}

// TestCancelBetweenMessages cancels a LinkAdd's ctx once the link is
// made: the rest is not sent in a lab's namespace, and is in the
// machine's, as kernel.Linux does.
func TestCancelBetweenMessages(t *testing.T) {
	for _, netns := range []string{"t.a", state.HostNetNS} {
		k := kerneltest.NewFake()
		if err := k.NetNSAdd(ctx, "t", "a"); err != nil {
			t.Fatal(err)
		}
		c := &cancelAfter{Context: context.Background(), n: 2} // begin, create
		err := k.LinkAdd(c, netns, &state.Link{Name: "br0", Kind: "bridge", Alias: "netlab:t", Up: true}, "", nil)
		links, lerr := k.HostLinks(ctx, "t")
		if lerr != nil {
			t.Fatal(lerr)
		}
		s := k.String()
		switch netns {
		case state.HostNetNS:
			if err != nil || len(links) != 1 || links[0] != "br0" {
				t.Errorf("in the machine's namespace: LinkAdd = %v, host links %v; want it finished", err, links)
			}
		default:
			if !errors.Is(err, context.Canceled) || !strings.Contains(s, "link set nlnew") {
				t.Errorf("in a lab's namespace: LinkAdd = %v, transcript\n%s\nwant context.Canceled and the link left under its temporary name", err, s)
			}
		}
	}
}

// cancelAfter is a context that is cancelled from the n+1-th time it is
// asked.
type cancelAfter struct {
	context.Context
	n int
}

func (c *cancelAfter) Err() error {
	if c.n == 0 {
		return context.Canceled
	}
	c.n--
	return nil
}
