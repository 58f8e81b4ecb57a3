package state

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"time"

	"netlab/lab/name"
)

// Process is one program a node runs: desired, from a lab file's run:,
// or observed, read from /proc. Its identity is (node, Name); Hash is the
// identity of its declaration, so that a changed declaration means a
// restart. The kernel knows a process of netlab's by the marker in its
// environment (ProcessEnv), which carries the lab, node, name and Hash.
type Process struct {
	Name string
	// Argv is what is exec'd: for a command the file gave as a string,
	// /bin/sh -c STRING.
	Argv []string
	// Env is the declared environment, KEY=VALUE sorted by key: what the
	// process gets over the base environment netlab gives every process.
	Env []string
	// Dir is the working directory, never empty ("/" by default).
	Dir string
	// Hash is DeclHash(Argv, Env, Dir). Observed, it is the hash in the
	// process's marker.
	Hash string
	// Ready is what up waits for once the process is started; nil for no
	// port. Desired only: it is netlab's, not the process's, so a change
	// of it alone restarts nothing.
	Ready *Ready
	// Display is the command as the plan prints it: the string the file
	// gave, or the argv joined with spaces. Desired only.
	Display string

	// Observed only: the running process.
	Pid       int       // its pid
	Start     uint64    // its start time, in clock ticks after boot (/proc/PID/stat field 22)
	StartedAt time.Time // Start as wall-clock time
	// PPid is its parent's pid, by which the processes it forked are
	// told apart from those started by hand.
	PPid int `json:",omitempty"`
}

// Ready is a port a process listens on once it is started.
type Ready struct {
	Proto   string // "tcp" or "udp"
	Port    uint16
	Timeout time.Duration
}

// ProcessEnv is the environment variable that marks a process as one of
// netlab's: its value is ProcessMarker's. Children inherit it, so a
// declared process and the processes it forks carry the same marker.
const ProcessEnv = "NETLAB_PROCESS"

// LabEnv and NodeEnv name, in every process netlab starts in a node, the
// lab and the node it runs in.
const (
	LabEnv  = "NETLAB_LAB"
	NodeEnv = "NETLAB_NODE"
)

// ProcessMarker is the value of ProcessEnv for the process name of node in
// lab, declared as hash: LAB:NODE:NAME:HASH.
func ProcessMarker(lab, node, proc, hash string) string {
	return lab + ":" + node + ":" + proc + ":" + hash
}

// ParseProcessMarker reads a ProcessEnv value; ok is false when it is not
// one ProcessMarker makes with valid names, so a planted value is never
// taken for a node's process nor used to build a path.
func ParseProcessMarker(v string) (lab, node, proc, hash string, ok bool) {
	parts := strings.Split(v, ":")
	if len(parts) != 4 {
		return "", "", "", "", false
	}
	lab, node, proc, hash = parts[0], parts[1], parts[2], parts[3]
	if name.Problem(lab) != "" || name.Problem(node) != "" || ProcessNameProblem(proc) != "" || !isHash(hash) {
		return "", "", "", "", false
	}
	return lab, node, proc, hash, true
}

// ProcessNameMax is the longest process name.
const ProcessNameMax = 32

// ProcessNameProblem says what is wrong with a process name, or "": 1 to
// 32 characters of a-z 0-9 - _.
func ProcessNameProblem(s string) string {
	if s == "" {
		return "must not be empty"
	}
	if len(s) > ProcessNameMax {
		return "must be at most 32 characters"
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return "may contain only a-z, 0-9, - and _"
		}
	}
	return ""
}

// hashLen is the length of a DeclHash, in hex digits.
const hashLen = 16

// DeclHash is the identity of a process's declaration: what the process
// itself is given (argv, environment, working directory).
func DeclHash(argv, env []string, dir string) string {
	h := sha256.New()
	for _, part := range [][]string{argv, env, {dir}} {
		for _, s := range part {
			h.Write([]byte(s))
			h.Write([]byte{0})
		}
		h.Write([]byte{1})
	}
	return hex.EncodeToString(h.Sum(nil))[:hashLen]
}

func isHash(s string) bool {
	if len(s) != hashLen {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}

// HostsHeader starts every hosts file netlab writes into /etc/netns: a
// file there without it is not netlab's, and is never changed or removed.
const HostsHeader = "# netlab: "

// HostsFile is a node's /etc/netns/LAB.NODE/hosts.
type HostsFile struct {
	// Content is the whole file. Observed, it is set only for a file
	// that starts with HostsHeader.
	Content string
	// Foreign is set in an observed state for a file there that netlab
	// did not write.
	Foreign bool
	// Digest is set instead of Content in a last-applied record
	// (HostsDigest): every node's file lists every node, so the files of
	// a 1000-node lab are 40 MB, which the record need not hold to tell
	// drift from an edit.
	Digest string `json:",omitempty"`
}

// HostsDigest is the SHA-256 of a hosts file's content, in hex.
func HostsDigest(content string) string {
	sum := sha256.Sum256([]byte(content))
	return hex.EncodeToString(sum[:])
}

// Holds reports whether h, a desired or recorded file, has content:
// by Content, or by Digest in a record.
func (h *HostsFile) Holds(content string) bool {
	if h.Digest != "" {
		return h.Digest == HostsDigest(content)
	}
	return h.Content == content
}

// MachineNameAddr is where a node's hosts file puts the machine's own
// hostname, as Debian's /etc/hosts does.
const MachineNameAddr = "127.0.1.1"

// machineNameComment ends the line of the machine's hostname, which
// tells it from the lab's names.
const machineNameComment = "# this machine's own name, which every node shares"

// MachineNameLine is the line a node's hosts file ends with: the
// machine's hostname on MachineNameAddr. Nodes share the machine's
// hostname (netlab makes no UTS namespace), and a program that looks its
// own name up (python3's http.server does, at start) would otherwise ask
// the machine's name server, out of the lab's reach, and wait seconds.
// It is "" for a hostname that is not a valid one, is localhost, or is a
// name content gives already (a node of that name keeps it).
func MachineNameLine(hostname, content string) string {
	if !validHostname(hostname) || strings.EqualFold(hostname, "localhost") {
		return ""
	}
	line := MachineNameAddr + " " + hostname + "  " + machineNameComment + "\n"
	if !containsFoldASCII(content, hostname) {
		return line // the usual case, found without splitting a thousand lines into fields
	}
	for _, l := range strings.Split(content, "\n") {
		if strings.HasPrefix(l, "#") {
			continue
		}
		if fields := strings.Fields(l); len(fields) > 1 && slices.ContainsFunc(fields[1:], func(f string) bool { return strings.EqualFold(f, hostname) }) {
			return ""
		}
	}
	return line
}

// containsFoldASCII reports whether s contains sub, ASCII letters
// matched without case (a hostname is ASCII), without copying s.
func containsFoldASCII(s, sub string) bool {
	if sub == "" {
		return true
	}
	first := lowerASCII(sub[0])
	for i := 0; i+len(sub) <= len(s); i++ {
		if lowerASCII(s[i]) != first {
			continue
		}
		j := 1
		for j < len(sub) && lowerASCII(s[i+j]) == lowerASCII(sub[j]) {
			j++
		}
		if j == len(sub) {
			return true
		}
	}
	return false
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// WithoutMachineName is content without its MachineNameLine, which a
// hosts file netlab wrote ends with: what the lab's names are, whatever
// the machine is called. Only the last line is looked at (a 1000-node
// lab reads a thousand files of a thousand lines); a machine-name line
// anywhere else is content, which the plan then sees differ.
func WithoutMachineName(content string) string {
	body := strings.TrimSuffix(content, "\n")
	last := body[strings.LastIndexByte(body, '\n')+1:]
	if !IsMachineNameLine(last) {
		return content
	}
	return content[:len(body)-len(last)]
}

// IsMachineNameLine reports whether line, with or without its newline,
// is one line that WithoutMachineName would take off the end of a file:
// a name on MachineNameAddr, with the comment MachineNameLine writes. The
// same comment after another address is content, which the plan sees.
func IsMachineNameLine(line string) bool {
	body := strings.TrimSuffix(line, "\n")
	return !strings.Contains(body, "\n") && strings.HasPrefix(body, MachineNameAddr+" ") && strings.HasSuffix(body, machineNameComment)
}

// validHostname reports whether s is a hostname as RFC 1123 has them:
// dot-separated labels of letters, digits and inner hyphens, 253
// characters at most. Anything else the kernel hands over is not written
// into a file.
func validHostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}
