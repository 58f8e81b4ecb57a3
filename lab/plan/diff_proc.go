package plan

import (
	"fmt"
	"slices"
	"strings"

	"netlab/lab/state"
)

// procs plans a node's processes. A process is never changed in place:
// one missing is started, one whose declaration changed (its marker
// carries another hash) is stopped and started again, and one of netlab's
// that the file no longer declares is stopped. The processes started by
// hand (Others) are unmanaged: only prune stops them.
func (d *differ) procs(want, have *state.Node) {
	for _, name := range unionKeys(want.Procs, have.Procs) {
		w, h := want.Procs[name], have.Procs[name]
		switch {
		case h == nil:
			d.add(&Change{Action: Create, Object: Process, Node: want.Name, NetNS: want.NetNS, Name: name, Proc: w,
				Reason: d.notRunning(want.Name, w)})
		case w == nil:
			d.add(&Change{Action: Delete, Object: Process, Node: want.Name, NetNS: want.NetNS, Name: name, OldProc: h})
		case h.Hash != w.Hash:
			reason := d.declChange(want.Name, w, h)
			d.add(&Change{Action: Replace, Object: Process, Node: want.Name, NetNS: want.NetNS, Name: name, Proc: w, OldProc: h, Reason: reason})
			d.add(&Change{Action: Create, Object: Process, Node: want.Name, NetNS: want.NetNS, Name: name, Proc: w, Reason: reason, replacing: true})
		}
	}
	for _, o := range have.Others {
		d.unmanaged(&Change{Action: Delete, Object: Process, Node: want.Name, NetNS: want.NetNS, Name: otherName(o), OldProc: o})
	}
}

// otherName is the Name of a change to a process started by hand, which
// has none: its pid, which sorts those of a node apart.
func otherName(p *state.Process) string { return fmt.Sprintf("pid %d", p.Pid) }

// goneProcs plans, for a node whose namespace is deleted, the stop of each
// of its processes: the namespace's delete stops them (and any other
// process in it) first, and the plan shows them.
func (d *differ) goneProcs(have *state.Node) {
	for _, name := range sortedKeys(have.Procs) {
		d.add(&Change{Action: Delete, Object: Process, Node: have.Name, NetNS: have.NetNS, Name: name, OldProc: have.Procs[name]})
	}
	for _, o := range have.Others {
		d.add(&Change{Action: Delete, Object: Process, Node: have.Name, NetNS: have.NetNS, Name: otherName(o), OldProc: o,
			Reason: "started by hand; its namespace is deleted"})
	}
	if have.Hosts != nil && !have.Hosts.Foreign {
		d.add(&Change{Action: Delete, Object: Hosts, Node: have.Name, NetNS: have.NetNS, Name: string(Hosts)})
	}
}

// notRunning says why a declared process that is not running is started
// again, when the last up started it as it is declared: the end netlab
// saw, or that it ended unseen. It is "" for a process the last up did
// not run as declared.
func (d *differ) notRunning(node string, w *state.Process) string {
	if e, ok := state.FindExit(d.opts.Exits, node, w.Name); ok {
		return e.String()
	}
	if last := d.lastProc(node, w.Name); last != nil && last.Hash == w.Hash {
		return "not running (exited or killed since the last up)"
	}
	return ""
}

// declChange says what changed in a process's declaration: by the last
// up's record of the running process, when it has it, which parts
// differ; otherwise only that it changed.
func (d *differ) declChange(node string, w, h *state.Process) string {
	last := d.lastProc(node, w.Name)
	if last == nil || last.Hash != h.Hash {
		return "declaration changed"
	}
	var parts []string
	if !slices.Equal(last.Argv, w.Argv) {
		parts = append(parts, "command")
	}
	if !slices.Equal(last.Env, w.Env) {
		parts = append(parts, "env")
	}
	if last.Dir != w.Dir {
		parts = append(parts, "dir")
	}
	if len(parts) == 0 {
		return "declaration changed"
	}
	return strings.Join(parts, ", ") + " changed"
}

// lastProc is the node's process name in the last-applied record, or nil.
func (d *differ) lastProc(node, name string) *state.Process {
	if d.opts.LastApplied == nil {
		return nil
	}
	ln := d.opts.LastApplied.Nodes[node]
	if ln == nil {
		return nil
	}
	return ln.Procs[name]
}

// hosts plans a node's hosts file: written when missing or different,
// removed when the node should have none. A file there that netlab did
// not write is in the way, and never touched.
func (d *differ) hosts(want, have *state.Node) {
	w, h := want.Hosts, have.Hosts
	switch {
	case h != nil && h.Foreign:
		if w != nil {
			d.plan.Conflicts = append(d.plan.Conflicts, Conflict{Node: want.Name, Object: Hosts, Name: state.HostsPath(want.NetNS),
				Hint: "it is not netlab's (a file without netlab's first line, or a symbolic link, FIFO or directory where the node's directory or file goes, which netlab never writes through): remove it, or move it away, for netlab to write the node's names there"})
		}
	case w == nil && h != nil:
		d.add(&Change{Action: Delete, Object: Hosts, Node: want.Name, NetNS: want.NetNS, Name: string(Hosts)})
	case w != nil && h == nil:
		d.add(&Change{Action: Create, Object: Hosts, Node: want.Name, NetNS: want.NetNS, Name: string(Hosts), Hosts: w.Content})
	case w != nil && w.Content != h.Content:
		last := &d.lastHosts
		if last.attrs == nil || last.old != h.Content || last.new != w.Content {
			last.old, last.new, last.attrs = h.Content, w.Content, hostsAttrs(h.Content, w.Content)
		}
		d.add(&Change{Action: Update, Object: Hosts, Node: want.Name, NetNS: want.NetNS, Name: string(Hosts), Hosts: w.Content,
			Attrs: slices.Clip(last.attrs)})
	}
}

// hostsAttrs lists the lines of a hosts file that an update removes and
// adds, each as an attribute "line" whose old or new side is "(none)",
// in the order of the files: one pass over each, with the other's lines
// in a set (a file of a 1000-node lab has 2000 lines).
func hostsAttrs(old, new string) []AttrChange {
	oldLines, newLines := strings.Split(strings.TrimSuffix(old, "\n"), "\n"), strings.Split(strings.TrimSuffix(new, "\n"), "\n")
	attrs := []AttrChange{} // not nil: the memo above tells "none" from "not made"
	inNew := lineSet(newLines)
	for _, l := range oldLines {
		if !inNew[l] {
			attrs = append(attrs, AttrChange{Name: "line", Old: l, New: "(none)"})
		}
	}
	inOld := lineSet(oldLines)
	for _, l := range newLines {
		if !inOld[l] {
			attrs = append(attrs, AttrChange{Name: "line", Old: "(none)", New: l})
		}
	}
	return attrs
}

func lineSet(lines []string) map[string]bool {
	set := make(map[string]bool, len(lines))
	for _, l := range lines {
		set[l] = true
	}
	return set
}
