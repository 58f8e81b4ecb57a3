package reconcile

import (
	"netlab/lab/apply"
	"netlab/lab/rundir"
	"netlab/lab/state"
)

// NameRules gives the rules of observed, lab's state, their text: the kernel knows
// netlab's rules by tag only, so it comes from the last up's record (in
// dir, if set) and then from desired (the lab file's, or nil). Annotated
// rules keep their tags, which is all a diff compares. It returns the
// record it read, or nil, for a caller that diffs next (Diff).
func NameRules(observed *state.State, lab string, dir *rundir.Dir, desired *state.State) (record *state.State) {
	if dir != nil {
		record = apply.LoadRecord(*dir, lab)
	}
	state.AnnotateRules(observed, record)
	state.AnnotateRules(observed, desired)
	return record
}
