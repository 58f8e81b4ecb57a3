package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"netlab/lab/kernel/kerneltest"
)

func TestMain(m *testing.M) {
	// The leak check fails the run if a namespace of a lab the tests
	// named (LabName, or $LAB in a script) is left behind.
	testscript.Main(kerneltest.LeakCheck(m), map[string]func(){
		"netlab": func() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// TestScript runs the command line scripts of testdata/script. Set
// NETLAB_UPDATE=1 to rewrite the expected output of failing cmp commands
// in place, then read the diff.
func TestScript(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		UpdateScripts:       os.Getenv("NETLAB_UPDATE") != "",
		Condition:           condition,
		Setup:               setupLab,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exitcode":  cmdExitCode,
			"validjson": cmdValidJSON,
		},
	})
}

// setupLab gives each script a lab name of its own in $LAB ("nltest"
// and 6 random characters), writes it for the literal text $LAB in the
// script's *.yaml files, and removes whatever that lab left in the kernel
// and /run/netlab when the script ends, pass or fail.
func setupLab(env *testscript.Env) error {
	name := kerneltest.NewLabName()
	env.Setenv("LAB", name)
	env.Defer(func() {
		if err := kerneltest.RemoveLab(name); err != nil {
			env.T().Log(err)
		}
	})
	return filepath.WalkDir(env.WorkDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil || !bytes.Contains(data, []byte("$LAB")) {
			return err
		}
		return os.WriteFile(path, bytes.ReplaceAll(data, []byte("$LAB"), []byte(name)), 0o644)
	})
}

// cmdValidJSON checks that a file holds one valid JSON value.
//
//	validjson FILE
func cmdValidJSON(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: validjson FILE")
	}
	ok := json.Valid([]byte(ts.ReadFile(args[0])))
	switch {
	case ok && neg:
		ts.Fatalf("%s is valid JSON", args[0])
	case !ok && !neg:
		ts.Fatalf("%s is not valid JSON", args[0])
	}
}

// condition evaluates a script's [cond] lines beyond the built-in ones.
func condition(cond string) (bool, error) {
	switch cond {
	case "root":
		return os.Geteuid() == 0, nil
	}
	return false, fmt.Errorf("unknown condition %q", cond)
}

// cmdExitCode runs a program and requires a precise exit code, which
// `exec` and `! exec` cannot: exit 1 (a bad file) and exit 64 (bad usage)
// mean different things to a script calling netlab.
//
//	exitcode CODE PROGRAM [ARGS...]
//
// Its standard output and error are kept for stdout, stderr and cmp, as
// after exec.
func cmdExitCode(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! exitcode (give the code to expect instead)")
	}
	if len(args) < 2 {
		ts.Fatalf("usage: exitcode CODE PROGRAM [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exitcode: bad code %q", args[0])
	}
	got := 0
	var exitErr *exec.ExitError
	switch err := ts.Exec(args[1], args[2:]...); {
	case err == nil:
	case errors.As(err, &exitErr):
		got = exitErr.ExitCode()
	default:
		ts.Fatalf("exitcode: %v", err)
	}
	if got != want {
		ts.Fatalf("%s exited with code %d, want %d", args[1], got, want)
	}
}
