package plan_test

import (
	"bytes"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"netlab/lab/plan"
	"netlab/lab/state"
)

// TestTextShowsEveryCommand: the plan as people read it shows every
// command up runs, in order, each under its change: two fdb entries that
// go are two commands, and the plan printed only the first.
func TestTextShowsEveryCommand(t *testing.T) {
	// built models namespace nodes only: leave the host node out.
	text := strings.Replace(deviceLab, "  h:\n    host: true\n    interfaces:\n      hbr0: {kind: bridge}\n", "", 1)
	text = strings.Replace(text, "      mv2: {kind: macvlan, macvlan: {parent: h:hbr0, mode: private}}\n", "", 1)
	want := desired(t, text)
	o := built(want)
	vx := o.Nodes["a"].Links["vx0"]
	vx.FDB = append(vx.FDB,
		state.FDBEntry{MAC: "02:00:00:00:00:08", Dst: netip.MustParseAddr("192.0.2.8")},
		state.FDBEntry{MAC: "02:00:00:00:00:09", Dst: netip.MustParseAddr("192.0.2.9")})
	o.Nodes["b"].Links["eth0"].MTU = 1500 // a veth pair's update runs on both ends
	for _, p := range []*plan.Plan{plan.Diff(want, nil, plan.Options{}), plan.Diff(want, o, plan.Options{})} {
		var b bytes.Buffer
		p.WriteText(&b)
		lines := strings.Split(b.String(), "\n")
		if p.Empty() {
			t.Fatal("the plan is empty")
		}
		// Each change's commands stand one a line, in order, from the
		// line of the change on.
		for _, c := range p.Changes {
			if c.Action == plan.Create && c.Replacing() {
				continue // printed as its Replace half
			}
			cmds := c.Cmds()
			at := slices.IndexFunc(lines, func(l string) bool {
				return strings.Contains(l, c.Describe()) && strings.HasSuffix(l, "# "+firstLine(cmds[0]))
			})
			if at < 0 {
				t.Errorf("the plan does not show %s with %q:\n%s", c.Describe(), cmds[0], b.String())
				continue
			}
			for i, cmd := range cmds {
				if at+i >= len(lines) || !strings.HasSuffix(lines[at+i], "  # "+firstLine(cmd)) {
					t.Errorf("command %d of %s, %q, is not on line %d of the plan:\n%s", i+1, c.Describe(), cmd, at+i+1, b.String())
				}
			}
		}
	}
	// The case that was missed: both deletes are in the plan.
	var b bytes.Buffer
	plan.Diff(want, o, plan.Options{}).WriteText(&b)
	for _, mac := range []string{"02:00:00:00:00:08", "02:00:00:00:00:09"} {
		if !strings.Contains(b.String(), "fdb del "+mac+" dev vx0") {
			t.Errorf("the plan does not show the delete of fdb entry %s:\n%s", mac, b.String())
		}
	}
}

// firstLine is what the plan shows of a command: an nft script's first
// line.
func firstLine(cmd string) string {
	first, _, _ := strings.Cut(cmd, "\n")
	return first
}
