package apply

import (
	"errors"
	"fmt"
	"os"

	"netlab/lab/name"
	"netlab/lab/rundir"
)

// The applied source is the text of the lab file of the last successful
// up, kept in the run directory beside the record. The record holds only
// what the kernel has (links, addresses, rules); commands given just
// --lab NAME read the rest of the file from here: check runs the file's
// checks.

// SourcePath is where the lab file of a lab's last up is kept. Positions
// in diagnostics and check results name it, so that a user can open it.
// It is "" for an invalid name, which has no file.
func SourcePath(dir rundir.Dir, lab string) string {
	n, err := name.Parse("lab", lab)
	if err != nil {
		return ""
	}
	return dir.File(n, rundir.Source)
}

// SaveSource stores the text of the lab file up applied, atomically and
// through no planted link (rundir.Dir.Write). The caller holds the lab's
// lock.
func SaveSource(dir rundir.Dir, lab string, text []byte) error {
	n, err := name.Parse("lab", lab)
	if err == nil {
		err = dir.Write(n, rundir.Source, text)
	}
	if err != nil {
		return fmt.Errorf("save the applied lab file: %w", err)
	}
	return nil
}

// ErrNoSource is returned by LoadSource when a lab has no applied source:
// it is not running, or was brought up by a netlab that kept none.
var ErrNoSource = errors.New("no copy of the lab file it was brought up with")

// LoadSource returns the text of the lab file of a lab's last up. It does
// not follow a symlink planted in its place.
func LoadSource(dir rundir.Dir, lab string) ([]byte, error) {
	n, err := name.Parse("lab", lab)
	if err != nil {
		return nil, err
	}
	data, err := dir.Read(n, rundir.Source)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNoSource
	}
	return data, err
}

// DeleteSource removes a lab's applied source, after down. The caller
// holds the lab's lock.
func DeleteSource(dir rundir.Dir, lab string) error {
	n, err := name.Parse("lab", lab)
	if err != nil {
		return fmt.Errorf("remove the applied lab file: %w", err)
	}
	return dir.Remove(n, rundir.Source)
}
