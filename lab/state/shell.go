package state

import (
	"slices"
	"strings"
)

// ShellArgv is the argv of a command the file wrote as a string:
// /bin/sh -c and the string, with "exec " before it when it is one simple
// command. bash execs such a command by itself; dash (Debian's /bin/sh)
// forks it and waits, which would leave two processes per declaration,
// a shell that dies on SIGTERM while its program runs on, and a pid that
// is not the program's. Anything the test below cannot prove simple (an
// operator, a redirection, an expansion, a keyword, a builtin, an
// assignment) runs as written.
// Plan and validate both build it here, so that what validate measures
// against execve's limits is what is exec'd.
func ShellArgv(script string) []string {
	if simpleCommand(script) {
		script = "exec " + script
	}
	return []string{"/bin/sh", "-c", script}
}

// shellWords are the words that are not a program when they come first:
// dash's keywords and builtins (exec'd, a builtin would be looked up as
// a file, or not found).
var shellWords = strings.Fields(`! { } case do done elif else esac fi for if in then until while
	. : [ alias bg break cd chdir command continue echo eval exec exit export false fc fg getopts
	hash jobs kill local printf pwd read readonly return set shift test times trap true type
	ulimit umask unalias unset wait`)

// simpleCommand reports whether script is one command with plain
// arguments: words of letters, digits and -_./:=,+%@^ and quoted strings
// ('...', or "..." without $, ` or \), the first word unquoted, without
// =, and not one of shellWords. It reads script once and copies nothing:
// plan calls it for every process of every up, and a command may be
// near execve's 128 KiB.
func simpleCommand(script string) bool {
	first := ""          // the first word
	words, start := 0, 0 // words begun so far; where the current one began
	in := false          // inside a word
	for i := 0; i < len(script); i++ {
		c := script[i]
		if c == ' ' || c == '\t' {
			in = false
			continue
		}
		if !in {
			words, start, in = words+1, i, true
		}
		switch {
		case c == '\'' || c == '"':
			if words == 1 {
				return false // a quoted program name: leave it to the shell
			}
			end := strings.IndexByte(script[i+1:], c)
			if end < 0 || c == '"' && strings.ContainsAny(script[i+1:i+1+end], "$`\\") {
				return false
			}
			i += end + 1
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_./:=,+%@^", c) >= 0:
			if words == 1 {
				first = script[start : i+1]
			}
		default:
			return false
		}
	}
	return words > 0 && !strings.Contains(first, "=") && !slices.Contains(shellWords, first)
}
