package apply

import (
	"encoding/json"
	"fmt"

	"netlab/lab/name"
	"netlab/lab/rundir"
	"netlab/lab/state"
)

// The last-applied record is the desired state of the last successful up,
// kept in the run directory. It only labels differences as drift (the
// kernel changed) or edits (the file changed); ownership always comes from
// the kernel's marks, so a lost record changes no decision.

// LoadRecord returns the last-applied state of a lab, or nil if there is
// none, it cannot be read, or it is not that lab's.
func LoadRecord(dir rundir.Dir, lab string) *state.State {
	n, err := name.Parse("lab", lab)
	if err != nil {
		return nil
	}
	data, err := dir.Read(n, rundir.Record)
	if err != nil {
		return nil
	}
	var s state.State
	if json.Unmarshal(data, &s) != nil || s.Lab != lab {
		return nil
	}
	return &s
}

// SaveRecord stores desired as its lab's last-applied state, atomically.
// The caller holds the lab's lock.
func SaveRecord(dir rundir.Dir, desired *state.State) error {
	n, err := name.Parse("lab", desired.Lab)
	if err != nil {
		return fmt.Errorf("save the last-applied record: %w", err)
	}
	data, err := json.Marshal(desired)
	if err != nil {
		return err
	}
	return dir.Write(n, rundir.Record, data)
}

// DeleteRecord removes a lab's record, after down. The caller holds the
// lab's lock.
func DeleteRecord(dir rundir.Dir, lab string) error {
	n, err := name.Parse("lab", lab)
	if err != nil {
		return fmt.Errorf("remove the last-applied record: %w", err)
	}
	return dir.Remove(n, rundir.Record)
}
