package kerneltest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"netlab/lab/kernel"
	"netlab/lab/rundir"
	"netlab/lab/state"
)

// Namespaces made by tests, and labs run by tests, are named "nltest"
// followed by random characters, so that a person (or a leak check) can
// tell them from everything else on the machine. A lab name has at most
// 12 characters, so LabName returns "nltest" and 6 random ones; the
// namespaces of that lab are then LAB.NODE.

const (
	// Prefix starts the name of every namespace and lab a test makes.
	Prefix = "nltest"
	// RunDir is where netlab keeps its lock files and records.
	RunDir = rundir.Default

	nameChars = "abcdefghijklmnopqrstuvwxyz0123456789"
)

// registry remembers every name this process handed out, so that the leak
// check looks only at its own: tests of other packages run in parallel
// processes and make namespaces of their own.
var registry struct {
	mu   sync.Mutex
	labs map[string]bool // lab names: namespaces LAB.*
	bare map[string]bool // bare namespace names
}

func register(name string, lab bool) {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if registry.labs == nil {
		registry.labs = make(map[string]bool)
		registry.bare = make(map[string]bool)
	}
	if lab {
		registry.labs[name] = true
	} else {
		registry.bare[name] = true
	}
}

// randomName returns Prefix followed by n random characters of [a-z0-9].
func randomName(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("kerneltest: random: " + err.Error())
	}
	for i := range b {
		b[i] = nameChars[int(b[i])%len(nameChars)]
	}
	return Prefix + string(b)
}

var root struct {
	once sync.Once
	why  string // why kernel tests cannot run here; "" when they can
}

// RequireRoot skips the test unless the process is root and can create a
// network namespace (checked once per process, with ip(8)).
func RequireRoot(t testing.TB) {
	t.Helper()
	root.once.Do(func() {
		if os.Geteuid() != 0 {
			root.why = "kernel test skipped: it needs root to create network namespaces."
			return
		}
		if _, err := exec.LookPath("ip"); err != nil {
			root.why = "kernel test skipped: it needs ip(8) from iproute2."
			return
		}
		name := randomName(6)
		register(name, false)
		if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
			root.why = fmt.Sprintf("kernel test skipped: cannot create a network namespace here (%s).", strings.TrimSpace(string(out)))
			return
		}
		if err := deleteNetNS(name); err != nil {
			root.why = fmt.Sprintf("kernel test skipped: cannot delete a network namespace here (%v).", err)
		}
	})
	if root.why != "" {
		t.Skip(root.why)
	}
}

// NewLabName returns a fresh lab name, "nltest" and 6 random characters,
// and records it for the leak check. The caller removes what the lab
// leaves with RemoveLab; tests use LabName, which does that in Cleanup.
func NewLabName() string {
	for {
		name := randomName(6)
		if !labExists(name) {
			register(name, true)
			return name
		}
	}
}

// labExists reports whether anything of a lab of that name is on the
// machine already.
func labExists(name string) bool {
	ns, _ := labNetNS(name)
	files, _ := filepath.Glob(filepath.Join(RunDir, name+".*"))
	return len(ns) > 0 || len(files) > 0
}

// LabName returns a unique lab name for a test, "nltest" and 6 random
// characters. When the test ends, pass or fail, every namespace of that
// lab (LAB.*, marked or not) and its files under /run/netlab are removed.
func LabName(t testing.TB) string {
	t.Helper()
	return RegisterLab(t, NewLabName())
}

// RegisterLab takes name as a lab of the test, as LabName does for a name
// it picks, for tests that need names related to each other (one a prefix
// of another). name must start with "nltest".
func RegisterLab(t testing.TB, name string) string {
	t.Helper()
	if !strings.HasPrefix(name, Prefix) || len(name) > 12 || strings.ContainsAny(name, "./") {
		t.Fatalf("kerneltest: lab name %q must start with %q, have at most 12 characters and no dot or slash", name, Prefix)
	}
	register(name, true)
	t.Cleanup(func() {
		if err := RemoveLab(name); err != nil {
			t.Errorf("kerneltest: clean up lab %s: %v", name, err)
		}
	})
	return name
}

// RemoveLab deletes every namespace of the lab (LAB.*, marked or not),
// the links a host node of it left in the root namespace (those with its
// marker, nothing else), and its files under /run/netlab.
func RemoveLab(name string) error {
	var errs []error
	ns, err := labNetNS(name)
	if err != nil {
		errs = append(errs, err)
	}
	if os.Geteuid() == 0 {
		// What holds a namespace or outlives it: the processes in it,
		// and its hosts file (as down removes them).
		errs = append(errs, removeProcessesAndHosts(name, ns))
	}
	for _, n := range ns {
		if err := deleteNetNS(n); err != nil {
			errs = append(errs, err)
		}
	}
	if os.Geteuid() == 0 { // without root, no test can have made any
		k := kernel.NewLinux()
		defer k.Close()
		ctx := context.Background()
		links, err := k.HostLinks(ctx, name)
		if err != nil {
			errs = append(errs, err)
		}
		for _, l := range links {
			if err := k.LinkDel(ctx, state.HostNetNS, l); err != nil {
				errs = append(errs, err)
			}
		}
	}
	files, _ := filepath.Glob(filepath.Join(RunDir, name+".*"))
	for _, f := range files {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// NewTestNS creates a bare namespace (no netlab marker) with a unique
// "nltest" name and removes it when the test ends.
func NewTestNS(t testing.TB) string {
	t.Helper()
	RequireRoot(t)
	name := randomName(6)
	register(name, false)
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("kerneltest: ip netns add %s: %v: %s", name, err, out)
	}
	t.Cleanup(func() {
		if err := deleteNetNS(name); err != nil {
			t.Errorf("kerneltest: clean up namespace %s: %v", name, err)
		}
	})
	return name
}

// labNetNS lists the namespaces of a lab: NetNSDir/LAB.*.
func labNetNS(lab string) ([]string, error) {
	entries, err := os.ReadDir(kernel.NetNSDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), lab+".") {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// deleteNetNS removes a namespace with ip(8); one already gone is fine.
func deleteNetNS(name string) error {
	if _, err := os.Lstat(filepath.Join(kernel.NetNSDir, name)); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	out, err := exec.Command("ip", "netns", "del", name).CombinedOutput()
	if err != nil {
		if _, serr := os.Lstat(filepath.Join(kernel.NetNSDir, name)); errors.Is(serr, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("ip netns del %s: %v: %s", name, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Leaks returns the namespaces that names handed out by this process still
// have in NetNSDir, sorted.
func Leaks() []string {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	entries, _ := os.ReadDir(kernel.NetNSDir)
	var out []string
	for _, e := range entries {
		name := e.Name()
		if registry.bare[name] {
			out = append(out, name)
			continue
		}
		if lab, _, ok := strings.Cut(name, "."); ok && registry.labs[lab] {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// TestingM is what a TestMain runs: *testing.M, or testscript's view of it.
type TestingM interface{ Run() int }

// LeakCheck wraps m so that, after the tests ran, any namespace this
// process's tests made and did not remove fails the run: each is named on
// stderr, and then removed. Use it as
//
//	func TestMain(m *testing.M) { os.Exit(kerneltest.LeakCheck(m).Run()) }
//
// or pass it where testscript.Main takes the *testing.M.
func LeakCheck(m TestingM) TestingM { return leakCheck{m} }

type leakCheck struct{ m TestingM }

func (l leakCheck) Run() int {
	code := l.m.Run()
	leaks := Leaks()
	if len(leaks) == 0 {
		return code
	}
	fmt.Fprintf(os.Stderr, "kerneltest: %d namespace(s) left behind by the tests: %s\n", len(leaks), strings.Join(leaks, " "))
	for _, name := range leaks {
		if err := deleteNetNS(name); err != nil {
			fmt.Fprintf(os.Stderr, "kerneltest: %v\n", err)
		}
	}
	if code == 0 {
		code = 1
	}
	return code
}
