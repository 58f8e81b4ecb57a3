package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

const (
	validLab   = "name: t\nnodes:\n  a:\n    interfaces:\n      tun0: {kind: tun}\n"
	invalidLab = "name: T\nnodes:\n  a:\n    interfaces:\n      tun0: {kind: tun, mtu: 1}\n"
)

// TestRunExitCodes pins the exit code of run, and which stream carries the
// output, for each kind of outcome the command line spec names.
func TestRunExitCodes(t *testing.T) {
	t.Chdir(t.TempDir())
	for name, text := range map[string]string{"valid.yaml": validLab, "invalid.yaml": invalidLab} {
		if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout bool // whether anything is printed on standard output
		wantStderr bool
	}{
		// success
		{"valid file", []string{"validate", "valid.yaml"}, exitOK, false, false},
		{"default lab", []string{"validate"}, exitOK, false, false},
		{"valid file as json", []string{"validate", "-o", "json", "valid.yaml"}, exitOK, true, false},
		{"help", []string{"--help"}, exitOK, true, false},
		{"validate help", []string{"validate", "-h"}, exitOK, true, false},
		{"no command", nil, exitOK, true, false},

		// a failure the message explains
		{"invalid file", []string{"validate", "invalid.yaml"}, exitFailure, false, true},
		{"invalid file as json", []string{"validate", "-o", "json", "invalid.yaml"}, exitFailure, true, false},
		{"missing file", []string{"validate", "missing.yaml"}, exitFailure, false, true},
		{"directory", []string{"validate", "."}, exitFailure, false, true},

		// bad usage
		{"unknown command", []string{"frobnicate"}, exitUsage, false, true},
		{"unknown flag", []string{"validate", "--bogus"}, exitUsage, false, true},
		{"unknown shorthand flag", []string{"validate", "-x", "valid.yaml"}, exitUsage, false, true},
		{"too many arguments", []string{"validate", "valid.yaml", "invalid.yaml"}, exitUsage, false, true},
		{"bad output format", []string{"validate", "-o", "yaml", "valid.yaml"}, exitUsage, false, true},
		{"output flag without value", []string{"validate", "-o"}, exitUsage, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, strings.NewReader(""), &stdout, &stderr)
			if code != tc.wantCode {
				t.Errorf("run(%q) = %d, want %d\nstderr:\n%s", tc.args, code, tc.wantCode, stderr.String())
			}
			if got := stdout.Len() > 0; got != tc.wantStdout {
				t.Errorf("run(%q) printed %q on stdout; want output: %v", tc.args, stdout.String(), tc.wantStdout)
			}
			if got := stderr.Len() > 0; got != tc.wantStderr {
				t.Errorf("run(%q) printed %q on stderr; want output: %v", tc.args, stderr.String(), tc.wantStderr)
			}
			if tc.wantCode == exitUsage && !strings.HasPrefix(stderr.String(), "netlab: ") {
				t.Errorf("usage error %q does not start with \"netlab: \"", stderr.String())
			}
		})
	}
}

// TestValidateJSON checks that -o json carries every field of every
// diagnostic, as the text form does.
func TestValidateJSON(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.WriteFile("bad.yaml", []byte(invalidLab), 0o644); err != nil {
		t.Fatal(err)
	}
	var text, js, stderr bytes.Buffer
	if code := run([]string{"validate", "bad.yaml"}, strings.NewReader(""), &bytes.Buffer{}, &text); code != exitFailure {
		t.Fatalf("validate: exit %d, want %d", code, exitFailure)
	}
	if code := run([]string{"validate", "-o", "json", "bad.yaml"}, strings.NewReader(""), &js, &stderr); code != exitFailure {
		t.Fatalf("validate -o json: exit %d, want %d", code, exitFailure)
	}
	var got []struct {
		File, Severity, Message, Hint string
		Line, Col                     int
	}
	if err := json.Unmarshal(js.Bytes(), &got); err != nil {
		t.Fatalf("validate -o json printed invalid JSON %q: %v", js.String(), err)
	}
	lines := strings.Split(strings.TrimSuffix(text.String(), "\n"), "\n")
	if len(got) != len(lines) || len(got) == 0 {
		t.Fatalf("json has %d diagnostics, text %d:\n%s\n%s", len(got), len(lines), js.String(), text.String())
	}
	for i, d := range got {
		if d.File != "bad.yaml" || d.Line < 1 || d.Col < 1 || d.Severity != "error" || d.Message == "" {
			t.Errorf("diagnostic %d is incomplete: %+v", i, d)
		}
		if !strings.HasPrefix(lines[i], "bad.yaml:") || !strings.Contains(lines[i], d.Message) || !strings.Contains(lines[i], d.Hint) {
			t.Errorf("json diagnostic %+v does not match text line %q", d, lines[i])
		}
	}
}
