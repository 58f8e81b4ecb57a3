package kernel

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"netlab/lab/name"
	"netlab/lab/state"
)

// What both kernels share about processes: the environment a declared
// process gets, and how a node's processes are told apart in what
// Processes lists.

// ProcessEnviron is the whole environment of a declared process
// (decisions.md, "Second release: processes in the kernel"): PATH
// (path, or the launcher's default when netlab has none), HOME when home
// is set, NETLAB_LAB and NETLAB_NODE, the declared p.Env over those, and
// the marker, which a declared variable cannot replace. Nothing else of
// netlab's own environment reaches a process. The marker comes first:
// Observe reads only the start of /proc/PID/environ (maxEnviron), and a
// declared environment may fill all of that.
func ProcessEnviron(lab, node string, p *state.Process, path, home string) []string {
	if path == "" {
		path = defaultPath
	}
	base := []string{"PATH=" + path}
	if home != "" {
		base = append(base, "HOME="+home)
	}
	base = append(base, state.LabEnv+"="+lab, state.NodeEnv+"="+node)
	env := make([]string, 0, len(base)+len(p.Env)+1)
	env = append(env, state.ProcessEnv+"="+state.ProcessMarker(lab, node, p.Name, p.Hash))
	declared := make(map[string]bool, len(p.Env))
	for _, kv := range p.Env {
		k, _, _ := strings.Cut(kv, "=")
		declared[k] = true
	}
	for _, kv := range base {
		if k, _, _ := strings.Cut(kv, "="); !declared[k] {
			env = append(env, kv)
		}
	}
	for _, kv := range p.Env {
		if k, _, _ := strings.Cut(kv, "="); k != state.ProcessEnv {
			env = append(env, kv)
		}
	}
	return env
}

// checkProcess refuses a process that ProcessStart cannot mark: its
// marker must read back as the lab, node and name it was made of.
func checkProcess(lab, node string, p *state.Process) (marker string, err error) {
	if p == nil || len(p.Argv) == 0 || p.Argv[0] == "" {
		return "", fmt.Errorf("node %s: process: no command", node)
	}
	if pr := name.Problem(lab); pr != "" {
		return "", fmt.Errorf("lab name %q %s", lab, pr)
	}
	if pr := name.Problem(node); pr != "" {
		return "", fmt.Errorf("node name %q %s", node, pr)
	}
	marker = state.ProcessMarker(lab, node, p.Name, p.Hash)
	if _, _, _, _, ok := state.ParseProcessMarker(marker); !ok {
		return "", fmt.Errorf("node %s: process %q: not a valid name and declaration hash (%q)", node, p.Name, p.Hash)
	}
	return marker, nil
}

// CheckProcess is checkProcess for the fake.
func CheckProcess(lab, node string, p *state.Process) error {
	_, err := checkProcess(lab, node, p)
	return err
}

// NodeProcesses sorts the processes of a node's namespace, as Processes
// lists them, into what Observe reports (decision 2): the process NAME is
// the oldest (by start time, then pid) that carries the node's marker for
// NAME and whose parent does not carry the same marker, so that the
// children it forks are not taken for it; the other processes that carry
// that marker are its children and are not listed. Nor are the processes
// without a marker that descend from one with the node's marker: a
// declared process's child that set its own title (setproctitle
// overwrites the environment, the marker with it) is still its child.
// Every other process is one of others, in pid order.
func NodeProcesses(lab, node string, procs []ProcessInfo) (named map[string]*state.Process, others []*state.Process) {
	named = make(map[string]*state.Process)
	markerOf := make(map[int]string, len(procs))
	parents := make(map[int]int, len(procs))
	declared := make(map[int]bool) // the pids with the node's marker
	for _, p := range procs {
		markerOf[p.Pid], parents[p.Pid] = p.Marker, p.PPid
		if mlab, mnode, _, _, ok := state.ParseProcessMarker(p.Marker); ok && mlab == lab && mnode == node {
			declared[p.Pid] = true
		}
	}
	sorted := slices.Clone(procs)
	slices.SortFunc(sorted, func(a, b ProcessInfo) int {
		return cmp.Or(cmp.Compare(a.Start, b.Start), cmp.Compare(a.Pid, b.Pid))
	})
	for _, p := range sorted {
		if !declared[p.Pid] {
			continue
		}
		_, _, proc, hash, _ := state.ParseProcessMarker(p.Marker)
		if markerOf[p.PPid] == p.Marker || named[proc] != nil {
			continue // a child, or a younger one of the same name
		}
		named[proc] = &state.Process{Name: proc, Argv: slices.Clone(p.Command), Hash: hash, Pid: p.Pid, Start: p.Start, StartedAt: p.StartedAt, PPid: p.PPid}
	}
	slices.SortFunc(sorted, func(a, b ProcessInfo) int { return cmp.Compare(a.Pid, b.Pid) })
	for _, p := range sorted {
		if declared[p.Pid] || Descends(p.Pid, parents, declared) {
			continue
		}
		others = append(others, &state.Process{Argv: slices.Clone(p.Command), Pid: p.Pid, Start: p.Start, StartedAt: p.StartedAt, PPid: p.PPid})
	}
	return named, others
}

// Descends reports whether an ancestor of pid (its parent, the parent's
// parent, ...), as parents maps a pid to its parent's within one
// namespace, is one of roots. The walk ends at a pid outside the map,
// and after len(parents) steps, so that a hostile or racy listing with a
// loop cannot hold it.
func Descends(pid int, parents map[int]int, roots map[int]bool) bool {
	for range len(parents) {
		ppid, ok := parents[pid]
		if !ok || ppid == pid {
			return false
		}
		if roots[ppid] {
			return true
		}
		pid = ppid
	}
	return false
}

// ReadHostsFile is what Observe reports of a node's hosts file: its
// content when netlab wrote it (it starts with state.HostsHeader), less
// the machine's name kernel.Linux adds (state.MachineNameLine), else only
// that it is foreign.
func ReadHostsFile(content string) *state.HostsFile {
	if !strings.HasPrefix(content, state.HostsHeader) {
		return &state.HostsFile{Foreign: true}
	}
	return &state.HostsFile{Content: state.WithoutMachineName(content)}
}

// HandEnviron is what netlab exec passes on to a command it runs in node
// of lab: environ without state.ProcessEnv, so that a process started by
// hand, even from inside a declared process, is never taken for a
// declared one; and with state.LabEnv and state.NodeEnv of the node it
// runs in, not those a caller inside another node has.
func HandEnviron(environ []string, lab, node string) []string {
	out := make([]string, 0, len(environ)+2)
	for _, kv := range environ {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case state.ProcessEnv, state.LabEnv, state.NodeEnv:
		default:
			out = append(out, kv)
		}
	}
	return append(out, state.LabEnv+"="+lab, state.NodeEnv+"="+node)
}
