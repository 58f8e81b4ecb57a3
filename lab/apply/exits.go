package apply

import (
	"fmt"
	"slices"
	"strings"

	"netlab/lab/name"
	"netlab/lab/rundir"
	"netlab/lab/state"
)

// The exits record keeps, per declared process, the last end netlab saw
// (only up, while it waits for the processes it started, can see one):
// its status and time. Like the last-applied record it only says more;
// no decision depends on it.

// LoadExits returns the ends a lab's ups saw, or nil if there are none or
// the record cannot be read.
func LoadExits(dir rundir.Dir, lab string) []state.Exit {
	var exits []state.Exit
	if !loadJSON(dir, lab, rundir.Exits, &exits) {
		return nil
	}
	return exits
}

// UpdateExits keeps the record in line with an up: the ends of the
// processes it started again are forgotten (they run anew), and the ends
// it saw are kept. An empty record is removed. The caller holds the lab's
// lock.
func UpdateExits(dir rundir.Dir, lab string, restarted []Started, seen []state.Exit) error {
	if _, err := name.Parse("lab", lab); err != nil {
		return fmt.Errorf("keep the exits record: %w", err)
	}
	old := LoadExits(dir, lab)
	exits := slices.DeleteFunc(slices.Clone(old), func(e state.Exit) bool {
		return slices.ContainsFunc(restarted, func(s Started) bool { return s.Node == e.Node && s.Proc.Name == e.Name }) ||
			slices.ContainsFunc(seen, func(s state.Exit) bool { return s.Node == e.Node && s.Name == e.Name })
	})
	exits = append(exits, seen...)
	if len(exits) == 0 {
		if len(old) == 0 {
			return nil
		}
		return removeJSON(dir, lab, rundir.Exits, "keep the exits record")
	}
	slices.SortFunc(exits, func(a, b state.Exit) int {
		if a.Node != b.Node {
			return strings.Compare(a.Node, b.Node)
		}
		return strings.Compare(a.Name, b.Name)
	})
	return saveJSON(dir, lab, rundir.Exits, exits, "keep the exits record")
}

// DeleteExits removes a lab's exits record, after down. The caller holds
// the lab's lock.
func DeleteExits(dir rundir.Dir, lab string) error {
	return removeJSON(dir, lab, rundir.Exits, "remove the exits record")
}
