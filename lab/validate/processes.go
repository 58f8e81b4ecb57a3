package validate

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"netlab/lab"
	"netlab/lab/state"
)

// reservedEnv are the variables netlab sets in every process it starts
// (NETLAB_PROCESS is the marker by which it finds the process again): a
// lab file may not set them, or a process could pass for another.
var reservedEnv = []string{state.ProcessEnv, state.LabEnv, state.NodeEnv}

// processes checks the run entries of every node: what each must have and
// what execve can carry (no NUL byte in an argv, an environment or a
// path, and no more than Linux passes to a program). A run in a host node
// is hostNodes' to report.
func (v *validator) processes() {
	for _, n := range v.lab.Nodes {
		first := make(map[string]*lab.Process)
		ports := make(map[readyPort]*lab.Process) // the first process that waits for each port
		for _, p := range n.Run {
			v.process(n, p)
			if nameUsable(p) && state.ProcessNameProblem(p.Name) == "" {
				if prev, dup := first[p.Name]; dup {
					v.diags.Hintf(p.At("name"), fmt.Sprintf("the first is at line %d: rename or remove one", prev.At("name").Line), "process %q is defined twice in node %q", p.Name, n.Name)
				} else {
					first[p.Name] = p
				}
			}
			if r := p.Ready; r != nil && r.Port != 0 && (r.Proto == "tcp" || r.Proto == "udp") {
				key := readyPort{r.Proto, r.Port}
				if prev, dup := ports[key]; dup {
					v.diags.Warnf(r.At(r.Proto), "ready of process %q of node %q waits for %s port %d, as process %q does: one listener makes both ready, so up cannot tell which of them started", clip(p.Name), n.Name, r.Proto, r.Port, clip(prev.Name))
				} else {
					ports[key] = p
				}
			}
		}
	}
}

// readyPort is a port a process waits for: "tcp" or "udp", and its number.
type readyPort struct {
	proto string
	port  uint16
}

func (v *validator) process(n *lab.Node, p *lab.Process) {
	// Values are judged whether or not the file wrote them, so that a lab
	// built in Go is held to the same rules; only a field that failed to
	// load (already reported) is skipped.
	switch {
	case !p.Has("name") && p.Name == "":
		v.diags.Hintf(p.Pos, "add name: NAME, 1 to 32 characters of a-z, 0-9, - and _", "process in node %q has no name", n.Name)
	case !p.Broken("name"):
		if prob := state.ProcessNameProblem(p.Name); prob != "" {
			v.diags.Hintf(p.At("name"), "use 1 to 32 characters of a-z, 0-9, - and _", "process name %q %s", clip(p.Name), prob)
		}
	}
	who := fmt.Sprintf("process %q of node %q", clip(p.Name), n.Name)
	if !nameUsable(p) {
		who = fmt.Sprintf("process of node %q", n.Name)
	}
	switch {
	case !p.Has("command") && len(p.Command) == 0:
		v.diags.Hintf(p.Pos, "add command: a string, which /bin/sh -c runs, or a list, exec'd as it is", "%s has no command", who)
	case !p.Broken("command"):
		v.command(p, who)
	}
	v.env(p, who)
	if size := execSize(p); size > MaxExecTotal {
		v.diags.Hintf(p.Pos, "put the script or data in a file and name the file", "command and env of %s take %d bytes: netlab passes at most %d to a program", who, size, MaxExecTotal)
	}
	if !p.Broken("dir") && (p.Has("dir") || p.Dir != "") {
		switch {
		case p.Dir == "":
			v.diags.Hintf(p.At("dir"), "leave dir out to start in /, or give an absolute path", "dir of %s is empty", who)
		case strings.ContainsRune(p.Dir, 0):
			v.diags.Hintf(p.At("dir"), "remove the \\0: a path cannot hold one", "dir of %s contains a NUL byte", who)
		case !path.IsAbs(p.Dir):
			v.diags.Hintf(p.At("dir"), "write it from the root, like /tmp", "dir %q of %s is not an absolute path", clip(p.Dir), who)
		}
	}
	if p.Ready != nil {
		v.ready(p.Ready, who)
	}
}

// command requires something to run: a string that is not blank, or a
// list whose first item, the program, is not empty.
func (v *validator) command(p *lab.Process, who string) {
	switch {
	case p.Shell && (len(p.Command) != 1 || strings.TrimSpace(p.Command[0]) == ""):
		v.diags.Hintf(p.At("command"), "write the command line /bin/sh -c runs", "command of %s is empty", who)
		return
	case !p.Shell && len(p.Command) == 0:
		v.diags.Hintf(p.At("command"), "write [PROGRAM, ARG, ...]", "command of %s is an empty list", who)
		return
	case !p.Shell && p.Command[0] == "":
		v.diags.Hintf(p.At(lab.ArgField(0)), "the first item is the program to run: name it", "command of %s starts with an empty program name", who)
	}
	for i, arg := range p.Command {
		size := len(arg)
		if p.Shell {
			size = len(state.ShellArgv(arg)[2]) // what the shell is given, exec and all
		}
		if strings.ContainsRune(arg, 0) {
			at := p.At("command")
			if !p.Shell {
				at = p.At(lab.ArgField(i))
			}
			v.diags.Hintf(at, "remove the \\0: a command line cannot carry one", "command of %s contains a NUL byte", who)
		}
		if size >= MaxExecString {
			at, what := p.At("command"), "command"
			if !p.Shell {
				at, what = p.At(lab.ArgField(i)), fmt.Sprintf("argument %d of command", i+1)
			} else if size != len(arg) {
				what = "command, with the exec netlab puts before it,"
			}
			v.diags.Hintf(at, "put the script or data in a file and name the file", "%s of %s is %d bytes: Linux passes at most %d to a program", what, who, size, MaxExecString-1)
		}
	}
}

// MaxExecString is the size, with its final NUL, of the longest argument
// or environment entry execve takes (MAX_ARG_STRLEN, 32 pages of 4 KiB:
// the smallest it is on any architecture).
const MaxExecString = 32 * 4096

// MaxExecTotal bounds what a process's declaration passes to execve
// altogether, arguments and environment with their pointers. Linux takes
// a quarter of the stack size limit, 2 MiB with the usual 8 MiB: 1 MiB
// leaves netlab's own variables and a smaller limit room.
const MaxExecTotal = 1 << 20

// execSize is what p's argv and declared environment take on the stack
// of a new program: each string with its NUL, and a pointer to each.
func execSize(p *lab.Process) int {
	argv := p.Command
	if p.Shell && len(argv) == 1 {
		argv = state.ShellArgv(argv[0])
	}
	n := 0
	for _, a := range argv {
		n += len(a) + 1 + 8
	}
	for k, val := range p.Env {
		n += len(k) + 1 + len(val) + 1 + 8
	}
	return n
}

// env requires names a shell can set, other than netlab's own, and values
// an environment can carry.
func (v *validator) env(p *lab.Process, who string) {
	for _, key := range slices.Sorted(maps.Keys(p.Env)) {
		at := p.At(lab.EnvKeyField(key))
		switch {
		case slices.Contains(reservedEnv, key):
			v.diags.Hintf(at, "use another name: netlab sets "+strings.Join(reservedEnv, ", ")+" itself in every process", "env %q of %s is netlab's own", key, who)
		case !envName(key):
			v.diags.Hintf(at, "use letters, digits and _, not starting with a digit, like APP_PORT", "env %q of %s is not a valid variable name", clip(key), who)
		}
		if strings.ContainsRune(p.Env[key], 0) {
			v.diags.Hintf(p.At(lab.EnvValueField(key)), "remove the \\0: an environment cannot carry one", "env %q of %s: the value contains a NUL byte", clip(key), who)
		}
		if size := len(key) + 1 + len(p.Env[key]); size >= MaxExecString {
			v.diags.Hintf(p.At(lab.EnvValueField(key)), "put the data in a file and name the file", "env %q of %s is %d bytes as NAME=VALUE: Linux passes at most %d to a program", clip(key), who, size, MaxExecString-1)
		}
	}
}

// envName reports whether s is a portable environment variable name:
// [A-Za-z_][A-Za-z0-9_]*.
func envName(s string) bool {
	for i, r := range s {
		letter := r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r == '_'
		if !letter && (i == 0 || r < '0' || r > '9') {
			return false
		}
	}
	return s != ""
}

// ready requires exactly one port, and a timeout up can sensibly wait.
func (v *validator) ready(r *lab.Ready, who string) {
	hasTCP, hasUDP := r.Has("tcp"), r.Has("udp")
	if !hasTCP && !hasUDP { // built in Go, not loaded from a file
		hasTCP, hasUDP = r.Proto == "tcp", r.Proto == "udp"
	}
	switch {
	case hasTCP && hasUDP:
		second := "udp"
		if r.At("udp").Before(r.At("tcp")) {
			second = "tcp"
		}
		v.diags.Hintf(r.At(second), "give one of tcp: PORT and udp: PORT", "ready of %s has both tcp and udp", who)
	case !hasTCP && !hasUDP && r.Proto == "":
		v.diags.Hintf(r.Pos, "add tcp: PORT or udp: PORT, the port the process listens on once started", "ready of %s has no port", who)
	case hasTCP && !r.Broken("tcp") && r.Port == 0, hasUDP && !r.Broken("udp") && r.Port == 0:
		v.diags.Errorf(r.At(r.Proto), "ready %s port of %s is 0: use a port from 1 to 65535", r.Proto, who)
	}
	// A timeout the file wrote must be positive; 0 in Go means the default.
	if !r.Broken("timeout") && (r.Has("timeout") && r.Timeout <= 0 || r.Timeout < 0 || r.Timeout > lab.MaxReadyTimeout) {
		v.diags.Errorf(r.At("timeout"), "ready timeout %s of %s is out of range: use more than 0s and at most %s", r.Timeout, who, lab.MaxReadyTimeout)
	}
}

// nameUsable reports whether the process has a name that loaded: one
// written in the file without error, or one set in Go.
func nameUsable(p *lab.Process) bool { return !p.Broken("name") && p.Name != "" }
