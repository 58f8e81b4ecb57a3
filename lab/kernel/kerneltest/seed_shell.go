package kerneltest

// Seed: the shell lines of lab/state's cmd_process.go and cmd_proc.go,
// which start processes and write hosts files:
//
//	mkdir -p DIR... && ...                      (directories: nothing to keep)
//	mkdir -p /etc/netns/NETNS && cat >/etc/netns/NETNS/hosts <<'EOF' ... EOF
//	rm -f /etc/netns/NETNS/hosts [&& rmdir ...]
//	ip netns exec NETNS [setsid] env [-i] [-C DIR] [KEY=VALUE...] ARGV... [>>LOG 2>&1 </dev/null] &
//	kill [-TERM|-KILL] PID
//
// A process started so carries the marker its NETLAB_PROCESS gives, as
// one started by hand with that environment would (StartByHandEnv).

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"netlab/lab/kernel"
)

const (
	hereDocStart = "<<'EOF'"
	hereDocEnd   = "EOF"
)

// hereDoc is a command whose here-document Seed is reading.
type hereDoc struct {
	line string
	args []string
	body strings.Builder
}

// isShellLine tells the shell lines of processes and hosts files from
// ip(8) and bridge(8) commands.
func isShellLine(line string) bool {
	for _, prefix := range []string{"mkdir ", "rm ", "kill ", "cat "} {
		if strings.HasPrefix(line, prefix) {
			return true
		}
	}
	return strings.HasPrefix(line, "ip netns exec ") && strings.Contains(line, " env ") && strings.HasSuffix(line, "&")
}

// shellLocked runs a shell line's commands, split at &&, in order; doc is
// the here-document a cat reads.
func (f *Fake) shellLocked(args []string, doc string) error {
	for len(args) > 0 {
		cmd := args
		if i := slices.Index(args, "&&"); i >= 0 {
			cmd, args = args[:i], args[i+1:]
		} else {
			args = nil
		}
		if err := f.shellCmdLocked(cmd, doc); err != nil {
			return err
		}
	}
	return nil
}

func (f *Fake) shellCmdLocked(cmd []string, doc string) error {
	if len(cmd) == 0 {
		return errors.New("empty command")
	}
	switch cmd[0] {
	case "mkdir", "rmdir":
		return nil // directories hold nothing the fake keeps
	case "cat":
		if len(cmd) != 2 || !strings.HasPrefix(cmd[1], ">") {
			return errors.New("cat writes only a hosts file here: cat >FILE <<'EOF'")
		}
		netns, err := hostsNetNS(strings.TrimPrefix(cmd[1], ">"))
		if err != nil {
			return err
		}
		f.hosts[netns] = doc
		return nil
	case "rm":
		for _, a := range cmd[1:] {
			if a == "-f" {
				continue
			}
			netns, err := hostsNetNS(a)
			if err != nil {
				return err
			}
			delete(f.hosts, netns)
		}
		return nil
	case "kill":
		return f.killLocked(cmd[1:])
	case "ip":
		return f.startLineLocked(cmd)
	}
	return fmt.Errorf("unknown command %q", cmd[0])
}

// hostsNetNS is the namespace of a hosts file path.
func hostsNetNS(path string) (string, error) {
	rest, ok := strings.CutPrefix(path, kernel.EtcNetNSDir+"/")
	netns, file, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 || file != "hosts" || netns == "" {
		return "", fmt.Errorf("%s is not a hosts file of %s", path, kernel.EtcNetNSDir)
	}
	return netns, nil
}

// killLocked ends a running process as the signal does: SIGTERM (unless
// it ignores it) or SIGKILL.
func (f *Fake) killLocked(args []string) error {
	sig := unix.SIGTERM
	if len(args) > 0 && strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "-TERM", "-15":
		case "-KILL", "-9":
			sig = unix.SIGKILL
		default:
			return fmt.Errorf("kill %s: only TERM and KILL here", args[0])
		}
		args = args[1:]
	}
	if len(args) == 0 {
		return errors.New("kill needs a pid")
	}
	for _, a := range args {
		pid, err := strconv.Atoi(a)
		if err != nil {
			return fmt.Errorf("kill %q: not a pid", a)
		}
		i := slices.IndexFunc(f.procs, func(p *fakeProc) bool { return p.running && p.pid == pid })
		if i < 0 {
			return fmt.Errorf("kill %d: %w", pid, unix.ESRCH)
		}
		if p := f.procs[i]; sig == unix.SIGKILL || !p.ignoreTERM {
			f.endLocked(p, 128+int(sig))
		}
	}
	return nil
}

// startLineLocked starts a process as the plan's line does: ip netns
// exec NETNS [setsid] env [-i] ... ARGV... with its redirections and &,
// which are how it is detached, dropped; the rest is a process by hand
// (handProcessLocked).
func (f *Fake) startLineLocked(cmd []string) error {
	if len(cmd) < 5 || cmd[1] != "netns" || cmd[2] != "exec" {
		return errors.New("not ip netns exec NETNS ... &")
	}
	ns, err := f.netnsLocked(cmd[3])
	if err != nil {
		return err
	}
	w := cmd[4:]
	for len(w) > 0 {
		last := w[len(w)-1]
		if last == "&" || last == "2>&1" || strings.HasPrefix(last, ">") || strings.HasPrefix(last, "<") {
			w = w[:len(w)-1]
			continue
		}
		break
	}
	if len(w) > 0 && w[0] == "setsid" {
		w = w[1:]
	}
	if len(w) > 1 && w[0] == "env" && w[1] == "-i" {
		w = append([]string{"env"}, w[2:]...)
	}
	return f.handProcessLocked(ns, words(w))
}
