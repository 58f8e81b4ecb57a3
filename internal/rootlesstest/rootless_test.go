package rootlesstest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"netlab/internal/benchlab"
	"netlab/lab/apply"
	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/labfile"
	"netlab/topologies"
)

// Each shipped course lab comes up for a user who is not root, passes its
// checks, runs a command in a node, shows the same plan as for root, and
// goes down leaving nothing: no process, no mount, no file (the
// tester's cleanup checks the last).
func TestShippedLabsAsAUser(t *testing.T) {
	t.Parallel()
	names := topologies.Names()
	if len(names) < 10 {
		t.Fatalf("shipped labs: %v", names)
	}
	u := newTester(t)
	for _, name := range names {
		t.Run(strings.TrimSuffix(name, ".yaml"), func(t *testing.T) {
			file := shippedLab(t, name)
			if option := lackedOption(t, name); option != "" {
				// The kernel lacks what the lab needs: up refuses it, at
				// the field, naming the option, and makes nothing.
				r := u.run(t, "up", file)
				if r.code != 1 || !strings.Contains(r.stderr, option) || !strings.Contains(r.stderr, "which this kernel lacks") {
					t.Errorf("up of a lab that needs %s on a kernel without it: %s", option, r)
				}
				t.Skipf("this kernel lacks %s, which %s needs: its refusal is what was tested", option, name)
			}
			if name == "tuntap.yaml" {
				// Its taps belong to uid 1000: a user's own lab gives the
				// user's ids, as the refusal asks.
				file = writeLab(t, withOwner(t, file, u.uid, u.gid))
				if !othersMayOpen(t, "/dev/net/tun") {
					r := u.run(t, "up", file)
					if r.code != 1 || !strings.Contains(r.stderr, "needs /dev/net/tun") {
						t.Errorf("up of taps on a machine whose /dev/net/tun is root's: %s", r)
					}
					return
				}
			}
			up := u.mustRun(t, "up", file)
			if !strings.Contains(up.stdout, "is up") {
				t.Errorf("up said: %s", up)
			}
			u.mustRun(t, "plan", "--detailed-exitcode", file)
			if r := u.run(t, "check", file); r.code != 0 {
				t.Errorf("check: %s", r)
			}
			status := u.mustRun(t, "status", "-o", "json", file)
			node := firstNode(t, status.stdout)
			exec := u.mustRun(t, "exec", file, node, "--", "cat", "/proc/net/dev")
			if !strings.Contains(exec.stdout, "lo:") {
				t.Errorf("exec in %s: no lo in /proc/net/dev:\n%s", node, exec.stdout)
			}
			down := u.mustRun(t, "down", file)
			if !strings.Contains(down.stdout, "is down") {
				t.Errorf("down said: %s", down)
			}
		})
	}
}

// lackedOption is the kernel option of the first need of a shipped lab
// that this kernel lacks, or "".
func lackedOption(t *testing.T, name string) string {
	t.Helper()
	data, err := topologies.Read(name)
	if err != nil {
		t.Fatal(err)
	}
	l, diags := labfile.Parse(name, data)
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	var needs []kernel.Need
	for _, u := range apply.Needs(l, "") {
		needs = append(needs, u.Need)
	}
	if lacks := kernelLacks(t, needs); len(lacks) > 0 {
		return lacks[0].Option()
	}
	return ""
}

// othersMayOpen reports whether a user who does not own path may read
// and write it.
func othersMayOpen(t *testing.T, path string) bool {
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()&0o006 == 0o006
}

// withOwner rewrites a lab's tun and tap owner and group to the given ids.
func withOwner(t *testing.T, file string, uid, gid uint32) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(shared, file))
	if err != nil {
		t.Fatal(err)
	}
	text := regexp.MustCompile(`owner: \d+`).ReplaceAllString(string(b), fmt.Sprintf("owner: %d", uid))
	text = regexp.MustCompile(`group: \d+`).ReplaceAllString(text, fmt.Sprintf("group: %d", gid))
	if text == string(b) {
		t.Fatalf("%s has no owner to rewrite", file)
	}
	return text
}

// firstNode is the first node of a `status -o json`.
func firstNode(t *testing.T, out string) string {
	t.Helper()
	var s struct {
		Nodes []struct{ Name string }
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil || len(s.Nodes) == 0 {
		t.Fatalf("status -o json: %v:\n%s", err, out)
	}
	return s.Nodes[0].Name
}

// A plan of a lab not yet up is the same for a user as for root, text and
// JSON.
func TestPlanSameAsRoot(t *testing.T) {
	requireRoot(t, "it compares with root's netlab")
	t.Parallel()
	u := newTester(t)
	file := writeLab(t, twoNodes(kerneltest.LabName(t)))
	for _, format := range []string{"text", "json"} {
		mine := u.mustRun(t, "plan", "-o", format, file)
		roots := runAsRoot(t, "plan", "-o", format, file)
		if roots.code != 0 || mine.stdout != roots.stdout {
			t.Errorf("plan -o %s as a user differs from root's:\nuser: %s\nroot: %s", format, mine, roots)
		}
	}
}

// requireRoot skips a test that needs root, saying why.
func requireRoot(t *testing.T, why string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("skipped without root: %s", why)
	}
}

// runAsRoot runs netlab as the tests' own user, root.
func runAsRoot(t *testing.T, args ...string) result {
	t.Helper()
	root := &tester{uid: 0}
	c := root.command(args...)
	c.Env = append(os.Environ(), "LANG=C")
	var out, errb strings.Builder
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if err != nil {
		r.code = c.ProcessState.ExitCode()
	}
	return r
}

func twoNodes(lab string) string {
	return fmt.Sprintf(`name: %s
nodes:
  a:
    interfaces:
      eth0: {addresses: [10.9.0.1/24]}
  b:
    interfaces:
      eth0: {addresses: [10.9.0.2/24]}
links:
  - [a:eth0, b:eth0]
checks:
  - {from: a, ping: 10.9.0.2}
`, lab)
}

// Root's lab and two users' labs of the same name are three labs: each
// sees only its own, and down of one leaves the others as they were.
func TestUsersAndRootAreApart(t *testing.T) {
	requireRoot(t, "it runs netlab as root and as two users of its own")
	t.Parallel()
	lab := kerneltest.LabName(t)
	file := writeLab(t, twoNodes(lab))
	alice, bob := newTester(t), newTester(t)
	t.Cleanup(func() { runAsRoot(t, "down", "--lab", lab) })
	if r := runAsRoot(t, "up", file); r.code != 0 {
		t.Fatalf("root up: %s", r)
	}
	alice.mustRun(t, "up", file)
	bob.mustRun(t, "up", file)
	for who, ls := range map[string]result{
		"root": runAsRoot(t, "ls", "-o", "json"), "alice": alice.mustRun(t, "ls", "-o", "json"), "bob": bob.mustRun(t, "ls", "-o", "json"),
	} {
		if n := count(labNames(ls.stdout), lab); n != 1 {
			t.Errorf("%s's ls lists lab %s %d times:\n%s", who, lab, n, ls.stdout)
		}
	}
	// Root's namespaces are only root's.
	if got, _ := filepath.Glob(filepath.Join(kernel.NetNSDir, lab+".*")); len(got) != 2 {
		t.Errorf("root's namespaces of %s: %v, want a and b only", lab, got)
	}
	alice.mustRun(t, "down", "--lab", lab)
	if r := bob.mustRun(t, "check", file); !strings.Contains(r.stdout, "1 passed") {
		t.Errorf("bob's lab after alice's down: %s", r)
	}
	if r := runAsRoot(t, "check", file); r.code != 0 {
		t.Errorf("root's lab after alice's down: %s", r)
	}
	// Bob's directory is not alice's to use.
	steal := alice.command("ls")
	steal.Env = append(steal.Env, "XDG_RUNTIME_DIR="+bob.xdg)
	if out, err := steal.CombinedOutput(); err == nil || !strings.Contains(string(out), "not yours") && !strings.Contains(string(out), "permission denied") {
		t.Errorf("alice's netlab with bob's XDG_RUNTIME_DIR: %v\n%s", err, out)
	}
	bob.mustRun(t, "down", "--lab", lab)
	if r := runAsRoot(t, "down", "--lab", lab); r.code != 0 {
		t.Errorf("root down: %s", r)
	}
}

func count(names []string, name string) int {
	n := 0
	for _, x := range names {
		if x == name {
			n++
		}
	}
	return n
}

// What needs root is refused before anything changes, at the field of the
// file that asks for it.
func TestRefusesWhatNeedsRoot(t *testing.T) {
	t.Parallel()
	u := newTester(t)
	for _, tc := range []struct {
		name, text, field string
	}{
		{"host node", `name: nlrefuse
nodes:
  host:
    host: true
    interfaces:
      veth9: {addresses: [10.8.0.1/24]}
  a:
    interfaces:
      eth0: {addresses: [10.8.0.2/24]}
links:
  - [host:veth9, a:eth0]
`, "host: true"},
		{"tap of another user", fmt.Sprintf(`name: nlrefuse
nodes:
  a:
    interfaces:
      tap0: {kind: tap, tap: {owner: %d}}
`, u.uid+1), fmt.Sprintf("owner %d", u.uid+1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := writeLab(t, tc.text)
			r := u.run(t, "up", file)
			if r.code != 1 || !strings.Contains(r.stderr, tc.field) || !regexp.MustCompile(regexp.QuoteMeta(file)+`:\d+:\d+`).MatchString(r.stderr) {
				t.Errorf("up: want exit 1 with %q at %s:LINE:COL, got %s", tc.field, file, r)
			}
			if r := u.mustRun(t, "ls", "-o", "json"); len(labNames(r.stdout)) != 0 {
				t.Errorf("the refused up made a lab: %s", r.stdout)
			}
		})
	}
}

// kill -9 of the holder takes the user's labs with it; the next command
// says so, stops the lab's processes that outlived it, and removes its
// files, after which up and down work again.
func TestHolderKilled(t *testing.T) {
	requireRoot(t, "its tester must be a uid of its own, whose processes it counts")
	t.Parallel()
	u := newTester(t)
	file := shippedLab(t, "containers.yaml") // has processes (run:)
	u.mustRun(t, "up", file)
	if len(u.processes(t)) < 3 { // the holder and two processes
		t.Fatalf("after up: processes %v", u.processes(t))
	}
	pid := holderPid(t, u)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitGone(t, pid)
	ls := u.mustRun(t, "ls")
	if !strings.Contains(ls.stderr, "had ended") || !strings.Contains(ls.stderr, "containers") {
		t.Errorf("ls after the holder was killed: %s", ls)
	}
	u.waitIdle() // the holder ls started leaves, as no lab is left
	if left := u.processes(t); len(left) > 0 {
		t.Errorf("processes left after the sweep: %v", left)
	}
	if _, err := os.Lstat(u.dir()); err == nil {
		t.Errorf("%s left after the sweep", u.dir())
	}
	u.mustRun(t, "up", file)
	u.mustRun(t, "plan", "--detailed-exitcode", file)
	u.mustRun(t, "down", file)
}

// holderPid reads the tester's holder pid, and checks that the process is
// the tester's netlab holder before anyone signals it.
func holderPid(t *testing.T, u *tester) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(u.dir(), "holder.json"))
	if err != nil {
		t.Fatal(err)
	}
	var h struct{ Pid int }
	if err := json.Unmarshal(b, &h); err != nil || h.Pid <= 0 {
		t.Fatalf("holder.json: %v: %s", err, b)
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(h.Pid) + "/cmdline")
	if err != nil || !strings.Contains(string(cmdline), "__rootless-holder\x00"+u.dir()) || !slices.Contains(u.processes(t), h.Pid) {
		t.Fatalf("pid %d is not the tester's holder: %q", h.Pid, cmdline)
	}
	return h.Pid
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	for range 500 {
		if s := procState(pid); s == "" || s == "Z" {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("pid %d still runs", pid)
}

// kill -9 of a command takes the command the holder runs for it with it,
// as killing root's netlab kills it, and up and down then converge.
func TestCommandKilled(t *testing.T) {
	t.Parallel()
	u := newTester(t)
	lab := kerneltest.LabName(t)
	file := writeLab(t, benchlab.File(benchlab.Star, lab, 40))
	for _, after := range []time.Duration{30 * time.Millisecond, 120 * time.Millisecond} {
		c := u.command("up", file)
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(after)
		_ = c.Process.Kill()
		_ = c.Wait()
		// The holder's child goes with the command (no second netlab
		// holds the lab's lock).
		u.mustRun(t, "up", "--wait", "5s", file)
		u.mustRun(t, "plan", "--detailed-exitcode", file)
	}
	u.mustRun(t, "down", file)
}

// A command on a terminal gets a terminal in the node, as under root:
// the holder runs it on a terminal of its own that the command relays,
// where Ctrl-C is the command's SIGINT.
func TestTerminalCommand(t *testing.T) {
	t.Parallel()
	u := newTester(t)
	file := writeLab(t, twoNodes(kerneltest.LabName(t)))
	u.mustRun(t, "up", file)
	defer u.mustRun(t, "down", file)

	out, code := onTerminal(t, u, nil, "exec", file, "a", "--", "tty")
	if code != 0 || !strings.Contains(out, "/dev/pts/") {
		t.Errorf("exec tty on a terminal: exit %d, output %q", code, out)
	}
	out, code = onTerminal(t, u, []byte{3}, "exec", file, "a", "--", "sleep", "30")
	if code != 130 {
		t.Errorf("exec sleep, then Ctrl-C: exit %d, output %q; want 130", code, out)
	}
}

// onTerminal runs netlab args as u with a new terminal as its standard
// streams, types keys after half a second, and returns what the terminal
// showed and the exit code.
func onTerminal(t *testing.T, u *tester, keys []byte, args ...string) (string, int) {
	t.Helper()
	master, peer := openPTY(t)
	defer master.Close()
	c := u.command(args...)
	// A dumb terminal, which netlab asks nothing (its colours ask a
	// terminal's background, and no terminal answers here).
	c.Env = append(c.Env, "TERM=dumb")
	c.Stdin, c.Stdout, c.Stderr = peer, peer, peer
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	peer.Close()
	var out strings.Builder
	read := make(chan struct{})
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			out.Write(buf[:n])
			if err != nil {
				close(read)
				return
			}
		}
	}()
	if keys != nil {
		time.Sleep(500 * time.Millisecond)
		if _, err := master.Write(keys); err != nil {
			t.Error(err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = c.Process.Kill()
		<-done
		t.Errorf("netlab %s on a terminal: still running after 20s", strings.Join(args, " "))
	}
	select {
	case <-read:
	case <-time.After(2 * time.Second):
	}
	return out.String(), c.ProcessState.ExitCode()
}

// openPTY opens a terminal pair: the master side, and the other end.
func openPTY(t *testing.T) (*os.File, *os.File) {
	t.Helper()
	m, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no terminals here: %v", err)
	}
	if err := unix.IoctlSetPointerInt(m, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	p, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(m), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	if errno != 0 {
		t.Fatal(errno)
	}
	return os.NewFile(uintptr(m), "ptmx"), os.NewFile(p, "pty")
}

// A signal sent to a command (no terminal) reaches the command the holder
// runs for it: SIGINT ends `netlab exec` and its command, as under root.
func TestSignalReachesTheCommand(t *testing.T) {
	t.Parallel()
	u := newTester(t)
	file := writeLab(t, twoNodes(kerneltest.LabName(t)))
	u.mustRun(t, "up", file)
	defer u.mustRun(t, "down", file)
	c := u.command("exec", file, "b", "--", "sleep", "30")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	start := time.Now()
	if err := c.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = c.Process.Kill()
		<-done
		t.Fatal("exec still running 10 s after SIGINT")
	}
	if code := c.ProcessState.ExitCode(); code != 130 {
		t.Errorf("exec after SIGINT: exit %d, want 130 (in %s)", code, time.Since(start))
	}
}

// Commands started at once by a user with no holder yet: one holder
// starts (the others wait for it on the holder lock), every command
// works, and the concurrent downs leave nothing.
func TestCommandsAtOnce(t *testing.T) {
	t.Parallel()
	u := newTester(t)
	u.waitIdle() // the probe's holder has left: the ups below race to start one
	const n = 4
	files := make([]string, n)
	for i := range files {
		files[i] = writeLab(t, twoNodes(kerneltest.LabName(t)))
	}
	each := func(cmd string) {
		t.Helper()
		results := make(chan result, n)
		for _, f := range files {
			go func() { results <- u.run(t, cmd, f) }()
		}
		for range n {
			if r := <-results; r.code != 0 {
				t.Errorf("%s at once: %s", cmd, r)
			}
		}
	}
	each("up")
	if u.asRoot {
		holders := 0
		for _, pid := range u.processes(t) {
			if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline"); err == nil && strings.Contains(string(b), "__rootless-holder") {
				holders++
			}
		}
		if holders != 1 {
			t.Errorf("%d holders after %d ups at once, want 1", holders, n)
		}
	}
	if r := u.mustRun(t, "ls", "-o", "json"); len(labNames(r.stdout)) != n {
		t.Errorf("ls after %d ups at once: %s", n, r.stdout)
	}
	each("down")
}
