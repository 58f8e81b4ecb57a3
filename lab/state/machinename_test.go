package state

import "testing"

// TestMachineNameLine: the machine's hostname gets its line unless it is
// no valid hostname, localhost, or a name of the lab already; the line is
// taken out again exactly.
func TestMachineNameLine(t *testing.T) {
	content := HostsHeader + "test\n127.0.0.1 localhost\n10.0.0.1 web\n10.0.0.1 web-eth0\n"
	for host, want := range map[string]bool{
		"vm": true, "build-7.example.org": true, "WEB": false, "web-eth0": false, "localhost": false,
		"": false, "-x": false, "a b": false, "a\nb": false, "x..y": false, "ünï": false,
	} {
		line := MachineNameLine(host, content)
		if (line != "") != want {
			t.Errorf("MachineNameLine(%q) = %q, want a line: %v", host, line, want)
			continue
		}
		if got := WithoutMachineName(content + line); got != content {
			t.Errorf("WithoutMachineName(content + line of %q) = %q, want the content", host, got)
		}
	}
	if got := WithoutMachineName(content); got != content {
		t.Errorf("WithoutMachineName changed a file without the line: %q", got)
	}
	// A machine-name line that is not the last is content: netlab writes
	// it last, so one elsewhere was moved by hand and the plan sees it.
	moved := HostsHeader + "test\n" + MachineNameLine("vm", content) + "10.0.0.1 web\n"
	if got := WithoutMachineName(moved); got != moved {
		t.Errorf("WithoutMachineName took a line out of the middle: %q", got)
	}
	// The comment after another address is no machine-name line: a name
	// moved to an address of someone's choosing is content.
	moved = content + "10.9.9.9 vm  " + machineNameComment + "\n"
	if got := WithoutMachineName(moved); got != moved {
		t.Errorf("WithoutMachineName took off a line of another address: %q", got)
	}
	// A name that only contains the hostname does not keep it from its line.
	if MachineNameLine("we", content) == "" {
		t.Errorf("MachineNameLine(we) is empty, but no name of the file is we")
	}
}

// TestContainsFoldASCII: the hostname precheck finds a name in any case,
// at either end, and never reads past the end of the file.
func TestContainsFoldASCII(t *testing.T) {
	for _, c := range []struct {
		s, sub string
		want   bool
	}{
		{"10.0.0.1 Web\n", "wEB", true}, {"web", "WEB", true}, {"xweb", "web", true},
		{"we", "web", false}, {"wex web", "web", true}, {"", "a", false}, {"abc", "", true},
		{"10.0.0.1 wé\n", "WÉ", false}, // only ASCII folds; hostnames are ASCII
	} {
		if got := containsFoldASCII(c.s, c.sub); got != c.want {
			t.Errorf("containsFoldASCII(%q, %q) = %v, want %v", c.s, c.sub, got, c.want)
		}
	}
}
