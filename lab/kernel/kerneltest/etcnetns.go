package kerneltest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"netlab/lab/kernel"
)

// EtcNetNSFile writes a file that a command run in the namespace netns
// sees over /etc/NAME: kernel.EtcNetNSDir/NETNS/NAME. netns must be a
// test's (it starts with Prefix), so that no one else's file is touched.
// When the test ends, pass or fail, the file goes, and so do the
// namespace's directory and kernel.EtcNetNSDir if this call made them and
// they are empty.
func EtcNetNSFile(t testing.TB, netns, name, content string) {
	t.Helper()
	if !strings.HasPrefix(netns, Prefix) || strings.ContainsAny(netns, "/") || strings.ContainsAny(name, "/") || name == "." || name == ".." {
		t.Fatalf("kerneltest: EtcNetNSFile(%q, %q): a test's namespace and a plain file name, please", netns, name)
	}
	dir := filepath.Join(kernel.EtcNetNSDir, netns)
	// Cleanups run last-registered first: the file, then its directory,
	// then /etc/netns.
	mkdir(t, kernel.EtcNetNSDir)
	mkdir(t, dir)
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		t.Fatalf("kerneltest: %v", err)
	}
	t.Cleanup(func() {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Errorf("kerneltest: clean up %v", err)
		}
	})
	_, err = f.WriteString(content)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("kerneltest: write %s: %v", path, err)
	}
}

// mkdir makes dir unless it exists, and then removes it, if empty, when
// the test ends.
func mkdir(t testing.TB, dir string) {
	t.Helper()
	err := os.Mkdir(dir, 0o755)
	if errors.Is(err, os.ErrExist) {
		return
	}
	if err != nil {
		t.Fatalf("kerneltest: %v", err)
	}
	t.Cleanup(func() { _ = os.Remove(dir) }) // fails, harmlessly, if another test still has a file there
}
