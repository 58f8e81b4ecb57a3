package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"netlab/lab/rundir"
)

// hostileNames are lab or node names from a command line that must never
// reach a path: each is refused as bad usage.
var hostileNames = []string{"", "../../x", "../../tmp/x", "a/b", "a b", "HX", "a\nb", "a.b", "..", strings.Repeat("a", 13), strings.Repeat("x", 4096)}

// labArgs are, for each command that takes --lab, arguments that are
// otherwise valid, so that only the name can make it fail. A command that
// takes --lab and is missing here fails the test: add it.
var labArgs = map[string][]string{
	"down":      {},
	"status":    {},
	"tui":       {},
	"exec":      {"c1", "--", "true"},
	"ping":      {"c1", "192.0.2.1"},
	"capture":   {"c1:eth0"},
	"check":     {},
	"logs":      {"c1/http"},
	"trace":     {"c1", "192.0.2.1"},
	"conntrack": {"c1"},
}

// nodeArgs puts a NODE (or ping's node-name TARGET) into each command that
// takes one.
var nodeArgs = map[string]func(node string) []string{
	"exec":           func(n string) []string { return []string{"exec", "--lab", "lab1", n, "--", "true"} },
	"ping":           func(n string) []string { return []string{"ping", "--lab", "lab1", n, "192.0.2.1"} },
	"ping target":    func(n string) []string { return []string{"ping", "--lab", "lab1", "c1", n} },
	"capture":        func(n string) []string { return []string{"capture", "--lab", "lab1", n + ":eth0"} },
	"exec file":      func(n string) []string { return []string{"exec", "lab.yaml", n, "--", "true"} },
	"logs":           func(n string) []string { return []string{"logs", "lab.yaml", n + "/http", "-f"} },
	"trace":          func(n string) []string { return []string{"trace", "--lab", "lab1", n, "192.0.2.1"} },
	"trace target":   func(n string) []string { return []string{"trace", "--lab", "lab1", "c1", n} },
	"conntrack":      func(n string) []string { return []string{"conntrack", "--lab", "lab1", n} },
	"conntrack file": func(n string) []string { return []string{"conntrack", "lab.yaml", n, "--flush"} },
}

// sandbox points the run directory into a fresh temporary tree, and the
// working directory at another, and returns a function that lists every
// file under both: none may be created by a refused command.
func sandbox(t *testing.T) func() []string {
	t.Helper()
	base := t.TempDir()
	old := runDir
	runDir = rundir.At(filepath.Join(base, "run", "netlab"))
	t.Cleanup(func() { runDir = old })
	work := filepath.Join(base, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "lab.yaml"), []byte(validLab), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(work)
	return func() []string {
		var out []string
		filepath.WalkDir(base, func(path string, d fs.DirEntry, err error) error {
			if err == nil && path != base && path != work && path != filepath.Join(work, "lab.yaml") {
				out = append(out, strings.TrimPrefix(path, base))
			}
			return nil
		})
		return out
	}
}

// short names a subtest after a hostile name, cut to a readable length.
func short(s string) string {
	if len(s) > 20 {
		return fmt.Sprintf("%.20q...(%d bytes)", s, len(s))
	}
	return fmt.Sprintf("%q", s)
}

// TestHostileLabNames gives every command that takes --lab every hostile
// name: each exits 64 and creates nothing, root or not.
func TestHostileLabNames(t *testing.T) {
	root := newRootCmd(&env{})
	for _, cmd := range root.Commands() {
		if cmd.Flags().Lookup("lab") == nil {
			continue
		}
		rest, ok := labArgs[cmd.Name()]
		if !ok {
			t.Errorf("netlab %s takes --lab but is not in labArgs: add it", cmd.Name())
			continue
		}
		for _, bad := range hostileNames {
			for _, form := range [][]string{{"--lab", bad}, {"--lab=" + bad}} {
				args := append(append([]string{cmd.Name()}, form...), rest...)
				t.Run(cmd.Name()+" "+short(form[len(form)-1]), func(t *testing.T) {
					files := sandbox(t)
					var stdout, stderr bytes.Buffer
					code := run(args, strings.NewReader(""), &stdout, &stderr)
					if code != exitUsage {
						t.Errorf("exit %d, want %d (bad usage)\nstderr: %s", code, exitUsage, stderr.String())
					}
					if !strings.HasPrefix(stderr.String(), "netlab: --lab: ") {
						t.Errorf("stderr %q does not name --lab", stderr.String())
					}
					if got := files(); len(got) != 0 {
						t.Errorf("created %q", got)
					}
				})
			}
		}
	}
}

// TestHostileNodeNames gives every NODE argument every hostile name.
func TestHostileNodeNames(t *testing.T) {
	for what, args := range nodeArgs {
		for _, bad := range hostileNames {
			if bad == "" && what == "capture" {
				continue // ":eth0" is refused as not NODE:IFACE, checked below
			}
			t.Run(what+" "+short(bad), func(t *testing.T) {
				files := sandbox(t)
				var stdout, stderr bytes.Buffer
				code := run(args(bad), strings.NewReader(""), &stdout, &stderr)
				if code != exitUsage {
					t.Errorf("netlab %q: exit %d, want %d (bad usage)\nstderr: %s", args(bad), code, exitUsage, stderr.String())
				}
				// An empty one is refused as every empty argument is.
				if !strings.Contains(stderr.String(), "node name") && (bad != "" || !strings.Contains(stderr.String(), "is empty")) {
					t.Errorf("stderr %q does not say the node name is wrong", stderr.String())
				}
				if got := files(); len(got) != 0 {
					t.Errorf("created %q", got)
				}
			})
		}
	}
	t.Run("capture interface", func(t *testing.T) {
		files := sandbox(t)
		for _, bad := range []string{"a/b", "a b", "..", strings.Repeat("e", 16)} {
			var stderr bytes.Buffer
			if code := run([]string{"capture", "--lab", "lab1", "c1:" + bad}, strings.NewReader(""), &bytes.Buffer{}, &stderr); code != exitUsage {
				t.Errorf("capture c1:%q: exit %d, want %d\nstderr: %s", bad, code, exitUsage, stderr.String())
			}
		}
		if got := files(); len(got) != 0 {
			t.Errorf("created %q", got)
		}
	})
}

// TestEmptyLabIsNotDefault: --lab ” is bad usage, never the default lab.
func TestEmptyLabIsNotDefault(t *testing.T) {
	files := sandbox(t)
	var stderr bytes.Buffer
	if code := run([]string{"down", "--lab", ""}, strings.NewReader(""), &bytes.Buffer{}, &stderr); code != exitUsage {
		t.Errorf("down --lab '': exit %d, want %d", code, exitUsage)
	}
	if !strings.Contains(stderr.String(), "an empty --lab does not mean the default lab") {
		t.Errorf("stderr %q does not explain the empty --lab", stderr.String())
	}
	if got := files(); len(got) != 0 {
		t.Errorf("created %q", got)
	}
}

// TestDownOfNoLabLeavesNoFiles runs down on a lab that never existed: it
// reports nothing to remove and leaves the run directory empty. It runs
// on a fake kernel and, as root, on the real one.
func TestDownOfNoLabLeavesNoFiles(t *testing.T) {
	onBothKernels(t, testDownOfNoLabLeavesNoFiles)
}

func testDownOfNoLabLeavesNoFiles(t *testing.T) {
	files := sandbox(t)
	var stdout, stderr bytes.Buffer
	if code := run([]string{"down", "--lab", "nosuch"}, strings.NewReader(""), &stdout, &stderr); code != exitOK {
		t.Fatalf("down --lab nosuch: exit %d\nstderr: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "Lab nosuch is not running") {
		t.Errorf("stdout %q", stdout.String())
	}
	// The run directory itself is made (mode 0700); nothing is left in it.
	if got, want := files(), []string{"/run", "/run/netlab"}; !slices.Equal(got, want) {
		t.Errorf("after down the sandbox holds %q, want only %q", got, want)
	}
}
