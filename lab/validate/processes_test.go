package validate_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

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
		`size.yaml:9:32: command of process "shell" of node "a" is 131072 bytes: Linux passes at most 131071 to a program: put the script or data in a file and name the file`,
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
