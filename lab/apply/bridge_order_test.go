package apply_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"netlab/lab/device"
	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/plan"
	"netlab/lab/reconcile"
	"netlab/lab/state"
)

// orderKernel records, in order, the links made and the links brought up.
type orderKernel struct {
	*kerneltest.Fake
	log []string
}

func (k *orderKernel) LinkAdd(ctx context.Context, netns string, l *state.Link, peerNS string, peer *state.Link) error {
	k.log = append(k.log, fmt.Sprintf("add %s up=%v master=%s", l.Name, l.Up, l.Master))
	return k.Fake.LinkAdd(ctx, netns, l, peerNS, peer)
}

func (k *orderKernel) LinkSet(ctx context.Context, netns string, l *state.Link, attrs []state.LinkAttr) error {
	k.log = append(k.log, fmt.Sprintf("set %s %v up=%v", l.Name, attrs, l.Up))
	return k.Fake.LinkSet(ctx, netns, l, attrs)
}

var _ kernel.Kernel = (*orderKernel)(nil)

// TestBridgeUpAfterItsPorts: up makes a new bridge down, enslaves every
// port to it, and only then brings it up (the kernel's work for each port
// of an up bridge grows with its ports: 1000 ports took 8 s of up, 4 s so);
// the lab ends the same, the bridge up, and a second up changes nothing.
func TestBridgeUpAfterItsPorts(t *testing.T) {
	l := mustLab(t, "star", starLab("star", 5, 0))
	k := &orderKernel{Fake: kerneltest.NewFake()}
	upFake(t, k, l, plan.Options{})
	made := slices.Index(k.log, "add br0 up=false master=")
	up := slices.Index(k.log, fmt.Sprintf("set br0 %v up=true", []state.LinkAttr{state.AttrUp}))
	if made < 0 || up < 0 {
		t.Fatalf("br0 was not made down and brought up later:\n%v", k.log)
	}
	ports := 0
	for i, e := range k.log {
		var name string
		if _, err := fmt.Sscanf(e, "add %s", &name); err != nil || name == "br0" {
			continue
		}
		ports++
		if i < made || i > up {
			t.Errorf("%q at %d: not between br0's creation (%d) and its bring-up (%d)", e, i, made, up)
		}
	}
	if ports != 5 {
		t.Errorf("%d veth pairs made, want 5:\n%v", ports, k.log)
	}
	observed, err := k.Observe(context.Background(), l.Name, nil)
	if err != nil {
		t.Fatal(err)
	}
	if br := observed.Nodes["host"].Links["br0"]; br == nil || br.Kind != device.Bridge || !br.Up {
		t.Errorf("after up, br0 is %+v, want an up bridge", br)
	}
	if p := planFake(t, k, l, reconcile.Options{}); !p.Empty() {
		t.Errorf("a second up would change:\n%s", p.Summary())
	}
}
