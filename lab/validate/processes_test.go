package validate_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"netlab/lab"
	"netlab/lab/labfile"
	"netlab/lab/validate"
)

// TestProcessExecLimits: what execve would refuse (an argument or an
// environment entry of MaxExecString bytes or more) and more than
// MaxExecTotal in all is refused, and what fits just passes. The file is
// made here rather than kept in testdata: it is megabytes long.
func TestProcessExecLimits(t *testing.T) {
	long := strings.Repeat("x", validate.MaxExecString)   // one byte too long with its NUL
	fits := strings.Repeat("y", validate.MaxExecString-1) // exactly fits
	envFits := strings.Repeat("z", validate.MaxExecString-3)
	text := fmt.Sprintf(`name: t
nodes:
  a:
    interfaces:
      eth0: {kind: tap}
    run:
      - {name: arg, command: [echo, %s]}
      - {name: fits, command: [echo, %s]}
      - {name: shell, command: "%s"}
      - {name: env, command: [env], env: {K: %s}}
      - {name: env-fits, command: [env], env: {K: %s}}
      - name: total
        command: [echo, %s]
        env: {A: %s}
`, long, fits, long, envFits+"z", envFits, strings.TrimSuffix(strings.Repeat(fits+", ", 7), ", "), strings.Repeat("v", 131000))
	l, diags := labfile.Parse("size.yaml", []byte(text))
	diags.Append(validate.Lab(l)...)
	diags.Sort()
	want := []string{
		`size.yaml:7:37: argument 2 of command of process "arg" of node "a" is 131072 bytes: Linux passes at most 131071 to a program: put the script or data in a file and name the file`,
		`size.yaml:9:32: command, with the exec netlab puts before it, of process "shell" of node "a" is 131077 bytes: Linux passes at most 131071 to a program: put the script or data in a file and name the file`,
		`size.yaml:10:46: env "K" of process "env" of node "a" is 131072 bytes as NAME=VALUE: Linux passes at most 131071 to a program: put the data in a file and name the file`,
		`size.yaml:12:9: command and env of process "total" of node "a" take 1048584 bytes: netlab passes at most 1048576 to a program: put the script or data in a file and name the file`,
	}
	var got []string
	for _, d := range diags {
		got = append(got, d.String())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("diagnostics (-want +got):\n%s", diff)
	}
}

// TestProcessBuiltInGo: a process set in Go, with no positions, is held
// to the same rules as one loaded from a file: a library caller cannot
// pass a name or port the file could not.
func TestProcessBuiltInGo(t *testing.T) {
	l, diags := labfile.Parse("go.yaml", []byte("name: t\nnodes:\n  a:\n    interfaces:\n      eth0: {kind: tap}\n"))
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	l.Node("a").Run = []*lab.Process{
		{Node: "a", Name: "ok", Command: []string{"sleep", "1"}, Ready: &lab.Ready{Proto: "tcp", Port: 80}},
		{Node: "a", Name: "Bad/Name", Command: []string{"sleep", "1"}},
		{Node: "a", Name: "nocmd"},
		{Node: "a", Name: "rel", Command: []string{"true"}, Dir: "tmp"},
		{Node: "a", Name: "port0", Command: []string{"true"}, Ready: &lab.Ready{Proto: "udp"}},
		{Node: "a", Name: "slow", Command: []string{"true"}, Ready: &lab.Ready{Proto: "tcp", Port: 1, Timeout: -time.Second}},
	}
	var got []string
	for _, d := range validate.Lab(l) {
		got = append(got, d.Msg)
	}
	for _, want := range []string{`process name "Bad/Name"`, `"nocmd" of node "a" has no command`, `dir "tmp" of process "rel"`, `ready udp port of process "port0"`, `ready timeout -1s of process "slow"`} {
		if !slices.ContainsFunc(got, func(m string) bool { return strings.Contains(m, want) }) {
			t.Errorf("no diagnostic with %q in:\n%s", want, strings.Join(got, "\n"))
		}
	}
	if len(got) != 5 {
		t.Errorf("%d diagnostics, want 5 (process ok is valid):\n%s", len(got), strings.Join(got, "\n"))
	}
}

// TestShellCommandMeasuredAsExecd: a string command is measured as the
// shell gets it, "exec " and all when netlab adds it, so that a command
// validate passes is one execve takes: a simple command 5 bytes short of
// the limit as written is refused, the same length with an operator
// (run as written) passes.
func TestShellCommandMeasuredAsExecd(t *testing.T) {
	simple := strings.Repeat("x", validate.MaxExecString-5)          // fits as written; with "exec " it does not
	compound := strings.Repeat("x", validate.MaxExecString-3) + "; " // an operator: run as written, one byte short of the limit
	text := fmt.Sprintf("name: t\nnodes:\n  a:\n    interfaces:\n      eth0: {kind: tap}\n    run:\n      - {name: simple, command: \"%s\"}\n      - {name: compound, command: \"%s\"}\n", simple, compound)
	l, diags := labfile.Parse("shell.yaml", []byte(text))
	diags.Append(validate.Lab(l)...)
	var got []string
	for _, d := range diags {
		got = append(got, d.Msg)
	}
	if len(got) != 1 || !strings.Contains(got[0], `process "simple"`) || !strings.Contains(got[0], fmt.Sprintf("is %d bytes", validate.MaxExecString)) {
		t.Errorf("diagnostics %q, want one, of process simple at %d bytes", got, validate.MaxExecString)
	}
}
