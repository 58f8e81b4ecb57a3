package rootlesstest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"

	"netlab/lab/kernel"
)

// probeEnv, set in the test binary's environment, makes it a probe of
// the kernel (TestMain): it prints the needs of the variable's value
// (space-separated) that the kernel lacks, one a line, and exits.
const probeEnv = "NETLAB_TEST_LACKS"

// kernelLacks is the part of needs this kernel lacks, as netlab finds it
// for a user who is not root: the probe makes each device or qdisc in a
// namespace of its own, which a process may do as root or inside a user
// namespace of its own, where a user's netlab runs it (its holder). A
// test run by a user who is not root (CI's netlab-ci) runs the probe in
// a child in a new user namespace; Linux refuses that namespace to a
// process that has threads, as every Go program has.
func kernelLacks(t *testing.T, needs []kernel.Need) []kernel.Need {
	t.Helper()
	if os.Geteuid() == 0 {
		return probeLacks(t, needs)
	}
	words := make([]string, len(needs))
	for i, n := range needs {
		words[i] = string(n)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), probeEnv+"="+strings.Join(words, " "))
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}},
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("probe the kernel in a user namespace: %v: %s", err, stderr.String())
	}
	var lacks []kernel.Need
	for _, w := range strings.Fields(string(out)) {
		n := kernel.Need(w)
		if !slices.Contains(needs, n) {
			t.Fatalf("probe the kernel: it answered %q, which was not asked", w)
		}
		lacks = append(lacks, n)
	}
	return lacks
}

// probeLacks asks the kernel here, in the order of needs.
func probeLacks(t *testing.T, needs []kernel.Need) []kernel.Need {
	t.Helper()
	lacks, err := lacksOf(needs)
	if err != nil {
		t.Fatal(err)
	}
	return lacks
}

func lacksOf(needs []kernel.Need) ([]kernel.Need, error) {
	k := kernel.NewLinux()
	defer k.Close()
	lacks, err := k.Lacks(context.Background(), needs)
	if err != nil {
		return nil, err
	}
	var out []kernel.Need
	for _, n := range needs {
		if _, ok := lacks[n]; ok {
			out = append(out, n)
		}
	}
	return out, nil
}

// runProbe is the probe child's whole run (see probeEnv).
func runProbe(words string) int {
	var needs []kernel.Need
	for _, w := range strings.Fields(words) {
		needs = append(needs, kernel.Need(w))
	}
	lacks, err := lacksOf(needs)
	if err != nil {
		fmt.Fprintln(os.Stderr, "probe:", err)
		return 1
	}
	for _, n := range lacks {
		fmt.Println(n)
	}
	return 0
}
