package plan

import (
	"net/netip"
	"slices"
	"testing"

	"netlab/lab/state"
)

// TestKnockOnsAreTheirOwnStep checks that the diff plans only what
// differs, and that the knock-on step alone adds what the kernel undoes
// along with it: here the route through a bridge set down, which the
// kernel flushes though the diff found it in place.
func TestKnockOnsAreTheirOwnStep(t *testing.T) {
	route := state.Route{To: netip.MustParsePrefix("10.1.0.0/16"), Via: netip.MustParseAddr("10.0.0.2"), Dev: "br0", Owned: true}
	states := func(up bool) *state.State {
		s := state.New("ko")
		n := state.NewNode("a", state.NetNSName("ko", "a"))
		n.Links["br0"] = &state.Link{Name: "br0", Kind: "bridge", Up: up, Owned: true, Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/24")}}
		n.Routes = []state.Route{route}
		s.Nodes["a"] = n
		return s
	}
	desired, observed := states(false), states(true)
	d := &differ{desired: desired, observed: observed, plan: &Plan{Lab: "ko"}}

	d.diff()
	if len(d.changes) != 1 || d.changes[0].Object != Link || d.changes[0].Action != Update {
		t.Fatalf("diff: got %v, want only the update of br0", lines(d.changes))
	}
	setDown := d.changes[0]

	causes := d.knockOns()
	if len(d.changes) != 2 {
		t.Fatalf("knock-ons: got %v, want the update and the route again", lines(d.changes))
	}
	again := d.changes[1]
	if again.Object != Route || again.Action != Create || again.Route != route {
		t.Errorf("knock-on: got %s, want the route through br0 created again", again.Describe())
	}
	if causes[again] != setDown {
		t.Errorf("knock-on's cause: got %v, want the update of br0", causes[again])
	}

	// Diff is the same steps, ordered.
	p := Diff(desired, observed, Options{})
	if got, want := lines(p.Changes), []string{"~ link br0: up true -> false", "+ route 10.1.0.0/16 via 10.0.0.2 dev br0"}; !slices.Equal(got, want) {
		t.Errorf("Diff: got %q, want %q", got, want)
	}
}

func lines(cs []*Change) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Action.Symbol() + " " + c.Describe()
	}
	return out
}
