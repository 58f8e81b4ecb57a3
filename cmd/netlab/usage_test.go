package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestEmptyValuesAreBadUsage: an empty argument or flag value, as a shell
// passes "$VAR" with VAR unset, is bad usage (exit 64) for every command,
// before anything is read or written: it never means the default lab
// (up ""), standard output (render --file ""), no report (check --junit
// "") or no filter (capture --host ""). The first release took each of
// these as something, silently. The command after exec's -- is the
// command's business, except that it needs a name.
func TestEmptyValuesAreBadUsage(t *testing.T) {
	for _, args := range [][]string{
		{"validate", ""}, {"plan", ""}, {"up", ""}, {"down", ""}, {"status", ""},
		{"tui", ""}, {"check", ""}, {"render", ""},
		{"exec", "", "c1", "--", "true"}, {"exec", "--lab", "lab1", "c1", "--", ""},
		{"ping", "--lab", "lab1", "c1", ""}, {"capture", ""}, {"capture", "lab.yaml", ""},
		{"render", "lab.yaml", "--file", ""}, {"render", "lab.yaml", "--file="},
		{"check", "--lab", "lab1", "--junit", ""},
		{"capture", "--lab", "lab1", "c1:eth0", "-w", ""},
		{"capture", "--lab", "lab1", "c1:eth0", "--proto", ""},
		{"capture", "--lab", "lab1", "c1:eth0", "--host", ""},
		{"status", "--lab", "lab1", "-o", ""},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			files := sandbox(t)
			var stdout, stderr bytes.Buffer
			code := run(args, strings.NewReader(""), &stdout, &stderr)
			if code != exitUsage {
				t.Errorf("netlab %q: exit %d, want %d (bad usage)\nstdout: %.200s\nstderr: %s", args, code, exitUsage, stdout.String(), stderr.String())
			}
			if !strings.Contains(stderr.String(), "is empty") {
				t.Errorf("stderr %q does not say what is empty", stderr.String())
			}
			if got := files(); len(got) != 0 {
				t.Errorf("created %q", got)
			}
		})
	}
}

// TestFlagValuesInNetlabsWords: a flag value that does not parse is told
// in netlab's words, naming the flag and what it takes, never in those of
// Go's parsers ("strconv.ParseInt: parsing", "time: unknown unit") nor
// pflag's `invalid argument "X" for "-c, --count" flag`, which says the
// value twice.
func TestFlagValuesInNetlabsWords(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"ping", "--lab", "lab1", "c1", "192.0.2.1", "-c", "abc"}, `netlab: -c/--count takes a whole number, got "abc"`},
		{[]string{"capture", "--lab", "lab1", "c1:eth0", "--port", "70000"}, `netlab: --port takes a whole number from 0 to 65535, got "70000"`},
		{[]string{"capture", "--lab", "lab1", "c1:eth0", "--port", "-1"}, `netlab: --port takes a whole number from 0 to 65535, got "-1"`},
		{[]string{"up", "lab.yaml", "--prune=maybe"}, `netlab: --prune takes true or false (or nothing, for true), got "maybe"`},
		{[]string{"tui", "--lab", "lab1", "--interval", "1x"}, `netlab: --interval takes a duration (500ms, 2s, 1m), got "1x"`},
		{[]string{"down", "--lab", "HX"}, `netlab: --lab: lab name "HX" must start with a lowercase letter`},
		{[]string{"up", "lab.yaml", "--wait", "soon"}, `netlab: --wait: "soon" is not a duration (30s, 2m)`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			files := sandbox(t)
			var stderr bytes.Buffer
			code := run(tc.args, strings.NewReader(""), &bytes.Buffer{}, &stderr)
			if code != exitUsage {
				t.Errorf("exit %d, want %d (bad usage)\nstderr: %s", code, exitUsage, stderr.String())
			}
			if !strings.HasPrefix(stderr.String(), tc.want) {
				t.Errorf("stderr = %q, want it to start with %q", stderr.String(), tc.want)
			}
			for _, leak := range []string{"strconv.", "time: ", "invalid argument", "invalid syntax"} {
				if strings.Contains(stderr.String(), leak) {
					t.Errorf("stderr %q has Go's or pflag's wording %q", stderr.String(), leak)
				}
			}
			if got := files(); len(got) != 0 {
				t.Errorf("created %q", got)
			}
		})
	}
}

// TestNoArgumentsWording: a command that takes no arguments says so, not
// "takes at most 0 argument(s)".
func TestNoArgumentsWording(t *testing.T) {
	var stderr bytes.Buffer
	if code := run([]string{"ls", "x", "y"}, strings.NewReader(""), &bytes.Buffer{}, &stderr); code != exitUsage {
		t.Errorf("ls x y: exit %d, want %d", code, exitUsage)
	}
	if want := "netlab: netlab ls takes no arguments, got: x y\n"; !strings.HasPrefix(stderr.String(), want) {
		t.Errorf("stderr = %q, want it to start with %q", stderr.String(), want)
	}
}
