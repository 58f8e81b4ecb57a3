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
			l.Index()
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

// TestNodeAndInterfaceIndexed: Node and Interface answer from the index
// as the scan does (the first of a name), and a node or interface added
// after indexing is found by a scan.
func TestNodeAndInterfaceIndexed(t *testing.T) {
	eth0 := &lab.Interface{Name: "eth0"}
	a := &lab.Node{Name: "a", Interfaces: []*lab.Interface{eth0, {Name: "eth0"}}}
	l := &lab.Lab{Nodes: []*lab.Node{a, {Name: "a"}}}
	for _, indexed := range []bool{false, true} {
		if indexed {
			l.Index()
		}
		if got := l.Node("a"); got != a {
			t.Errorf("indexed %v: Node(a) = %p, want the first node a %p", indexed, got, a)
		}
		if got := l.Node("zz"); got != nil {
			t.Errorf("indexed %v: Node(zz) = %v, want nil", indexed, got)
		}
		if got := a.Interface("eth0"); got != eth0 {
			t.Errorf("indexed %v: Interface(eth0) = %p, want the first %p", indexed, got, eth0)
		}
		if got := a.Interface("eth9"); got != nil {
			t.Errorf("indexed %v: Interface(eth9) = %v, want nil", indexed, got)
		}
	}
	b := &lab.Node{Name: "b"}
	l.Nodes = append(l.Nodes, b)
	if got := l.Node("b"); got != b {
		t.Errorf("a node added after the index: Node(b) = %v", got)
	}
	eth1 := &lab.Interface{Name: "eth1"}
	a.Interfaces = append(a.Interfaces, eth1)
	if got := a.Interface("eth1"); got != eth1 {
		t.Errorf("an interface added after the index: Interface(eth1) = %v", got)
	}
}

// TestAddInterfaceKeepsTheIndex: an interface added through AddInterface
// is found by the index, the first of a name still wins, and one
// appended by hand makes the node scanned again.
func TestAddInterfaceKeepsTheIndex(t *testing.T) {
	eth0 := &lab.Interface{Name: "eth0"}
	n := &lab.Node{Name: "a", Interfaces: []*lab.Interface{eth0}}
	l := &lab.Lab{Nodes: []*lab.Node{n}}
	l.Index()
	eth1 := &lab.Interface{Name: "eth1"}
	n.AddInterface(eth1)
	n.AddInterface(&lab.Interface{Name: "eth0"})
	if got := n.Interface("eth1"); got != eth1 {
		t.Errorf("Interface(eth1) = %v after AddInterface", got)
	}
	if got := n.Interface("eth0"); got != eth0 {
		t.Errorf("Interface(eth0) = %p, want the first %p", got, eth0)
	}
	eth2 := &lab.Interface{Name: "eth2"}
	n.Interfaces = append(n.Interfaces, eth2)
	if got := n.Interface("eth2"); got != eth2 {
		t.Errorf("an interface appended by hand: Interface(eth2) = %v", got)
	}
}
