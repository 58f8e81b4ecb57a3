package kernel

import (
	"fmt"
	"testing"

	"netlab/lab/state"
)

func u32(v uint32) *uint32 { return &v }

// tap is a tap0 of an owner and group (nil for none).
func tap(owner, group *uint32) *state.Link {
	l := &state.Link{Name: "tap0"}
	l.TunOwner, l.TunGroup = owner, group
	return l
}

// ids shows a tun's owner and group, nil as "-".
func ids(l *state.Link) string {
	show := func(p *uint32) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprint(*p)
	}
	return show(l.TunOwner) + "/" + show(l.TunGroup)
}

// TestIDMapInside: a rootless netlab's kernel gets the user's own uid
// and gid as 0, the ids the user is in its namespace; any other id, and
// none, stays; the lab's link is not changed.
func TestIDMapInside(t *testing.T) {
	t.Parallel()
	m := idMap{set: true, uid: 1000, gid: 1001}
	cases := []struct {
		in   *state.Link
		want string
	}{
		{tap(u32(1000), u32(1001)), "0/0"},
		{tap(u32(1000), nil), "0/-"},
		{tap(nil, u32(1001)), "-/0"},
		{tap(u32(1001), u32(1000)), "1001/1000"}, // the uid is no gid
		{tap(u32(2000), u32(0)), "2000/0"},
		{tap(nil, nil), "-/-"},
	}
	for _, tc := range cases {
		before := ids(tc.in)
		got := m.inside(tc.in)
		if ids(got) != tc.want || got.Name != tc.in.Name {
			t.Errorf("inside(%s) = %s %s, want %s", before, got.Name, ids(got), tc.want)
		}
		if ids(tc.in) != before {
			t.Errorf("inside changed its argument from %s to %s", before, ids(tc.in))
		}
	}
	for _, l := range []*state.Link{tap(u32(1000), u32(1001)), tap(u32(0), nil), tap(nil, nil)} {
		before := ids(l)
		if got := (idMap{}).inside(l); got != l || ids(l) != before {
			t.Errorf("the zero idMap's inside(%s) = %s, want it unchanged", before, ids(got))
		}
	}
}

// TestIDMapOutside: what the kernel says is 0 is the user's uid and gid
// outside; other ids stay; the zero idMap changes nothing; and a link
// the user owns comes back as the lab gave it.
func TestIDMapOutside(t *testing.T) {
	t.Parallel()
	m := idMap{set: true, uid: 1000, gid: 1001}
	read := func() map[int]*state.Link {
		return map[int]*state.Link{
			1: tap(u32(0), u32(0)),
			2: tap(u32(7), u32(65534)),
			3: tap(nil, nil),
			4: tap(nil, u32(0)),
		}
	}
	want := map[int]string{1: "1000/1001", 2: "7/65534", 3: "-/-", 4: "-/1001"}
	links := read()
	m.outside(links)
	for i, w := range want {
		if got := ids(links[i]); got != w {
			t.Errorf("outside: link %d is %s, want %s", i, got, w)
		}
	}
	zero := read()
	(idMap{}).outside(zero)
	for i, l := range read() {
		if ids(zero[i]) != ids(l) {
			t.Errorf("the zero idMap's outside: link %d is %s, want %s", i, ids(zero[i]), ids(l))
		}
	}
	lab := tap(u32(1000), u32(1001))
	back := map[int]*state.Link{1: m.inside(lab)}
	m.outside(back)
	if ids(back[1]) != ids(lab) {
		t.Errorf("inside then outside: %s, want %s", ids(back[1]), ids(lab))
	}
	if NewLinux(WithOutsideIDs(1000, 1001)).ids != m {
		t.Errorf("WithOutsideIDs(1000, 1001) = %+v, want %+v", NewLinux(WithOutsideIDs(1000, 1001)).ids, m)
	}
}
