package kernel_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/state"
)

// hostsText is a hosts file of netlab's.
func hostsText(lines ...string) string {
	s := state.HostsHeader + "written by a test\n"
	for _, l := range lines {
		s += l + "\n"
	}
	return s
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

func readString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestHostsSet, in a directory of the test's own (WithEtcNetNSDir): the
// file and its directory are made, the file is updated in place (same
// inode), listed whether or not its namespace exists, and removed with
// its directory; a foreign file, a symbolic link planted for the node's
// directory or its file, a FIFO, are refused and left as they are.
func TestHostsSet(t *testing.T) {
	kerneltest.RequireRoot(t)
	root := t.TempDir()
	etc := filepath.Join(root, "netns")
	k := kernel.NewLinux(kernel.WithEtcNetNSDir(etc))
	defer k.Close()
	lab := kerneltest.LabName(t)
	ns := func(node string) string { return state.NetNSName(lab, node) }
	path := filepath.Join(etc, ns("a"), "hosts")

	v1 := hostsText("127.0.0.1 localhost", "10.0.0.1 a", "10.0.0.2 b")
	if err := k.HostsSet(ctx, ns("a"), v1); err != nil {
		t.Fatal(err)
	}
	if got := readString(t, path); got != v1+machineLine(t, v1) {
		t.Errorf("written %q, want %q", got, v1+machineLine(t, v1))
	}
	for p, mode := range map[string]os.FileMode{etc: 0o755 | os.ModeDir, filepath.Dir(path): 0o755 | os.ModeDir, path: 0o644} {
		if fi, err := os.Lstat(p); err != nil || fi.Mode() != mode {
			t.Errorf("%s: mode %v (%v), want %v", p, fi.Mode(), err, mode)
		}
	}
	ino := inode(t, path)
	v2 := hostsText("127.0.0.1 localhost")
	if err := k.HostsSet(ctx, ns("a"), v2); err != nil {
		t.Fatal(err)
	}
	if got := readString(t, path); got != v2+machineLine(t, v2) {
		t.Errorf("updated to %q, want %q", got, v2+machineLine(t, v2))
	}
	if inode(t, path) != ino {
		t.Error("the update made a new file: processes in the node still see the old one")
	}

	// Foreign: a file without the header, refused for writing and removing.
	const mine = "10.9.9.9 mine\n"
	if err := os.MkdirAll(filepath.Join(etc, ns("b")), 0o755); err != nil {
		t.Fatal(err)
	}
	foreign := filepath.Join(etc, ns("b"), "hosts")
	if err := os.WriteFile(foreign, []byte(mine), 0o644); err != nil {
		t.Fatal(err)
	}
	// A symbolic link for a node's directory, and one for a file.
	elsewhere := t.TempDir()
	if err := os.Symlink(elsewhere, filepath.Join(etc, ns("c"))); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(elsewhere, "target")
	if err := os.WriteFile(target, []byte(hostsText("1.1.1.1 target")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(etc, ns("d")), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(etc, ns("d"), "hosts")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(etc, ns("e")), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(etc, ns("e"), "hosts"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, node := range []string{"b", "c", "d", "e"} {
		for _, content := range []string{v1, ""} {
			done := make(chan error, 1)
			go func() { done <- k.HostsSet(ctx, ns(node), content) }()
			var err error
			select {
			case err = <-done:
			case <-time.After(5 * time.Second):
				t.Fatalf("HostsSet of node %s hangs", node)
			}
			var fe *kernel.ForeignError
			if !errors.As(err, &fe) || fe.File == "" {
				t.Errorf("HostsSet(%s, %.10q): %v, want *ForeignError with the file", node, content, err)
			}
		}
	}
	if got := readString(t, foreign); got != mine {
		t.Errorf("foreign file now %q", got)
	}
	if got := readString(t, target); got != hostsText("1.1.1.1 target") {
		t.Errorf("the link's target now %q", got)
	}
	if entries, _ := os.ReadDir(elsewhere); len(entries) != 1 {
		t.Errorf("a file was made through the directory link: %v", entries)
	}

	// Listed though no namespace exists; foreign ones are not.
	if err := k.HostsSet(ctx, ns("f"), v2); err != nil {
		t.Fatal(err)
	}
	files, err := k.HostsFiles(ctx, lab)
	if err != nil || !slices.Equal(files, []string{ns("a"), ns("f")}) {
		t.Errorf("HostsFiles = %v, %v; want [%s %s]", files, err, ns("a"), ns("f"))
	}
	// Observe reads them for the lab's namespaces.
	if err := k.NetNSAdd(ctx, lab, "a"); err != nil {
		t.Fatal(err)
	}
	if err := k.NetNSAdd(ctx, lab, "b"); err != nil {
		t.Fatal(err)
	}
	s, err := k.Observe(ctx, lab, state.New(lab)) // a plan's read, with the content
	if err != nil {
		t.Fatal(err)
	}
	if h := s.Nodes["a"].Hosts; h == nil || h.Content != v2 || h.Foreign {
		t.Errorf("observed hosts of a: %+v", h)
	}
	if h := s.Nodes["b"].Hosts; h == nil || !h.Foreign || h.Content != "" {
		t.Errorf("observed hosts of b: %+v, want foreign", h)
	}
	if err := k.NetNSDel(ctx, ns("a")); err != nil {
		t.Fatal(err)
	}
	if files, _ := k.HostsFiles(ctx, lab); !slices.Contains(files, ns("a")) {
		t.Errorf("HostsFiles after the namespace went: %v", files)
	}

	// Removed, with the directory; twice is fine.
	for range 2 {
		if err := k.HostsSet(ctx, ns("a"), ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Lstat(filepath.Dir(path)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the node's directory is left: %v", err)
	}
	// A directory with more in it stays.
	if err := os.WriteFile(filepath.Join(etc, ns("f"), "resolv.conf"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := k.HostsSet(ctx, ns("f"), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(etc, ns("f"), "resolv.conf")); err != nil {
		t.Errorf("another file of the node's directory: %v", err)
	}

	// Refused before anything: the machine's namespace, a name that is
	// no node's, content without the header.
	if err := k.HostsSet(ctx, state.HostNetNS, v1); !kernel.IsPerm(err) {
		t.Errorf("hosts of the machine: %v, want EPERM", err)
	}
	for _, bad := range []string{"../x", lab + ".a/../../y", "nodot"} {
		if err := k.HostsSet(ctx, bad, v1); err == nil {
			t.Errorf("HostsSet(%q) took it", bad)
		}
	}
	if err := k.HostsSet(ctx, ns("g"), "no header\n"); err == nil {
		t.Error("HostsSet wrote a file without the header")
	}
}

// TestHostsHardLink: a hosts file with a second name (a hard link planted
// there, to a file elsewhere that starts with netlab's header) is not
// netlab's: written, it would change that other file. It is refused for
// writing and removing, and Observe reports it foreign, so plan shows it
// as a conflict before up changes anything.
func TestHostsHardLink(t *testing.T) {
	kerneltest.RequireRoot(t)
	root := t.TempDir()
	etc := filepath.Join(root, "netns")
	k := kernel.NewLinux(kernel.WithEtcNetNSDir(etc))
	defer k.Close()
	lab := kerneltest.LabName(t)
	netns := state.NetNSName(lab, "a")
	if err := os.MkdirAll(filepath.Join(etc, netns), 0o755); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(root, "other")
	planted := hostsText("10.9.9.9 planted")
	if err := os.WriteFile(other, []byte(planted), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(other, filepath.Join(etc, netns, "hosts")); err != nil {
		t.Fatal(err)
	}
	for _, content := range []string{hostsText("10.0.0.1 a"), ""} {
		var fe *kernel.ForeignError
		if err := k.HostsSet(ctx, netns, content); !errors.As(err, &fe) {
			t.Errorf("HostsSet(%.12q) of a hard link: %v, want *ForeignError", content, err)
		}
	}
	if got := readString(t, other); got != planted {
		t.Errorf("the other name's file now %q", got)
	}
	if files, err := k.HostsFiles(ctx, lab); err != nil || len(files) != 0 {
		t.Errorf("HostsFiles = %v, %v; want none", files, err)
	}
	if err := k.NetNSAdd(ctx, lab, "a"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.NetNSDel(ctx, netns) })
	s, err := k.Observe(ctx, lab, nil)
	if err != nil {
		t.Fatal(err)
	}
	if h := s.Nodes["a"].Hosts; h == nil || !h.Foreign {
		t.Errorf("observed hosts of a: %+v, want foreign", h)
	}
}

// TestHostsEtcDirLink: an etc directory that is a symbolic link is not
// followed.
func TestHostsEtcDirLink(t *testing.T) {
	kerneltest.RequireRoot(t)
	root := t.TempDir()
	realDir := filepath.Join(root, "realDir")
	if err := os.Mkdir(realDir, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(root, "netns")
	if err := os.Symlink(realDir, link); err != nil {
		t.Fatal(err)
	}
	k := kernel.NewLinux(kernel.WithEtcNetNSDir(link))
	defer k.Close()
	if err := k.HostsSet(ctx, "nltestx.a", hostsText()); err == nil {
		t.Error("HostsSet wrote through a linked etc directory")
	}
	if entries, _ := os.ReadDir(realDir); len(entries) != 0 {
		t.Errorf("made %v through the link", entries)
	}
}

// TestHostsSeenByRunningProcess: in the machine's /etc/netns, a process
// started in the node sees the file over /etc/hosts, and, since it is
// written in place, sees an update without a restart.
func TestHostsSeenByRunningProcess(t *testing.T) {
	k, lab := procLab(t)
	netns := state.NetNSName(lab, "a")
	_, statErr := os.Lstat(kernel.EtcNetNSDir)
	t.Cleanup(func() {
		if err := k.HostsSet(ctx, netns, ""); err != nil {
			t.Error(err)
		}
		if statErr != nil {
			_ = os.Remove(kernel.EtcNetNSDir) // made by this test; only if empty
		}
	})
	v1 := hostsText("192.0.2.1 server")
	if err := k.HostsSet(ctx, netns, v1); err != nil {
		t.Fatal(err)
	}
	p := startProc(t, k, lab, declared("web", nil, "sleep", "60"))
	seen := fmt.Sprintf("/proc/%d/root/etc/hosts", p.Pid) // through its mounts
	if got := readString(t, seen); got != v1+machineLine(t, v1) {
		t.Errorf("the process sees /etc/hosts as %q, want %q", got, v1+machineLine(t, v1))
	}
	v2 := hostsText("192.0.2.1 server", "192.0.2.2 client")
	if err := k.HostsSet(ctx, netns, v2); err != nil {
		t.Fatal(err)
	}
	if got := readString(t, seen); got != v2+machineLine(t, v2) {
		t.Errorf("after the update the process sees %q, want %q", got, v2+machineLine(t, v2))
	}
}

// machineLine is the line of the machine's own name HostsSet ends a file
// of that content with.
func machineLine(t *testing.T, content string) string {
	t.Helper()
	hostname, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	return state.MachineNameLine(hostname, content)
}

// TestHostsMachineName: a node's hosts file names the machine's own
// hostname on 127.0.1.1, so that a program in the node that looks its own
// name up is answered at once (python3 -m http.server without --bind
// does, at start, and waited for an unreachable name server); Observe
// leaves the line out, so it is never a difference.
func TestHostsMachineName(t *testing.T) {
	kerneltest.RequireRoot(t)
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("needs python3")
	}
	hostname, err := os.Hostname()
	if err != nil || state.MachineNameLine(hostname, "") == "" {
		t.Skipf("the machine's hostname %q is not one a hosts file can give", hostname)
	}
	k := kernel.NewLinux()
	defer k.Close()
	lab := kerneltest.LabName(t)
	kerneltest.RegisterLab(t, lab)
	if err := k.NetNSAdd(ctx, lab, "a"); err != nil {
		t.Fatal(err)
	}
	netns := state.NetNSName(lab, "a")
	content := hostsText("127.0.0.1 localhost", "10.0.0.1 a")
	if err := k.HostsSet(ctx, netns, content); err != nil {
		t.Fatal(err)
	}
	obs, err := k.Observe(ctx, lab, state.New(lab)) // a plan's read, with the content
	if err != nil {
		t.Fatal(err)
	}
	if h := obs.Nodes["a"].Hosts; h == nil || h.Content != content {
		t.Errorf("observed hosts file %+v, want the content written, without the machine's line", h)
	}
	out, err := exec.Command(python, "-c", "import sys; sys.exit(0)").CombinedOutput() // warm the disk cache
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, out)
	}
	var stdout bytes.Buffer
	cmd, err := kernel.Launch{NetNS: netns, Argv: []string{python, "-c", "import socket; print(socket.gethostbyname(socket.gethostname()))"}, Stdout: &stdout, Stderr: &stdout}.Command()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("lookup of the machine's name in the node: %v\n%s", err, stdout.String())
	}
	if got := strings.TrimSpace(stdout.String()); got != state.MachineNameAddr {
		t.Errorf("the machine's name %s is %s in the node, want %s", hostname, got, state.MachineNameAddr)
	}
	t.Logf("looked up in %s", time.Since(start).Round(time.Millisecond))
}

// TestHostsEtcParentLink: a symbolic link anywhere on the way to the etc
// directory is not followed either, by the lookups down makes (list,
// remove) as by a write: the netlab file behind it stays.
func TestHostsEtcParentLink(t *testing.T) {
	kerneltest.RequireRoot(t)
	root := t.TempDir()
	realDir := filepath.Join(root, "real", "netns", "nltestx.a")
	if err := os.MkdirAll(realDir, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(realDir, "hosts")
	if err := os.WriteFile(file, []byte(hostsText()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "real"), filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	k := kernel.NewLinux(kernel.WithEtcNetNSDir(filepath.Join(root, "link", "netns")))
	defer k.Close()
	if names, err := k.HostsFiles(ctx, "nltestx"); err == nil || len(names) != 0 {
		t.Errorf("HostsFiles through a linked parent = %v, %v; want a refusal", names, err)
	}
	if err := k.HostsSet(ctx, "nltestx.a", ""); err == nil {
		t.Error("HostsSet removed through a linked parent")
	}
	if err := k.HostsSet(ctx, "nltestx.b", hostsText()); err == nil {
		t.Error("HostsSet wrote through a linked parent")
	}
	if _, err := os.Stat(file); err != nil {
		t.Errorf("the file behind the link: %v", err)
	}
}

// TestHostsEmptyDirectorySwept: an up killed after it made a node's
// directory under /etc/netns and before it wrote the file there leaves
// the directory empty. HostsFiles lists it, so that down sweeps it, and
// removing the node's hosts file removes it; a directory with something
// else in it (a file of someone's own, as ip netns exec would bind)
// is not listed, and it stays, with what is in it.
func TestHostsEmptyDirectorySwept(t *testing.T) {
	kerneltest.RequireRoot(t)
	etc := filepath.Join(t.TempDir(), "netns")
	k := kernel.NewLinux(kernel.WithEtcNetNSDir(etc))
	defer k.Close()
	lab := kerneltest.LabName(t)
	ns := func(node string) string { return state.NetNSName(lab, node) }
	if err := k.HostsSet(ctx, ns("c"), hostsText("10.0.0.3 c")); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{ns("a"), ns("b")} {
		if err := os.Mkdir(filepath.Join(etc, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mine := filepath.Join(etc, ns("b"), "resolv.conf")
	if err := os.WriteFile(mine, []byte("nameserver 192.0.2.53\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	listed, err := k.HostsFiles(ctx, lab)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{ns("a"), ns("c")}; !slices.Equal(listed, want) {
		t.Errorf("HostsFiles = %v, want %v (the empty directory and the file of netlab's)", listed, want)
	}
	for _, node := range []string{"a", "b", "c"} {
		if err := k.HostsSet(ctx, ns(node), ""); err != nil {
			t.Errorf("remove the hosts file of %s: %v", node, err)
		}
	}
	for _, node := range []string{"a", "c"} {
		if _, err := os.Lstat(filepath.Join(etc, ns(node))); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the directory of %s is still there: %v", node, err)
		}
	}
	if got := readString(t, mine); got != "nameserver 192.0.2.53\n" {
		t.Errorf("someone's own file in b's directory: %q", got)
	}
	if listed, err := k.HostsFiles(ctx, lab); err != nil || len(listed) != 0 {
		t.Errorf("HostsFiles after the removal = %v, %v; want none", listed, err)
	}
}
