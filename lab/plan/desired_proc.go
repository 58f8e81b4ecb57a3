package plan

import (
	"maps"
	"net/netip"
	"slices"
	"strings"

	"netlab/lab"
	"netlab/lab/state"
)

// desiredProcs turns a node's run: entries into the processes it asks
// for, by name.
func desiredProcs(n *lab.Node) map[string]*state.Process {
	procs := make(map[string]*state.Process, len(n.Run))
	for _, p := range n.Run {
		procs[p.Name] = DesiredProcess(p)
	}
	return procs
}

// DesiredProcess is the process a run: entry asks for: a command given
// as a string runs as /bin/sh -c STRING, a list is exec'd as it is; the
// environment is sorted KEY=VALUE; the working directory is / unless
// given; a ready port without a timeout waits lab.DefaultReadyTimeout.
func DesiredProcess(p *lab.Process) *state.Process {
	sp := &state.Process{Name: p.Name, Dir: p.Dir}
	if p.Shell {
		script := strings.Join(p.Command, " ")
		sp.Argv = state.ShellArgv(script)
		sp.Display = script
	} else {
		sp.Argv = slices.Clone(p.Command)
		sp.Display = strings.Join(p.Command, " ")
	}
	for _, k := range slices.Sorted(maps.Keys(p.Env)) {
		sp.Env = append(sp.Env, k+"="+p.Env[k])
	}
	if sp.Dir == "" {
		sp.Dir = "/"
	}
	sp.Hash = state.DeclHash(sp.Argv, sp.Env, sp.Dir)
	if r := p.Ready; r != nil {
		sp.Ready = &state.Ready{Proto: r.Proto, Port: r.Port, Timeout: r.Timeout}
		if sp.Ready.Timeout == 0 {
			sp.Ready.Timeout = lab.DefaultReadyTimeout
		}
		if sp.Ready.Proto == "" {
			sp.Ready.Proto = "tcp"
		}
	}
	return sp
}

// HostsContent is the /etc/netns/LAB.NODE/hosts of every node of l: the
// header that marks it as netlab's, localhost, then the names of the
// lab's nodes and interfaces (lab.HostNames), one "ADDR NAME" a line.
// It is the same in every node (the directory says whose it is), so a
// 1000-node lab makes one string of 1000 names, not 1000 of them.
func HostsContent(l *lab.Lab) string {
	var b strings.Builder
	b.WriteString(state.HostsHeader + "written by netlab up for lab " + l.Name + "; removed by down\n")
	// localhost as Debian's /etc/hosts says it: lo's own addresses.
	b.WriteString(state.LoopbackAddrs[0].Addr().String() + " " + lab.LoopbackNames[0] + "\n")
	b.WriteString(state.LoopbackAddrs[1].Addr().String() + " " + strings.Join(lab.LoopbackNames, " ") + "\n")
	for _, h := range l.HostNames() {
		b.WriteString(h.Addr.String() + " " + h.Name + "\n")
	}
	return b.String()
}

// HostsNames is how many names a hosts file of HostsContent's gives, the
// localhost lines aside: what the plan says of it.
func HostsNames(content string) int {
	n := 0
	for line := range strings.Lines(content) {
		first, _, _ := strings.Cut(line, " ")
		if a, err := netip.ParseAddr(first); err == nil && !a.IsLoopback() {
			n++
		}
	}
	return n
}
