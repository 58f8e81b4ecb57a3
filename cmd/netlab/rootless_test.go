package main

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"netlab/lab/kernel"
	"netlab/lab/rootless"
)

// notKernelCommands are the commands that never touch the kernel: they
// run where they are asked, for any user.
var notKernelCommands = map[string]bool{
	"validate": true, "render": true, "help": true,
	kernel.LauncherCommand: true, rootless.HolderCommand: true,
}

// asUser makes forwardHere see euid, in netlab's own binary, until the
// test ends.
func asUser(t *testing.T, euid int) {
	t.Helper()
	old, oldBinary := geteuid, isNetlabBinary
	geteuid = func() int { return euid }
	isNetlabBinary = true
	t.Cleanup(func() { geteuid, isNetlabBinary = old, oldBinary })
}

// TestForwardHere: a kernel command goes to the holder only for a user
// who is not root, on the real kernel, outside the holder (not a
// worker); validate, render and help never do. Every command is one or
// the other, so a new command cannot be left out of kernelCommands by
// mistake. (Not parallel: geteuid, testKernel and worker are the
// package's.)
func TestForwardHere(t *testing.T) {
	root := newRootCmd(&env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard})
	root.InitDefaultHelpCmd()
	commands := map[string]*cobra.Command{}
	for _, c := range root.Commands() {
		commands[c.Name()] = c
		if kernelCommands[c.Name()] == notKernelCommands[c.Name()] {
			t.Errorf("command %q: say whether it runs in the holder (kernelCommands) or not (notKernelCommands)", c.Name())
		}
	}
	for name := range kernelCommands {
		if commands[name] == nil {
			t.Errorf("kernelCommands names %q, which is no command", name)
		}
	}
	d := rootless.Dir{}
	for _, tc := range []struct {
		name   string
		euid   int
		fake   bool
		worker *rootless.Dir
		want   bool // for a kernel command
	}{
		{"a user", 1000, false, nil, true},
		{"root", 0, false, nil, false},
		{"a user on a fake kernel", 1000, true, nil, false},
		{"a worker", 1000, false, &d, false},
		{"root in the holder", 0, false, &d, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			asUser(t, tc.euid)
			if tc.fake {
				useFakeKernel(t)
			}
			old := worker
			worker = tc.worker
			t.Cleanup(func() { worker = old })
			for name, c := range commands {
				if got, want := forwardHere(c), tc.want && kernelCommands[name]; got != want {
					t.Errorf("forwardHere(%s) = %v, want %v", name, got, want)
				}
			}
			if forwardHere(root) {
				t.Error("forwardHere(netlab) with no command = true")
			}
		})
	}
}

// TestUserCommandIsForwarded: run by a user, a kernel command's parsing
// ends in errForward (what run hands to rootless.Forward) before the
// command does anything, and validate runs here.
func TestUserCommandIsForwarded(t *testing.T) {
	if testKernel != nil || worker != nil {
		t.Fatal("the package's seams are set")
	}
	asUser(t, 4000017)
	for _, args := range [][]string{{"ls"}, {"status", "--lab", "nlfw"}, {"down", "--lab", "nlfw"}, {"plan", "no-such-file.yaml"}} {
		var stderr strings.Builder
		root := newRootCmd(&env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &stderr})
		root.SetArgs(args)
		root.SetOut(io.Discard)
		root.SetErr(&stderr)
		if err := root.Execute(); !errors.Is(err, errForward) {
			t.Errorf("netlab %s as a user = %v (%s); want errForward", strings.Join(args, " "), err, stderr.String())
		}
	}
	// validate reads a file and no kernel: it runs, and fails here.
	var stderr strings.Builder
	root := newRootCmd(&env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &stderr})
	root.SetArgs([]string{"validate", "no-such-file.yaml"})
	root.SetOut(io.Discard)
	root.SetErr(&stderr)
	if err := root.Execute(); err == nil || errors.Is(err, errForward) {
		t.Errorf("netlab validate of a missing file as a user = %v; want it run here, and fail", err)
	}
}
