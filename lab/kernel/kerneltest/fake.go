// Package kerneltest holds what tests of netlab need in place of the
// kernel: Fake, a kernel.Kernel that lives in memory, with a transcript of
// its contents in the ip(8) vocabulary of lab/state's cmd.go and
// injectable errors. It does not import lab/plan, the code it tests. One
// job a file:
//
//	fake.go         the Fake, its call counts and injected faults
//	sim.go          its state, and what the kernel does by itself as it changes
//	ops.go          the write methods of kernel.Kernel, with the kernel's checks
//	observe.go      Observe: the contents read back as kernel.Linux reads them
//	list.go         NetNSList, Labs and HostLinks
//	process_fake.go processes: started, listed, stopped, and the hooks of tests
//	hosts_fake.go   hosts files of kernel.EtcNetNSDir
//	conntrack_fake.go connection-tracking tables a test fills
//	counters_fake.go  CounterReader, and Traffic that moves the counters
//	trace_fake.go   Tracer: scripted traces, their tables, and sweeps
//	transcript.go   String: the contents as ip(8) and nft commands
//	seed.go         Seed: ip(8) commands run by hand
//	testns.go       throw-away namespaces for tests against the real kernel
package kerneltest

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"netlab/lab/device"
	"netlab/lab/kernel"
	"netlab/lab/state"
)

// AnyWrite, given to FailOn as the method, makes the n-th write call fail,
// whatever its method.
const AnyWrite = "*"

// writeMethods are the methods of kernel.Kernel that change the kernel.
var writeMethods = map[string]bool{
	"NetNSAdd": true, "NetNSDel": true, "LinkAdd": true, "LinkDel": true, "LinkSet": true,
	"AddrAdd": true, "AddrDel": true, "RouteReplace": true, "RouteDel": true, "RuleAdd": true, "RuleDel": true, "SysctlSet": true,
	"NFTableSet": true, "ProcessStart": true, "ProcessesStop": true, "HostsSet": true,
	"ConntrackFlush": true,
}

// readMethods are the methods of kernel.Kernel that FailOn may fail
// besides the writes.
var readMethods = map[string]bool{
	"Observe": true, "Labs": true, "Close": true, "SysctlProblems": true, "SysctlTry": true,
	"Processes": true, "LabProcesses": true, "Listening": true, "HostsFiles": true,
	"Conntrack": true, "LinkCounters": true, "RuleCounters": true, // kernel.CounterReader's (counters_fake.go)
	"TraceStart": true, "TraceSweep": true, // kernel.Tracer's (trace_fake.go)
}

// Fake is a kernel.Kernel that holds namespaces, links, addresses, routes
// and sysctls in memory, with the semantics netlab relies on from the real
// one:
//
//   - NetNSAdd of a namespace that exists marks it again if it carries the
//     node's marker, and fails with *kernel.ForeignError if it does not;
//     NetNSDel refuses an unmarked namespace the same way.
//   - Ifindexes are allocated per namespace and never reused; a veth's two
//     ends point at each other's ifindex, in their own namespaces.
//   - LinkAdd of a name that exists fails with an error wrapping
//     unix.EEXIST; a master must exist in the same namespace and be a
//     bridge. Veth, bridge (with STP, which it does not run: a port
//     forwards once it is up), macvlan, vxlan, tun and tap can
//     be created, as with kernel.Linux; a macvlan's parent (in
//     l.ParentNetNS) and a vxlan's dev must exist, and deleting either
//     deletes the device on it.
//   - The root namespace (state.HostNetNS) always exists; LinkDel there
//     refuses a link without netlab's marker. Its routes, sysctls and
//     nftables are the machine's, which netlab promises never to change:
//     RouteReplace, RouteDel, SysctlSet and NFTableSet there fail with
//     EPERM, so that a test catches a plan that would.
//   - A MAC given to a device, or accepted by a source-mode macvlan, must
//     be unicast and not all zero (EADDRNOTAVAIL); a tun takes none
//     (EOPNOTSUPP).
//   - Deletes of missing links, addresses and routes succeed. Deleting a
//     veth end deletes its peer; deleting a namespace deletes the peer ends
//     of the veths it held; deleting a bridge releases its ports.
//   - A device's routes go with it, and when it is set down; an IPv4 route
//     goes when its device loses its last IPv4 address. Setting a device
//     down drops its IPv6 addresses (keep_addr_on_down is 0 by default). A
//     route needs its device up, and its gateway in a subnet of an up
//     device. An IPv6 route added with metric 0 gets state.IPv6RouteMetric.
//     Below state.IPv6MinMTU a device takes no IPv6 address (EINVAL; lo
//     does) nor IPv6 route (ENODEV), and loses the addresses it had when
//     its MTU is set there.
//   - lo gets 127.0.0.1/8 and ::1/128 (at state.IPv6MinMTU or more) when
//     set up, other devices an IPv6 link-local address; MACs not given are
//     generated; a bridge whose MTU was never set follows the smallest MTU
//     of its ports.
//   - A namespace has the sysctls of sysctlDefaults (a device's once it
//     exists); SysctlSet of another fails with ENOENT, as does reading
//     it. A sysctl reads as absent until it is written (the real kernel
//     shows every key from the start, with its default value), and then
//     as the kernel prints it back (state.SysctlValue).
//   - NFTableSet replaces netlab's nftables table whole, in one
//     transaction; Observe shows its chains and the tags of its rules, as
//     kernel.Linux reads them.
//   - A process (ProcessStart, or StartByHand) runs in its namespace
//     until ProcessesStop, KillProcess or EndProcess ends it, or it ends
//     at once (FakeRun.ExitAtStart); the children Fork makes carry its
//     marker and go to init when it ends. NetNSDel does not stop them:
//     as with the real kernel, the namespace lingers without a name while
//     they run (Lingering), out of reach of Processes. A namespace made
//     again under that name is another one. Process calls refuse the
//     machine's namespace (EPERM).
//   - A namespace's conntrack table holds what PutConntrack put there
//     (Conntrack, ConntrackFlush), and goes with the namespace; the
//     machine's table is refused (EPERM), as kernel.Linux refuses it.
//   - Hosts files live in kernel.EtcNetNSDir apart from the namespaces:
//     one outlives its namespace, and HostsSet refuses one that lacks
//     state.HostsHeader (PlantHosts) with *kernel.ForeignError.
//
// An operation that fails a check changes nothing. But like kernel.Linux
// a write is several kernel messages (stop.go): a link is created under
// a temporary name (state.TempLinkPrefix), then marked, renamed, given
// its master and set up; a namespace is first a stub file, listed by
// NetNSList; a LinkSet is a message an attribute. A cancelled ctx stops a
// write between two messages where kernel.Linux stops, and StopAt stops
// it after any one, as a netlab killed there. Fake is safe for concurrent
// use; a write's messages are made under one lock, so no other call sees
// them half done.
type Fake struct {
	mu     sync.Mutex
	netns  map[string]*fakeNetNS // by name
	calls  map[string]int        // calls of each method
	writes int                   // calls of write methods
	faults []fault
	macs   int // MACs generated so far

	// What StopAt needs (stop.go): the stops armed, whether one has
	// happened, and for the call under way the message it stops after
	// (0 for none) and the messages it has sent.
	stops     []fault
	stopped   bool
	stopAfter int
	sent      int
	temps     int             // temporary link names handed out
	stubs     map[string]bool // namespace names with only a stub file

	// Processes (process_fake.go): every process started, ended ones
	// too; the last pid and start time handed out; how ProcessStart's
	// behave. hosts are the files of kernel.EtcNetNSDir by namespace
	// name (hosts_fake.go).
	procs     []*fakeProc
	lastPid   int
	ticks     uint64
	behaviour func(*state.Process) FakeRun
	hosts     map[string]string

	tracer *Tracer // trace_fake.go; made by Tracer

	lacks map[kernel.Need]bool // caps_fake.go: what Lack made the kernel lack
}

var (
	_ kernel.Kernel      = (*Fake)(nil)
	_ kernel.Conntracker = (*Fake)(nil)
)

type fault struct {
	method string
	at     int // the call count of method (or writes, for AnyWrite) that fails
	err    error
	step   int // StopAt: the message the call stops after
}

// NewFake returns a kernel with no namespaces.
//
// The machine's root namespace (state.HostNetNS) exists from the start,
// with lo and eth0 up, which are the machine's: the transcript leaves out
// all of it but the links netlab marked there.
func NewFake() *Fake {
	f := &Fake{netns: make(map[string]*fakeNetNS), calls: make(map[string]int), stubs: make(map[string]bool), hosts: make(map[string]string), lastPid: 1000, ticks: 100000}
	host := f.addNetNSLocked(state.HostNetNS)
	f.setUpLocked(host, host.byName("lo"), true)
	eth0 := &fakeLink{name: "eth0", kind: device.Generic}
	f.addLinkLocked(host, eth0, "", true)
	return f
}

// Writes returns how many write calls (every method but Observe, Labs and
// Close) the fake has had, whether they succeeded or failed.
func (f *Fake) Writes() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.writes
}

// Calls returns how many calls of the method the fake has had.
func (f *Fake) Calls(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

// FailOn makes the n-th call (1-based, counted from now) of the method
// fail with an error wrapping err, without changing anything. The method
// is a method name of kernel.Kernel, such as "LinkAdd", or AnyWrite for
// the n-th write call of any method.
func (f *Fake) FailOn(method string, err error, n int) {
	if method != AnyWrite && !writeMethods[method] && !readMethods[method] {
		panic("kerneltest: FailOn: unknown method " + method)
	}
	if n < 1 {
		panic("kerneltest: FailOn: n must be 1 or more")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	at := f.calls[method] + n
	if method == AnyWrite {
		at = f.writes + n
	}
	f.faults = append(f.faults, fault{method: method, at: at, err: err})
}

// beginLocked counts a call and returns the error injected for it, if
// any, ErrStopped once a StopAt has stopped the fake, or ctx's error; it
// arms the stop of the call, if StopAt asked for one.
func (f *Fake) beginLocked(ctx context.Context, method string) error {
	if f.stopped {
		return fmt.Errorf("%s: %w", method, ErrStopped)
	}
	f.calls[method]++
	write := writeMethods[method]
	if write {
		f.writes++
	}
	f.sent, f.stopAfter = 0, 0
	for i, st := range f.stops {
		if (st.method == method && st.at == f.calls[method]) || (write && st.method == AnyWrite && st.at == f.writes) {
			f.stops = slices.Delete(f.stops, i, i+1)
			f.stopAfter = st.step
			break
		}
	}
	for i, ft := range f.faults {
		if (ft.method == method && ft.at == f.calls[method]) || (write && ft.method == AnyWrite && ft.at == f.writes) {
			f.faults = slices.Delete(f.faults, i, i+1)
			return fmt.Errorf("kerneltest: injected into %s: %w", method, ft.err)
		}
	}
	return ctx.Err()
}

// Close does nothing: the fake holds no handles.
func (f *Fake) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.beginLocked(context.Background(), "Close")
}
