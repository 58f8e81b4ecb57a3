package kernel

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"netlab/lab/state"
)

// TestLaunchArgsRoundTrip: what Command puts on the launcher's command
// line decodes back to the same launch, whatever the values look like.
func TestLaunchArgsRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		l    Launch
	}{
		{"plain", Launch{NetNS: "lab.n1", Argv: []string{"ip", "addr"}}},
		{"dir", Launch{NetNS: "lab.n1", Dir: "/var/tmp", Argv: []string{"ls"}}},
		{"values that look like the encoding", Launch{NetNS: "a-1.b-2", Dir: "--", Argv: []string{"--dir", "--", "--netns", ""}}},
		{"dir with spaces", Launch{NetNS: "lab.n1", Dir: "/tmp/a b", Argv: []string{"sh", "-c", "echo $0"}}},
		{"rootless directories", Launch{NetNS: "lab.n1", Argv: []string{"ls"}, NetNSDir: "/run/user/1000/netlab/netns", EtcDir: "/run/user/1000/netlab/etc"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.l.Env = []string{"A=1"}
			c, err := tc.l.Command()
			if err != nil {
				t.Fatal(err)
			}
			if c.Path != selfExe || c.Args[0] != "netlab" || c.Args[1] != LauncherCommand || !slices.Equal(c.Env, tc.l.Env) {
				t.Errorf("Command() = %s %q env %q; want %s netlab %s ... with env %q", c.Path, c.Args, c.Env, selfExe, LauncherCommand, tc.l.Env)
			}
			sp, err := parseLaunchArgs(c.Args[2:])
			if err != nil {
				t.Fatalf("parseLaunchArgs(%q): %v", c.Args[2:], err)
			}
			want := tc.l
			if want.NetNSDir == "" {
				want.NetNSDir, want.EtcDir = NetNSDir, EtcNetNSDir
			}
			got := Launch{NetNS: sp.netns, Dir: sp.dir, Argv: sp.argv, Env: tc.l.Env, NetNSDir: sp.netnsDir, EtcDir: sp.etcDir}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseLaunchArgsRefuses: the launcher takes only what Command makes.
func TestParseLaunchArgsRefuses(t *testing.T) {
	const d = "--netns-dir"
	const e = "--etc-dir"
	for _, args := range [][]string{
		nil,
		{"--netns", "lab.n1", "--dir", "", d, "/n", e, "/e", "--"},                  // no command
		{"--netns", "lab.n1", "--dir", "", d, "/n", e, "/e", "--", ""},              // empty command
		{"--dir", "", "--netns", "lab.n1", d, "/n", e, "/e", "--", "ls"},            // other order
		{"--netns", "lab.n1", "--dir", "", d, "/n", e, "/e", "ls"},                  // no --
		{"--netns", "lab.n1", d, "/n", e, "/e", "--", "ls", "x", "y"},               // no --dir
		{"--netns", "lab.n1", "--dir", "", "--", "ls", "x", "y", "z", "w"},          // no directories
		{"--netns", "lab.n1", "--dir", "", d, "n", e, "/e", "--", "ls"},             // a relative directory
		{"--netns", "lab.n1", "--dir", "", d, "/n", e, "/e/../x", "--", "ls"},       // an unclean one
		{"--netns", "lab.n1", "--dir", "", d, "", e, "/e", "--", "ls"},              // an empty one
		{"--netns", "../../etc.x", "--dir", "", d, "/n", e, "/e", "--", "ls"},       // a path
		{"--netns", "nodot", "--dir", "", d, "/n", e, "/e", "--", "ls"},             // not LAB.NODE
		{"--netns", "Lab.n1", "--dir", "", d, "/n", e, "/e", "--", "ls"},            // not a valid lab name
		{"--netns", "lab.n1.x", "--dir", "", d, "/n", e, "/e", "--", "ls"},          // two dots
		{"--netns", "lab.n1\n", "--dir", "", d, "/n", e, "/e", "--", "ls"},          // a newline
		{"--netns", "lab.thirteenchars", "--dir", "", d, "/n", e, "/e", "--", "ls"}, // too long
	} {
		if _, err := parseLaunchArgs(args); err == nil {
			t.Errorf("parseLaunchArgs(%q) = nil error, want a refusal", args)
		}
	}
}

// TestLookPath: a bare name is searched in PATH's absolute directories,
// the first executable regular file winning; a name with a slash is that
// file. Nothing of that name is ENOENT (exit 127); only files that cannot
// be executed are EACCES (exit 126).
func TestLookPath(t *testing.T) {
	tmp := t.TempDir()
	first, second := filepath.Join(tmp, "first"), filepath.Join(tmp, "second")
	for _, d := range []string{first, second, filepath.Join(first, "adir")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(path string, mode os.FileMode) {
		if err := os.WriteFile(path, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(first, "tool"), 0o644) // same name, not executable
	write(filepath.Join(second, "tool"), 0o755)
	write(filepath.Join(first, "plain"), 0o644)
	write(filepath.Join(first, "here"), 0o755)
	t.Chdir(first)

	tests := []struct {
		name, cmd, path string
		want            string
		wantErr         error
	}{
		{"first executable wins", "tool", first + ":" + second, filepath.Join(second, "tool"), nil},
		{"order matters", "tool", second + ":" + first, filepath.Join(second, "tool"), nil},
		{"not found", "nltest-none", first + ":" + second, "", unix.ENOENT},
		{"only a file without x", "plain", first, "", unix.EACCES},
		{"only a directory", "adir", first, "", unix.EACCES},
		{"relative entries are skipped", "here", ".:first:", "", unix.ENOENT},
		{"a missing directory is skipped", "tool", "/nonexistent:" + second, filepath.Join(second, "tool"), nil},
		{"a slash means that file", "./here", "/nonexistent", "./here", nil},
		{"a file with a slash that is not there", "./nltest-none", second, "", unix.ENOENT},
		{"a directory with a slash", "./adir", second, "", unix.EACCES},
		{"a path through a file", "./plain/x", second, "", unix.ENOTDIR},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := lookPath(tc.cmd, tc.path)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Errorf("lookPath(%q, %q) = %q, %v; want error %v", tc.cmd, tc.path, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("lookPath(%q, %q) = %q, %v; want %q", tc.cmd, tc.path, got, err, tc.want)
			}
		})
	}
}

// TestCannotRun: the exit code of a command that did not run is the
// shell's: 127 not found, 126 found but not runnable.
func TestCannotRun(t *testing.T) {
	tests := []struct {
		name, cmd string
		found     bool
		err       error
		wantCode  int
		wantMsg   string
	}{
		{"not in PATH", "nosuch", false, unix.ENOENT, 127, `command "nosuch" not found in PATH`},
		{"no such file", "./nosuch", false, unix.ENOENT, 127, `command "./nosuch" not found`},
		{"through a file", "./f/x", false, unix.ENOTDIR, 127, `command "./f/x" not found`},
		{"not executable", "./f", false, unix.EACCES, 126, `command "./f" is not an executable file`},
		{"missing interpreter", "./s", true, unix.ENOENT, 126, `command "./s" cannot be run: the interpreter of its #! line, or its loader, does not exist`},
		{"no #! line", "./s", true, unix.ENOEXEC, 126, `command "./s" cannot be run: not a program this kernel can run (no #! line?)`},
		{"refused by execve", "./s", true, unix.EACCES, 126, `command "./s" cannot be run: permission denied`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, msg := cannotRun(tc.cmd, tc.found, tc.err)
			if code != tc.wantCode || msg != tc.wantMsg {
				t.Errorf("cannotRun(%q, %v, %v) = %d, %q; want %d, %q", tc.cmd, tc.found, tc.err, code, msg, tc.wantCode, tc.wantMsg)
			}
		})
	}
}

// TestExitStatus: a command's own exit code, or 128+N for signal N.
func TestExitStatus(t *testing.T) {
	for script, want := range map[string]int{"exit 0": 0, "exit 3": 3, "kill -KILL $$": 128 + 9, "kill -TERM $$": 128 + 15} {
		c := exec.Command("/bin/sh", "-c", script)
		_ = c.Run()
		if got := ExitStatus(c.ProcessState); got != want {
			t.Errorf("sh -c %q: ExitStatus = %d, want %d", script, got, want)
		}
	}
}

// TestLaunchNeedsAnsweringProgram: a program that has not said it answers
// the launcher (AnswerLauncher, LauncherAnswered) is not started as one:
// it would run itself again in the node, a test binary all its tests,
// each starting more.
func TestLaunchNeedsAnsweringProgram(t *testing.T) {
	was := launcherAnswered.Swap(false)
	defer launcherAnswered.Store(was)
	if _, err := (Launch{NetNS: "lab.node", Argv: []string{"true"}}).Command(); !errors.Is(err, errNoLauncher) {
		t.Errorf("Command() before AnswerLauncher: %v, want %v", err, errNoLauncher)
	}
	k := NewLinux()
	defer k.Close()
	if _, err := k.ProcessStart(context.Background(), "nltestnol", "a", &state.Process{Name: "p", Argv: []string{"true"}, Dir: "/", Hash: state.DeclHash([]string{"true"}, nil, "/")}, os.Stdout); !errors.Is(err, errNoLauncher) {
		t.Errorf("ProcessStart before AnswerLauncher: %v, want %v", err, errNoLauncher)
	}
	LauncherAnswered()
	if _, err := (Launch{NetNS: "lab.node", Argv: []string{"true"}}).Command(); err != nil {
		t.Errorf("Command() after LauncherAnswered: %v", err)
	}
}

// TestLaunchArgsProcessFlag: a declared process's mark survives the
// round trip with a rootless netlab's directories, and a command that
// looks like the mark is a command, not the mark.
func TestLaunchArgsProcessFlag(t *testing.T) {
	t.Parallel()
	l := Launch{NetNS: "lab.n1", Dir: "/", NetNSDir: "/run/user/1000/netlab/netns", EtcDir: "/run/user/1000/netlab/etc"}
	for _, tc := range []struct {
		process bool
		argv    []string
	}{
		{true, []string{"sleep", "1"}},
		{true, []string{processFlag, "--"}},
		{false, []string{processFlag, "--", "ls"}},
	} {
		l.Argv = tc.argv
		args := launchArgs(l, tc.process)
		sp, err := parseLaunchArgs(args[1:])
		if err != nil {
			t.Fatalf("parseLaunchArgs(%q): %v", args[1:], err)
		}
		if sp.process != tc.process || !slices.Equal(sp.argv, tc.argv) || sp.netnsDir != l.NetNSDir || sp.etcDir != l.EtcDir || sp.netns != l.NetNS || sp.dir != l.Dir {
			t.Errorf("launchArgs(%q, %v) decodes to %+v", tc.argv, tc.process, sp)
		}
	}
}
