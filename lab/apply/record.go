package apply

import (
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
	var s state.State
	if !loadJSON(dir, lab, rundir.Record, &s) || s.Lab != lab {
		return nil
	}
	return &s
}

// SaveRecord stores desired as its lab's last-applied state, atomically.
// The caller holds the lab's lock.
func SaveRecord(dir rundir.Dir, desired *state.State) error {
	return saveJSON(dir, desired.Lab, rundir.Record, recordOf(desired), "save the last-applied record")
}

// recordOf is desired as the record keeps it: each hosts file by its
// digest (state.HostsFile.Digest). desired is not changed.
func recordOf(desired *state.State) *state.State {
	rec := *desired
	rec.Nodes = make(map[string]*state.Node, len(desired.Nodes))
	var content, digest string // the last one hashed: every node has the same
	for name, n := range desired.Nodes {
		if n.Hosts != nil && n.Hosts.Content != "" {
			if digest == "" || n.Hosts.Content != content {
				content, digest = n.Hosts.Content, state.HostsDigest(n.Hosts.Content)
			}
			copied := *n
			copied.Hosts = &state.HostsFile{Digest: digest}
			n = &copied
		}
		rec.Nodes[name] = n
	}
	return &rec
}

// DeleteRecord removes a lab's record, after down. The caller holds the
// lab's lock.
func DeleteRecord(dir rundir.Dir, lab string) error {
	return removeJSON(dir, lab, rundir.Record, "remove the last-applied record")
}
