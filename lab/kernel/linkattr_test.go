package kernel_test

import (
	"reflect"
	"testing"

	"netlab/lab/kernel"
)

// TestLinkSetTakesLinkAttrs: the attributes LinkSet changes are
// state.LinkAttr constants, not strings, so that a misspelt one in the
// planner, apply, the real kernel or the fake does not compile.
func TestLinkSetTakesLinkAttrs(t *testing.T) {
	m, ok := reflect.TypeFor[kernel.Kernel]().MethodByName("LinkSet")
	if !ok {
		t.Fatal("kernel.Kernel has no LinkSet")
	}
	// Named by path, not state.LinkAttr, so that the test builds (and
	// fails) where the attributes were strings.
	last := m.Type.In(m.Type.NumIn() - 1)
	if last.Kind() != reflect.Slice || last.Elem().PkgPath() != "netlab/lab/state" || last.Elem().Name() != "LinkAttr" {
		t.Fatalf("LinkSet takes its attributes as %v, want []state.LinkAttr", last)
	}
	if last.Elem().Kind() == reflect.String {
		t.Errorf("state.LinkAttr is a string type: an untyped literal would still compile")
	}
}
