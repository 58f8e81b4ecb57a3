package state

import (
	"fmt"
	"strings"
)

// EtcNetNSDir holds, per namespace, the files that a command run in it
// sees over the same names in /etc (iproute2's convention). The kernel
// package's EtcNetNSDir is this one.
const EtcNetNSDir = "/etc/netns"

// HostsPath is a node's hosts file: EtcNetNSDir/NETNS/hosts.
func HostsPath(netns string) string { return EtcNetNSDir + "/" + netns + "/hosts" }

// ProcessLogPath is where root's netlab keeps a process's output: the run
// directory's LAB.NODE.PROC.log.
func ProcessLogPath(lab, node, proc string) string {
	return "/run/netlab/" + lab + "." + node + "." + proc + ".log"
}

// ProcessStartCmds start a declared process in its node as netlab does:
// detached (a session of its own, stdin the null device), in its
// directory, with only the base environment, the declared one and the
// marker, its output appended to its log in the run directory. The
// process is started by a command of its own, not the end of an &&
// list: bash runs a list sent to the background in a subshell that keeps
// the script's output open until the process ends, so a script whose
// output is read (render --format script | sh, a test) never ended.
func ProcessStartCmds(lab, node, netns string, p *Process) []string {
	words := []string{"env", "-i", "-C", shellQuote(p.Dir), `PATH="$PATH"`, "NETLAB_LAB=" + lab, "NETLAB_NODE=" + node}
	for _, kv := range p.Env {
		k, v, _ := strings.Cut(kv, "=")
		words = append(words, k+"="+shellQuote(v))
	}
	words = append(words, ProcessEnv+"="+shellQuote(ProcessMarker(lab, node, p.Name, p.Hash)))
	for _, a := range p.Argv {
		words = append(words, shellQuote(a))
	}
	return []string{
		"mkdir -p -m 0700 /run/netlab",
		fmt.Sprintf("%ssetsid %s >>%s 2>&1 </dev/null &", inNS(netns), strings.Join(words, " "), shellQuote(ProcessLogPath(lab, node, p.Name))),
	}
}

// ProcessStopCmd stops a running process: SIGTERM, which netlab follows
// with SIGKILL after a grace period. netlab stops the process's children
// that carry its marker too.
func ProcessStopCmd(p *Process) string { return fmt.Sprintf("kill %d", p.Pid) }

// HostsDelCmd removes a node's hosts file, and its directory once empty.
func HostsDelCmd(netns string) string {
	return fmt.Sprintf("rm -f %s && rmdir --ignore-fail-on-non-empty %s/%s", HostsPath(netns), EtcNetNSDir, netns)
}
