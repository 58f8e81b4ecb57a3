package apply

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"

	"netlab/lab/state"
)

// The last-applied record is the desired state of the last successful up,
// kept in RunDir. It only labels differences as drift (the kernel changed)
// or edits (the file changed); ownership always comes from the kernel's
// marks, so a lost record changes no decision.

func recordPath(lab string) string { return filepath.Join(RunDir, lab+".json") }

// LoadRecord returns the last-applied state of a lab, or nil if there is
// none or it cannot be read.
func LoadRecord(lab string) *state.State {
	data, err := os.ReadFile(recordPath(lab))
	if err != nil {
		return nil
	}
	var s state.State
	if json.Unmarshal(data, &s) != nil || s.Lab != lab {
		return nil
	}
	return &s
}

// SaveRecord stores desired as the lab's last-applied state, atomically.
func SaveRecord(desired *state.State) error {
	if err := os.MkdirAll(RunDir, 0o755); err != nil {
		return err
	}
	data, err := json.Marshal(desired)
	if err != nil {
		return err
	}
	tmp := recordPath(desired.Lab) + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, recordPath(desired.Lab))
}

// DeleteRecord removes a lab's record, after down.
func DeleteRecord(lab string) error {
	err := os.Remove(recordPath(lab))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}
