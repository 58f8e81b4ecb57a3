package state

import (
	"slices"
	"testing"
)

// TestShellArgv: a string that is one simple command is exec'd by the
// shell, so that the declared process is the program; anything else runs
// as written.
func TestShellArgv(t *testing.T) {
	for script, simple := range map[string]bool{
		"python3 -m http.server 80 --bind 192.168.31.10": true,
		"python3 -c 'import time; time.sleep(100)'":      true,
		`nc -l -p 80 -e "/bin/cat"`:                      true,
		"sleep 100":                                      true,
		"  sleep\t100  ":                                 true,
		"/usr/sbin/dnsmasq -k --conf-file=/dev/null":     true,
		"while sleep 1; do date; done":                   false,
		"echo hi > /tmp/x":                               false,
		"a | b":                                          false,
		"server & client":                                false,
		"FOO=1 server":                                   false,
		"cd /tmp && python3 -m http.server":              false,
		"cd /tmp":                                        false,
		"exit 3":                                         false,
		"echo $HOME":                                     false,
		`echo "$HOME"`:                                   false,
		"echo `id`":                                      false,
		"ls *.txt":                                       false,
		"'python3' -V":                                   false,
		"python3 -c 'unterminated":                       false,
		"sleep 1\nsleep 2":                               false,
		"":                                               false,
		"   ":                                            false,
		"trap '' TERM":                                   false,
		"ls ~":                                           false,
		"sleep 1 # comment":                              false,
		"(sleep 1)":                                      false,
	} {
		got := ShellArgv(script)
		want := []string{"/bin/sh", "-c", map[bool]string{true: "exec " + script, false: script}[simple]}
		if !slices.Equal(got, want) {
			t.Errorf("ShellArgv(%q) = %q, want %q", script, got, want)
		}
	}
}
