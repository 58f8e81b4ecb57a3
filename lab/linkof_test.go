package lab_test

import (
	"testing"

	"netlab/lab"
)

// TestLinkOfIndexed: a lab's index answers as the scan does (the first
// link of an end), and a lab changed after indexing, or never indexed,
// is scanned.
func TestLinkOfIndexed(t *testing.T) {
	ab := &lab.Link{Ends: [2]lab.LinkEnd{{Node: "a", IfName: "eth0"}, {Node: "b", IfName: "eth0"}}}
	again := &lab.Link{Ends: [2]lab.LinkEnd{{Node: "a", IfName: "eth0"}, {Node: "c", IfName: "eth0"}}}
	l := &lab.Lab{Links: []*lab.Link{ab, again}}
	for _, indexed := range []bool{false, true} {
		if indexed {
			l.IndexLinks()
		}
		if got := l.LinkOf("a", "eth0"); got != ab {
			t.Errorf("indexed %v: LinkOf(a, eth0) = %v, want the first link", indexed, got)
		}
		if got := l.LinkOf("c", "eth0"); got != again {
			t.Errorf("indexed %v: LinkOf(c, eth0) = %v", indexed, got)
		}
		if got := l.LinkOf("b", "eth1"); got != nil {
			t.Errorf("indexed %v: LinkOf(b, eth1) = %v, want nil", indexed, got)
		}
	}
	cd := &lab.Link{Ends: [2]lab.LinkEnd{{Node: "c", IfName: "eth1"}, {Node: "d", IfName: "eth0"}}}
	l.Links = append(l.Links, cd)
	if got := l.LinkOf("d", "eth0"); got != cd {
		t.Errorf("a link added after the index: LinkOf(d, eth0) = %v", got)
	}
}
