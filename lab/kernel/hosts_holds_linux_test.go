package kernel

import (
	"strings"
	"testing"

	"netlab/lab/state"
)

// TestHoldsHosts: a file read back is the wanted content exactly when it
// is that content, and at most the machine-name line after it; anything
// else is read in full (ReadHostsFile) and compared by the plan.
func TestHoldsHosts(t *testing.T) {
	want := state.HostsHeader + "test\n10.0.0.1 a\n"
	line := state.MachineNameLine("vm", want)
	for _, c := range []struct {
		data string
		ok   bool
	}{
		{want, true},
		{want + line, true},
		{want + line[:len(line)-1], true}, // the line without its newline
		{want + "10.0.0.2 b\n", false},
		{want + strings.Replace(line, state.MachineNameAddr, "10.9.9.9", 1), false}, // the name moved elsewhere
		{want + line + "10.0.0.2 b\n", false},
		{want + "10.0.0.2 b\n" + line, false},
		{want[:len(want)-1], false},
		{"# other\n10.0.0.1 a\n", false},
		{"", false},
	} {
		if got := holdsHosts([]byte(c.data), want); got != c.ok {
			t.Errorf("holdsHosts(%q) = %v, want %v", c.data, got, c.ok)
		}
		// What holdsHosts accepts, ReadHostsFile reads as want too.
		if c.ok {
			if h := ReadHostsFile(c.data); h.Content != want {
				t.Errorf("ReadHostsFile(%q) = %q, but holdsHosts says it is want", c.data, h.Content)
			}
		}
	}
}
