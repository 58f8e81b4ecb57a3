package plan_test

import (
	"slices"
	"testing"

	"netlab/lab/plan"
	"netlab/lab/state"
)

// TestLinkUpdateAttrs: a link update names each attribute by its
// state.LinkAttr, which is what apply hands LinkSet (Change.LinkAttrs),
// and prints it by the same name as before the attributes were typed.
func TestLinkUpdateAttrs(t *testing.T) {
	d := desired(t, `name: t
nodes:
  a:
    interfaces:
      br0: {kind: bridge}
      eth0: {master: br0, mtu: 9000}
      vx0: {kind: vxlan, vxlan: {vni: 42, remote: 192.0.2.9, fdb: [{mac: "02:00:00:00:00:01", dst: 192.0.2.7}]}}
  b: {}
links:
  - [a:eth0, b:eth0]
`)
	o := built(d)
	eth0 := o.Nodes["a"].Links["eth0"]
	eth0.MTU, eth0.Master, eth0.Up = 1500, "", false
	vx0 := o.Nodes["a"].Links["vx0"]
	vx0.FDB = vx0.FDB[:len(vx0.FDB)-1]

	p := plan.Diff(d, o, plan.Options{})
	got := map[string]*plan.Change{}
	for _, c := range p.Changes {
		if c.Object == plan.Link && c.Action == plan.Update {
			got[c.Node+":"+c.Name] = c
		}
	}
	for _, tc := range []struct {
		link  string
		attrs []state.LinkAttr
		text  string
	}{
		{"a:eth0", []state.LinkAttr{state.AttrMaster, state.AttrMTU, state.AttrUp}, "~ a: link eth0: master (none) -> br0, mtu 1500 -> 9000, up false -> true"},
		{"a:vx0", []state.LinkAttr{state.AttrFDB}, ""},
	} {
		c := got[tc.link]
		if c == nil {
			t.Errorf("no update of %s among %q", tc.link, changeLines(p.Changes))
			continue
		}
		if !slices.Equal(c.LinkAttrs(), tc.attrs) {
			t.Errorf("%s: LinkAttrs = %v, want %v", tc.link, c.LinkAttrs(), tc.attrs)
		}
		for _, a := range c.Attrs {
			if a.Name != "" || a.Attr() != a.Link.String() {
				t.Errorf("%s: attribute %+v: want only Link set, printed by its name", tc.link, a)
			}
		}
		if tc.text != "" && !slices.Contains(changeLines(p.Changes), tc.text) {
			t.Errorf("plan lacks %q:\n%q", tc.text, changeLines(p.Changes))
		}
	}
}

// TestLinkAttrsOfOtherObjects: only a link's attributes go to LinkSet; a
// route's are text.
func TestLinkAttrsOfOtherObjects(t *testing.T) {
	c := &plan.Change{Action: plan.Update, Object: plan.Route, Attrs: []plan.AttrChange{{Name: "via", Old: "10.0.0.1", New: "10.0.0.3"}}}
	if attrs := c.LinkAttrs(); len(attrs) != 0 {
		t.Errorf("a route update's LinkAttrs = %v, want none", attrs)
	}
	if s := c.Attrs[0].String(); s != "via 10.0.0.1 -> 10.0.0.3" {
		t.Errorf("route attribute prints %q", s)
	}
}
