package kernel_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/state"
)

// TestLinkSetAttrs makes the same LinkSet calls on the fake and, as root,
// on the real kernel: attributes named by their constants change the
// link; an attribute with no name (the zero LinkAttr, or one past the
// last) fails with errors.ErrUnsupported, names itself in the error, and
// changes nothing.
func TestLinkSetAttrs(t *testing.T) {
	for _, tc := range []struct {
		name string
		k    func(t *testing.T) kernel.Kernel
	}{
		{"fake", func(*testing.T) kernel.Kernel { return kerneltest.NewFake() }},
		{"Linux", func(t *testing.T) kernel.Kernel { kerneltest.RequireRoot(t); return newLinux(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			k := tc.k(t)
			ctx := context.Background()
			name := kerneltest.LabName(t)
			l := parseLab(t, labText(name, `name: LAB
nodes:
  a:
    interfaces:
      br0: {kind: bridge}
      eth0: {}
  b: {}
links:
  - [a:eth0, b:eth0]
`))
			upLab(t, k, l)
			netns := state.NetNSName(name, "a")
			eth0 := func() *state.Link {
				t.Helper()
				s, err := k.Observe(ctx, name, nil)
				if err != nil {
					t.Fatal(err)
				}
				got := s.Nodes["a"].Links["eth0"]
				if got == nil {
					t.Fatal("a:eth0 is gone")
				}
				return got
			}
			want := &state.Link{Name: "eth0", MTU: 1400, Master: "br0", Up: true}
			for _, bad := range []state.LinkAttr{0, state.LinkAttr(len(state.LinkAttrs) + 1)} {
				err := k.LinkSet(ctx, netns, want, []state.LinkAttr{bad, state.AttrMTU, state.AttrMaster})
				if !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "set "+bad.String()) {
					t.Errorf("LinkSet %s: %v, want ErrUnsupported naming it", bad, err)
				}
				if got := eth0(); got.MTU == 1400 || got.Master != "" {
					t.Errorf("LinkSet %s failed but changed eth0: mtu %d, master %q", bad, got.MTU, got.Master)
				}
			}
			if err := k.LinkSet(ctx, netns, want, []state.LinkAttr{state.AttrMTU, state.AttrMaster}); err != nil {
				t.Fatal(err)
			}
			if got := eth0(); got.MTU != 1400 || got.Master != "br0" {
				t.Errorf("after LinkSet mtu, master: mtu %d, master %q, want 1400, br0", got.MTU, got.Master)
			}
		})
	}
}
