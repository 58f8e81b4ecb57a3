package state

import (
	"strings"
	"testing"
)

// TestLinkAttrNames pins the names of the link attributes: the plan text
// and LinkSet's errors print them, as they printed the strings the
// attributes were before they were typed.
func TestLinkAttrNames(t *testing.T) {
	want := []string{"master", "mtu", "mac", "stp", "source-macs", "fdb", "up", "alias", "port", "neighbors", "egress"}
	if len(LinkAttrs) != len(want) {
		t.Fatalf("%d attributes, want %d", len(LinkAttrs), len(want))
	}
	for i, a := range LinkAttrs {
		if a == 0 {
			t.Errorf("LinkAttrs[%d] is the zero LinkAttr, which names nothing", i)
		}
		if a.String() != want[i] {
			t.Errorf("LinkAttrs[%d] = %q, want %q", i, a, want[i])
		}
	}
	for _, a := range []LinkAttr{0, LinkAttr(len(LinkAttrs) + 1)} {
		if got := a.String(); !strings.HasPrefix(got, "LinkAttr(") {
			t.Errorf("LinkAttr(%d) prints %q, want it marked as no attribute", uint8(a), got)
		}
	}
}
