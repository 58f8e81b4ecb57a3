package apply

import (
	"encoding/json"
	"fmt"

	"netlab/lab/name"
	"netlab/lab/rundir"
)

// The records a lab keeps in the run directory (last-applied, exits,
// started, restarting) are JSON files of their kind, named by the lab.
// These read, write and remove one; each record's own file says what it
// holds and checks what it reads back.

// loadJSON reads the lab's record of kind k into v. It reports false when
// there is none, it cannot be read, or it is not JSON for v.
func loadJSON(dir rundir.Dir, lab string, k rundir.Kind, v any) bool {
	n, err := name.Parse("lab", lab)
	if err != nil {
		return false
	}
	data, err := dir.Read(n, k)
	if err != nil {
		return false
	}
	return json.Unmarshal(data, v) == nil
}

// saveJSON stores v as the lab's record of kind k, atomically (dir.Write);
// what says which record an error is about ("keep the exits record").
func saveJSON(dir rundir.Dir, lab string, k rundir.Kind, v any, what string) error {
	n, err := name.Parse("lab", lab)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := dir.Write(n, k, data); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// removeJSON removes the lab's record of kind k; a missing one is no
// error. what is as for saveJSON.
func removeJSON(dir rundir.Dir, lab string, k rundir.Kind, what string) error {
	n, err := name.Parse("lab", lab)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := dir.Remove(n, k); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
