package apply

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// The applied source is the text of the lab file of the last successful
// up, kept in RunDir beside the record. The record holds only what the
// kernel has (links, addresses, rules); commands given just --lab NAME
// read the rest of the file from here: check runs the file's checks.

// SourcePath is where the lab file of a lab's last up is kept. Positions
// in diagnostics and check results name it, so that a user can open it.
func SourcePath(lab string) string { return filepath.Join(RunDir, lab+".yaml") }

// SaveSource stores the text of the lab file up applied, atomically: a
// temporary file created afresh (never one planted in its place) and
// renamed over the old copy.
func SaveSource(lab string, text []byte) error {
	if err := os.MkdirAll(RunDir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(RunDir, lab+".yaml.tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(text)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, SourcePath(lab))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("save the applied lab file: %w", err)
	}
	return nil
}

// ErrNoSource is returned by LoadSource when a lab has no applied source:
// it is not running, or was brought up by a netlab that kept none.
var ErrNoSource = errors.New("no copy of the lab file it was brought up with")

// LoadSource returns the text of the lab file of a lab's last up. It does
// not follow a symlink planted in its place.
func LoadSource(lab string) ([]byte, error) {
	f, err := os.OpenFile(SourcePath(lab), os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNoSource
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// A lab file is far smaller; the parser refuses one this large.
	data, err := io.ReadAll(io.LimitReader(f, maxSourceSize))
	if err != nil {
		return nil, err
	}
	return data, nil
}

const maxSourceSize = 32 << 20

// DeleteSource removes a lab's applied source, after down.
func DeleteSource(lab string) error {
	err := os.Remove(SourcePath(lab))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}
