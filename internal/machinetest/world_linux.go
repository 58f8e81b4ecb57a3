package machinetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
)

// Machine is one simulated machine of a World.
type Machine struct {
	// Name is how the tests call the machine ("m1"): the name of the
	// lab file's machines: entry it plays.
	Name string
	// Addr is the machine's underlay address on its eth0, IPv4 or IPv6,
	// with the underlay's prefix length: 203.0.113.1/24.
	Addr netip.Prefix
	// Addr6 is an optional second address of eth0, IPv6, for a
	// dual-stack underlay: 2001:db8::1/64. The zero Prefix adds none.
	// IPv6 addresses are added with nodad, usable at once.
	Addr6 netip.Prefix
}

// World is a set of simulated machines on one underlay. It is made by New
// and torn down by the test's cleanup; its methods may be called from
// parallel subtests.
type World struct {
	bin      string // the netlab binary
	self     string // the test binary, run again in the roles
	hub      string // the underlay's namespace
	machines []*machine
}

// machine is a Machine with its namespace and holder.
type machine struct {
	Machine
	netns string // the machine's network namespace, in the real /run/netns

	holder *exec.Cmd
	stdin  io.WriteCloser
	stderr *syncBuffer
	pid    int
	start  uint64 // the holder's start time, from /proc/PID/stat
	mnt    nsID   // the holder's mount namespace
	net    nsID   // the machine's network namespace

	mu      sync.Mutex
	started []*exec.Cmd // by Start: killed at cleanup if still running
}

// nsID tells a namespace: the device and inode of its nsfs file.
type nsID struct{ dev, ino uint64 }

func (id nsID) String() string { return fmt.Sprintf("%d:%d", id.dev, id.ino) }

// holderWait bounds how long a holder may take to be ready, and to end
// once its stdin is closed.
const holderWait = 20 * time.Second

// New makes a World of the machines: the underlay namespace with its
// bridge, a network namespace per machine wired to it, and a holder per
// machine. It skips the test unless it runs as root (and go is on PATH,
// to build netlab), and fails it if the package's TestMain does not call
// Main. When the test ends, pass or fail, every lab on every machine is
// brought down and everything New made is removed.
func New(t testing.TB, machines ...Machine) *World {
	t.Helper()
	kerneltest.RequireRoot(t)
	mainCalled.Lock()
	called := mainCalled.ok
	mainCalled.Unlock()
	if !called {
		t.Fatal("machinetest: TestMain must call machinetest.Main(m): the test binary runs the machines' holders")
	}
	if err := checkMachines(machines); err != nil {
		t.Fatalf("machinetest: %v", err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatalf("machinetest: find the test binary: %v", err)
	}
	w := &World{bin: netlabBinary(t), self: self, hub: kerneltest.NewTestNS(t)}
	var nets []string
	for _, m := range machines {
		mm := &machine{Machine: m, netns: kerneltest.NewTestNS(t)}
		w.machines = append(w.machines, mm)
		nets = append(nets, mm.netns)
	}
	// After the namespaces, so that it runs before they are deleted.
	t.Cleanup(func() {
		if err := w.close(); err != nil {
			t.Errorf("machinetest: tear down: %v", err)
		}
	})
	if err := underlay(w.hub, machines, nets); err != nil {
		t.Fatalf("machinetest: underlay: %v", err)
	}
	for _, m := range w.machines {
		if err := m.startHolder(self); err != nil {
			t.Fatalf("machinetest: machine %s: %v", m.Name, err)
		}
	}
	return w
}

// checkMachines refuses an empty, doubled or unaddressed machine.
func checkMachines(machines []Machine) error {
	if len(machines) == 0 {
		return errors.New("no machines")
	}
	seen := make(map[string]bool)
	for _, m := range machines {
		switch {
		case m.Name == "" || strings.ContainsAny(m.Name, "/. \x00"):
			return fmt.Errorf("machine name %q: want a plain word", m.Name)
		case seen[m.Name]:
			return fmt.Errorf("machine %q named twice", m.Name)
		case !m.Addr.IsValid():
			return fmt.Errorf("machine %q has no underlay address", m.Name)
		case m.Addr6.IsValid() && !m.Addr6.Addr().Is6():
			return fmt.Errorf("machine %q: Addr6 %s is not IPv6", m.Name, m.Addr6)
		}
		seen[m.Name] = true
	}
	return nil
}

// startHolder starts the machine's holder and waits until it is ready,
// then records who it is.
func (m *machine) startHolder(self string) error {
	f, err := openNetNS(m.netns)
	if err != nil {
		return err
	}
	defer f.Close()
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), roleEnv+"="+holderRole)
	cmd.ExtraFiles = []*os.File{f} // fdNetNS
	m.stderr = &syncBuffer{}
	cmd.Stderr = m.stderr
	if m.stdin, err = cmd.StdinPipe(); err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start holder: %w", err)
	}
	m.holder, m.pid = cmd, cmd.Process.Pid
	ready := make(chan error, 1)
	go func() { ready <- readReady(stdout) }()
	select {
	case err = <-ready:
	case <-time.After(holderWait):
		err = fmt.Errorf("holder not ready after %s", holderWait)
	}
	if err != nil {
		return fmt.Errorf("%w: %s", err, strings.TrimSpace(m.stderr.String()))
	}
	if m.start, _, err = kernel.ProcStart(m.pid); err != nil {
		return fmt.Errorf("holder %d: %w", m.pid, err)
	}
	registerHolder(m.pid, m.start)
	if m.mnt, err = statNS(m.nsPath("mnt")); err != nil {
		return err
	}
	if m.net, err = statNS(m.nsPath("net")); err != nil {
		return err
	}
	if want, err := statFile(f); err != nil || want != m.net {
		return fmt.Errorf("holder %d is in network namespace %s, not the machine's %s (%v)", m.pid, m.net, want, err)
	}
	if own, err := statNS("/proc/self/ns/mnt"); err != nil || own == m.mnt {
		return fmt.Errorf("holder %d has no mount namespace of its own (%v)", m.pid, err)
	}
	return nil
}

// nsPath is the holder's namespace file of a kind (mnt, net).
func (m *machine) nsPath(kind string) string {
	return "/proc/" + strconv.Itoa(m.pid) + "/ns/" + kind
}

// statNS tells the namespace of an nsfs file.
func statNS(path string) (nsID, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return nsID{}, fmt.Errorf("stat %s: %w", path, err)
	}
	return nsID{st.Dev, st.Ino}, nil
}

// statFile tells the namespace of an open nsfs file.
func statFile(f *os.File) (nsID, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return nsID{}, fmt.Errorf("stat %s: %w", f.Name(), err)
	}
	return nsID{st.Dev, st.Ino}, nil
}

// check returns nil when the holder's pid is still the holder this World
// started: same start time, not a zombie.
func (m *machine) check() error {
	if m.pid == 0 {
		return fmt.Errorf("machine %s has no holder", m.Name)
	}
	start, st, err := kernel.ProcStart(m.pid)
	switch {
	case err != nil:
		return fmt.Errorf("machine %s: holder %d is gone: %w", m.Name, m.pid, err)
	case start != m.start:
		return fmt.Errorf("machine %s: pid %d is no longer its holder", m.Name, m.pid)
	case st == 'Z':
		return fmt.Errorf("machine %s: holder %d ended: %s", m.Name, m.pid, strings.TrimSpace(m.stderr.String()))
	}
	return nil
}

// openNS opens the holder's network and mount namespaces, after checking
// that it is still the holder, and checks that they are the ones it was
// started in.
func (m *machine) openNS() (netNS, mntNS *os.File, err error) {
	if err := m.check(); err != nil {
		return nil, nil, err
	}
	open := func(kind string, want nsID) (*os.File, error) {
		f, err := os.Open(m.nsPath(kind))
		if err != nil {
			return nil, err
		}
		if got, err := statFile(f); err != nil || got != want {
			f.Close()
			return nil, fmt.Errorf("machine %s: holder %d's %s namespace is %s, not %s (%v)", m.Name, m.pid, kind, got, want, err)
		}
		return f, nil
	}
	if netNS, err = open("net", m.net); err != nil {
		return nil, nil, err
	}
	if mntNS, err = open("mnt", m.mnt); err != nil {
		netNS.Close()
		return nil, nil, err
	}
	return netNS, mntNS, nil
}

// machine returns the machine of that name, or fails the test.
func (w *World) machine(t testing.TB, name string) *machine {
	t.Helper()
	for _, m := range w.machines {
		if m.Name == name {
			return m
		}
	}
	t.Fatalf("machinetest: no machine %q in this world", name)
	return nil
}

// start starts netlab on the machine with args; its output goes to
// bytes.Buffers in cmd.Stdout and cmd.Stderr.
func (w *World) start(m *machine, args []string) (*exec.Cmd, error) {
	netNS, mntNS, err := m.openNS()
	if err != nil {
		return nil, err
	}
	// Closed once started: an open descriptor would keep the machine's
	// mount namespace, and so its labs' namespaces, alive.
	defer netNS.Close()
	defer mntNS.Close()
	cmd := exec.Command(w.self, append([]string{w.bin}, args...)...)
	cmd.Env = append(os.Environ(), roleEnv+"="+enterRole)
	cmd.ExtraFiles = []*os.File{netNS, mntNS} // fdNetNS, fdMntNS
	cmd.Stdout, cmd.Stderr = &bytes.Buffer{}, &bytes.Buffer{}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("machine %s: start netlab: %w", m.Name, err)
	}
	return cmd, nil
}

// Start starts netlab on the machine with args, in the test's working
// directory, and returns it running, for a test that kills it (its
// Process is netlab itself once it has entered the machine). Its stdout
// and stderr are *bytes.Buffer values in cmd.Stdout and cmd.Stderr: read
// them, with Wait, once it has ended. If the test has not waited for it
// by cleanup, it is killed then.
func (w *World) Start(t testing.TB, machine string, args ...string) *exec.Cmd {
	t.Helper()
	m := w.machine(t, machine)
	cmd, err := w.start(m, args)
	if err != nil {
		t.Fatalf("machinetest: %v", err)
	}
	m.mu.Lock()
	m.started = append(m.started, cmd)
	m.mu.Unlock()
	return cmd
}

// Netlab runs netlab on the machine with args, in the test's working
// directory, and waits for it. It fails the test only when netlab could
// not be run there; netlab's own failure is in the Result.
func (w *World) Netlab(t testing.TB, machine string, args ...string) Result {
	t.Helper()
	m := w.machine(t, machine)
	r, err := w.run(m, args...)
	if err != nil {
		t.Fatalf("machinetest: %v", err)
	}
	return r
}

// run runs netlab on the machine and waits for it.
func (w *World) run(m *machine, args ...string) (Result, error) {
	cmd, err := w.start(m, args)
	if err != nil {
		return Result{}, err
	}
	r := Wait(cmd)
	if r.Code == enterFailed && strings.HasPrefix(r.Stderr, "machinetest: ") {
		return r, fmt.Errorf("machine %s: netlab %s: %s", m.Name, strings.Join(args, " "), strings.TrimSpace(r.Stderr))
	}
	return r, nil
}

// Result is what a run of netlab on a machine did.
type Result struct {
	Args           []string       // netlab's arguments
	Code           int            // the exit code; -1 when a signal ended it
	Signal         syscall.Signal // the signal that ended it, when one did
	Stdout, Stderr string
}

// String describes the run for a failure message.
func (r Result) String() string {
	how := fmt.Sprintf("exit %d", r.Code)
	if r.Code < 0 {
		how = "killed by " + r.Signal.String()
	}
	return fmt.Sprintf("netlab %s: %s\nstdout:\n%s\nstderr:\n%s", strings.Join(r.Args, " "), how, r.Stdout, r.Stderr)
}

// Wait waits for a command of Start and returns what it did. A command
// that could not be waited for has Code -1 and the error in Stderr.
func Wait(cmd *exec.Cmd) Result {
	err := cmd.Wait()
	var r Result
	if len(cmd.Args) > 2 {
		r.Args = cmd.Args[2:] // the test binary, netlab, then netlab's
	}
	if b, ok := cmd.Stdout.(*bytes.Buffer); ok {
		r.Stdout = b.String()
	}
	if b, ok := cmd.Stderr.(*bytes.Buffer); ok {
		r.Stderr = b.String()
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		r.Code, r.Stderr = -1, r.Stderr+err.Error()
		return r
	}
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	r.Code = ws.ExitStatus()
	if ws.Signaled() {
		r.Code, r.Signal = -1, ws.Signal()
	}
	return r
}

// NetNS returns the names of the namespaces in the machine's /run/netns,
// sorted: LAB.NODE of the labs netlab made there. It fails the test if
// the holder is gone.
func (w *World) NetNS(t testing.TB, machine string) []string {
	t.Helper()
	m := w.machine(t, machine)
	names, err := m.netnsNames()
	if err != nil {
		t.Fatalf("machinetest: %v", err)
	}
	return names
}

// netnsNames lists the machine's /run/netns.
func (m *machine) netnsNames() ([]string, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	return readNames(m.root() + kernel.NetNSDir)
}

// readNames lists a directory of the machine, through its holder's root.
func readNames(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	names := []string{}
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names, nil
}

// Dir returns the machine's root directory as seen from outside it,
// /proc/PID/root of its holder, for reading the machine's files:
// Dir("m1")+"/run/netlab". It panics on a machine the World lacks.
func (w *World) Dir(machine string) string {
	for _, m := range w.machines {
		if m.Name == machine {
			return m.root()
		}
	}
	panic(fmt.Sprintf("machinetest: no machine %q in this world", machine))
}

func (m *machine) root() string { return "/proc/" + strconv.Itoa(m.pid) + "/root" }

// MachineNetNS returns the name, in the real /run/netns, of the machine's
// own network namespace (where its eth0 is), for a test that looks at it
// from outside with a netlink handle.
func (w *World) MachineNetNS(t testing.TB, machine string) string {
	t.Helper()
	return w.machine(t, machine).netns
}

// close tears the World down: on each machine, what Start left running
// is killed, every lab is brought down and the holder is stopped. The
// namespaces are kerneltest's, deleted by its cleanup after this one.
func (w *World) close() error {
	var errs []error
	for _, m := range w.machines {
		m.killStarted()
		if m.holder == nil {
			continue // never started
		}
		if m.start == 0 {
			errs = append(errs, m.stop()) // never ready: New has said why
			continue
		}
		if err := m.check(); err == nil {
			errs = append(errs, w.downAll(m))
		} else {
			errs = append(errs, err)
		}
		errs = append(errs, m.stop())
	}
	return errors.Join(errs...)
}

// killStarted kills, by the os.Process this World started (a pidfd: never
// another process given the same pid), what Start started and the test
// has not waited for, and waits until it has ended, so that no lock of
// it is held when the labs come down.
func (m *machine) killStarted() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, cmd := range m.started {
		if err := cmd.Process.Kill(); err != nil {
			continue // ended and waited for
		}
		pid := cmd.Process.Pid
		for deadline := time.Now().Add(holderWait); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if _, st, err := kernel.ProcStart(pid); err != nil || st == 'Z' {
				break
			}
		}
	}
	m.started = nil
}

// downAll brings down every lab of the machine: those netlab ls finds,
// and those with a namespace in its /run/netns or a file in its
// /run/netlab (a half-made lab), then checks that none is left.
func (w *World) downAll(m *machine) error {
	labs := make(map[string]bool)
	var errs []error
	if r, err := w.run(m, "ls", "-o", "json"); err != nil || r.Code != 0 {
		errs = append(errs, fmt.Errorf("machine %s: list labs: %v %s", m.Name, err, r))
	} else {
		var infos []kernel.LabInfo
		if err := json.Unmarshal([]byte(r.Stdout), &infos); err != nil {
			errs = append(errs, fmt.Errorf("machine %s: read netlab ls -o json: %w", m.Name, err))
		}
		for _, l := range infos {
			labs[l.Name] = true
		}
	}
	for _, dir := range []string{kernel.NetNSDir, kerneltest.RunDir} {
		names, err := readNames(m.root() + dir)
		if err != nil {
			errs = append(errs, fmt.Errorf("machine %s: %w", m.Name, err))
		}
		for _, n := range names {
			if lab, _, ok := strings.Cut(n, "."); ok && lab != "" {
				labs[lab] = true
			}
		}
	}
	for _, lab := range slices.Sorted(maps.Keys(labs)) {
		if r, err := w.run(m, "down", "--allow-host", "--lab", lab); err != nil {
			errs = append(errs, err)
		} else if r.Code != 0 {
			errs = append(errs, fmt.Errorf("machine %s: %s", m.Name, r))
		}
	}
	if left, err := m.netnsNames(); err != nil || len(left) > 0 {
		errs = append(errs, fmt.Errorf("machine %s: namespaces left after down: %q %v", m.Name, left, err))
	}
	return errors.Join(errs...)
}

// stop closes the holder's stdin and waits for it to end; one that does
// not end in time is killed, through its os.Process (a pidfd).
func (m *machine) stop() error {
	m.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- m.holder.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(holderWait):
		// Through the os.Process of the holder, a pidfd, and only while
		// the pid is still the holder (not yet a zombie).
		if m.check() == nil {
			m.holder.Process.Kill()
		}
		<-done
		err = fmt.Errorf("holder %d did not end when its stdin closed: killed", m.pid)
	}
	if err != nil {
		return fmt.Errorf("machine %s: holder: %w: %s", m.Name, err, strings.TrimSpace(m.stderr.String()))
	}
	return nil
}

// syncBuffer is a bytes.Buffer safe to read while a process writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
