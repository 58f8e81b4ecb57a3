package apply

import (
	"fmt"
	"strings"

	"netlab/lab/name"
	"netlab/lab/rundir"
)

// SaveMachine keeps, in the run directory, the machine of a lab spread
// over several that this box builds (rundir.Machine). The caller holds
// the lab's lock.
func SaveMachine(dir rundir.Dir, lab, machine string) error {
	n, err := name.Parse("lab", lab)
	if err == nil {
		if _, err = name.Parse("machine", machine); err == nil {
			err = dir.Write(n, rundir.Machine, []byte(machine+"\n"))
		}
	}
	if err != nil {
		return fmt.Errorf("keep the lab's machine: %w", err)
	}
	return nil
}

// LoadMachine returns the machine SaveMachine kept for the lab, and
// whether there is one. A file that does not hold one valid name is
// none: it is not one netlab wrote.
func LoadMachine(dir rundir.Dir, lab string) (string, bool) {
	n, err := name.Parse("lab", lab)
	if err != nil {
		return "", false
	}
	data, err := dir.Read(n, rundir.Machine)
	if err != nil {
		return "", false
	}
	m, ok := strings.CutSuffix(string(data), "\n")
	if !ok || name.Problem(m) != "" {
		return "", false
	}
	return m, true
}

// DeleteMachine removes the lab's machine, after down. The caller holds
// the lab's lock.
func DeleteMachine(dir rundir.Dir, lab string) error {
	n, err := name.Parse("lab", lab)
	if err != nil {
		return fmt.Errorf("remove the lab's machine: %w", err)
	}
	return dir.Remove(n, rundir.Machine)
}
