// Package kernel is the only code in netlab that talks to the kernel:
// network namespaces, links, addresses, routes and sysctls, through
// netlink. Nothing else may import netlink, netns or x/sys/unix; the rest
// of netlab sees the kernel only through the Kernel interface, which the
// fake in kerneltest also implements.
//
// The code is laid out by kernel object, as vishvananda/netlink's is:
// netns_linux.go (namespaces: their files and markers),
// link_linux.go (links), device_linux.go (what a kind adds: macvlan,
// vxlan, tun and tap), addr_linux.go, route_linux.go, rules_linux.go
// (policy routing rules, RuleKernel in rules.go), sysctl_linux.go and
// nft_linux.go, each with the write and the read of its object.
// observe_linux.go reads a lab's namespaces through them. Beside the
// Kernel interface, seam.go's NetNS and Watcher: probe_linux.go opens
// sockets inside a namespace and asks for the route to an address,
// packet_linux.go captures frames, watch_linux.go notices changes;
// conntrack_linux.go lists and flushes a namespace's connection-tracking
// table through ctnetlink (ti-mo/conntrack, a socket made inside the
// namespace), never the machine's own; launch_linux.go starts programs
// in a node. linux.go holds the Linux type and its open namespaces,
// inns_linux.go and thread_linux.go the switching of a thread into one.
//
// A node's declared processes (process.go, process_linux.go,
// proc_linux.go): ProcessStart runs the launcher with a pipe on fd 3
// that the launcher marks close-on-exec, so end of file means the
// command was exec'd in the node; the launcher also caps file sizes and
// closes every other descriptor on exec. netlab is the process's parent
// and a goroutine waits for it. Processes and Observe read /proc in one
// pass, each pid through an open /proc/PID directory, matched to a node
// by its namespace file's device and inode, named by the NETLAB_PROCESS
// marker of its environment. ProcessesStop signals through pidfds,
// opened before the identity check (start time, namespace), so a
// recycled pid is never signalled. Listening reads the socket tables of
// /proc/thread-self/net on a thread inside the namespace
// (listen_linux.go). Hosts files (hosts_linux.go) are opened component
// by component without following links and written in place.
//
// Tracing (trace_linux.go, Tracer in seam.go): in each namespace a
// NETLINK_NETFILTER socket joins NFNLGRP_NFTRACE first, then a second,
// lasting google/nftables socket makes the trace tables (inet, and bridge
// where the namespace has a bridge) with NFT_TABLE_F_OWNER, so that the
// kernel removes them when that socket closes, whoever closes it (exit,
// kill -9; Close deletes them first, as a forked child may hold the
// socket a moment longer). google/nftables v0.3.0 sends a table's flags as 0, so
// that one message is made by hand on the same socket; the kernel then
// refuses any change to the table from another socket, TraceSweep's
// included. Each namespace's listener decodes the events
// (trace_decode.go, pure), names what the kernel numbers (chains' hooks
// and priorities, rules' comments and interfaces, read when the trace
// starts and again for one made since) and keeps only the packets one of
// its own mark rules (trace_rules.go, traceMarkTag) reported: another
// trace's packets cross its chains too.
//
// Every method stops once its ctx is cancelled, before its first kernel
// message and between two messages of one operation (but a link made in
// the machine's namespace is first marked and named: see made); what it
// leaves is what an interrupted netlab leaves, which the next up or down
// finishes.
package kernel

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"netlab/lab/device"
	"netlab/lab/state"
)

// Kernel reads and changes the kernel objects of labs. Every write is
// idempotent where the kernel allows it: a delete of something already
// gone succeeds. RouteReplace, RouteDel, SysctlSet and NFTableSet refuse
// the machine's own namespace (state.HostNetNS) with an error wrapping
// EPERM: netlab never changes its routes, sysctls or firewall.
// Concurrent is a Kernel that takes several changes of one kind at once
// (namespaces made, hosts files written): up runs a plan's run of them
// on up to ApplyWorkers goroutines, and writes hosts files while it makes
// the links, addresses and routes. A kernel without it, as the fake by
// default, takes one change at a time, in plan order.
type Concurrent interface {
	ApplyWorkers() int
}

type Kernel interface {
	NeighKernel   // static neighbours: neigh.go
	CapKernel     // caps.go: what the kernel lacks of what a lab needs
	MachineKernel // machine.go: the machine's own addresses (issue 19)
	// Observe reads every namespace of the lab (those named LAB.NODE),
	// their links, addresses and routes, and the sysctls that want
	// declares. A namespace with the lab's name but without netlab's
	// marker is returned with Foreign set and nothing else read. For each
	// node of want with Host set, it reads only the links of the root
	// namespace that carry the lab's marker or a name the node declares,
	// with their addresses: nothing else of the machine's. The MACs a
	// bridge learned (Link.Learned) are read only without want, for a
	// display (status): no diff compares them, and the kernel dumps a
	// bridge's forwarding database in time that grows with the square of
	// its ports. Without want, too, a hosts file is only told netlab's
	// or another's (Foreign), and its Content is not read: nothing shows
	// it, and every node's names every node of the lab.
	Observe(ctx context.Context, lab string, want *state.State) (*state.State, error)
	// NetNSList lists the namespace files named LAB.NODE of one lab, with
	// whether each carries netlab's marker. It reads only the marker, so it
	// is cheaper than Observe.
	NetNSList(ctx context.Context, lab string) ([]NetNSInfo, error)
	// Labs lists the labs that have at least one marked namespace.
	Labs(ctx context.Context) ([]LabInfo, error)
	// HostLinks lists the links of the machine's root namespace that carry
	// the lab's marker: what a host: true node made there.
	HostLinks(ctx context.Context, lab string) ([]string, error)

	// NetNSAdd creates the namespace of a node, marks it and sets lo up.
	// Equivalent to: ip netns add LAB.NODE; ip -n LAB.NODE link set lo alias netlab:LAB:NODE up
	NetNSAdd(ctx context.Context, lab, node string) error
	// NetNSDel deletes a namespace, which takes every object in it along.
	// It refuses state.HostNetNS.
	// Equivalent to: ip netns del NETNS
	NetNSDel(ctx context.Context, netns string) error

	// LinkAdd creates a link with its attributes and marker; for a veth,
	// peer is the other end, created directly in peerNS. A macvlan is made
	// on its parent in l.ParentNetNS, directly into netns; a vxlan gets its
	// fdb entries; a tun or tap is persistent.
	// Equivalent to: ip -n NETNS link add NAME type KIND [peer name PEER netns PEERNS]
	LinkAdd(ctx context.Context, netns string, l *state.Link, peerNS string, peer *state.Link) error
	// LinkDel deletes a link (a veth takes its peer along). In
	// state.HostNetNS it deletes only a link that carries netlab's marker,
	// and fails with *ForeignError for any other.
	// Equivalent to: ip -n NETNS link del NAME
	LinkDel(ctx context.Context, netns, name string) error
	// LinkSet changes the attributes attrs lists (master, mtu, mac, up,
	// alias, and for a macvlan source-macs, for a vxlan fdb, for a bridge
	// stp with its timers, for a bridge port its flags, neighbors) of a link to
	// the values in l; any other attribute fails with
	// errors.ErrUnsupported.
	// Equivalent to: ip -n NETNS link set NAME [master M|nomaster] [mtu N] [address MAC] [up|down];
	// ip -n NETNS link set NAME type macvlan macaddr set MAC...; bridge -n NETNS fdb append|del MAC dev NAME dst IP
	LinkSet(ctx context.Context, netns string, l *state.Link, attrs []state.LinkAttr) error

	// AddrAdd adds an address to a link (IPv6 without duplicate address
	// detection, so it is usable at once).
	// Equivalent to: ip -n NETNS addr add PREFIX dev LINK [nodad]
	AddrAdd(ctx context.Context, netns, link string, p netip.Prefix) error
	// AddrDel removes an address from a link.
	// Equivalent to: ip -n NETNS addr del PREFIX dev LINK
	AddrDel(ctx context.Context, netns, link string, p netip.Prefix) error

	// RouteReplace adds or replaces a route of its table (main when
	// r.Table is 0), marked with state.RouteProtocol.
	// Equivalent to: ip -n NETNS route replace TO [via GW] [dev DEV] [metric N] [table N] proto 78
	RouteReplace(ctx context.Context, netns string, r state.Route) error
	// RouteDel deletes a route of its table (main when r.Table is 0).
	// Equivalent to: ip -n NETNS route del TO [via GW] [metric N] [table N]
	RouteDel(ctx context.Context, netns string, r state.Route) error
	RuleKernel // policy routing rules: rules.go

	// SysctlSet writes a net.* sysctl inside the namespace.
	// Equivalent to: ip netns exec NETNS sysctl -w KEY=VALUE
	SysctlSet(ctx context.Context, netns, key, value string) error
	// SysctlProblems returns, for those of the (validated net.*) keys
	// that netlab cannot keep in the namespace netns, or, with netns "",
	// in a fresh namespace (what a node's namespace has when NetNSAdd
	// makes it), why not. Many net.* keys are per namespace, some exist
	// only in the root namespace, some only once a module is loaded, and
	// a device's only once it exists; some a namespace may read but not
	// set (net.core.rmem_max outside the root namespace), and some are
	// actions with nothing to read back (net.ipv4.route.flush). It
	// changes nothing.
	// Equivalent to: ip netns exec NETNS ls -l /proc/sys/net/... (unshare -n for "")
	SysctlProblems(ctx context.Context, netns string, keys []string) (map[string]SysctlProblem, error)
	// SysctlTry writes each value to its key, in order, in a fresh
	// namespace of its own that the kernel frees at once, and reads it
	// back: what a node's namespace would make of it, with nothing else
	// changed (a key a namespace may set is that namespace's own). The
	// result at each index has the write's error, or the value read back.
	// Equivalent to: unshare -n sh -c 'sysctl -w KEY=VALUE && sysctl -n KEY'
	SysctlTry(ctx context.Context, writes []SysctlWrite) ([]SysctlTrial, error)

	// NFTableSet replaces the node's netlab nftables table with t in one
	// atomic transaction; nil deletes it. Tables of other names are never
	// touched.
	// Equivalent to: ip netns exec NETNS nft -f SCRIPT
	NFTableSet(ctx context.Context, netns string, t *state.NFTable) error

	// ProcessStart starts p inside the node's namespace through the
	// launcher (see Launch), as `ip netns exec` would run it: detached from
	// netlab (a session of its own, no terminal, stdin the null device,
	// no descriptor but 0, 1 and 2), stdout and stderr appended to log, in
	// p.Dir, with p.Env over the base environment and the marker
	// state.ProcessMarker(lab, node, p.Name, p.Hash) in state.ProcessEnv.
	// It returns once the command has been exec'd in the node (or failed
	// to be), with p as Observe reads it: Pid, Start and StartedAt set.
	// Equivalent to: cd DIR && setsid ip netns exec LAB.NODE env NETLAB_PROCESS=... ENV... ARGV... >>LOG 2>&1 </dev/null &
	ProcessStart(ctx context.Context, lab, node string, p *state.Process, log *os.File) (*state.Process, error)
	// The process's environment is ProcessEnviron's, its files are
	// capped at LogLimit bytes (RLIMIT_FSIZE, SIGXFSZ ignored).
	// ProcessExited reports whether a process this Kernel started (p as
	// ProcessStart returned it) has ended, with its exit status as
	// ExitStatus gives it. It is false for a running process and for one
	// this Kernel did not start: no one else's end can be known.
	ProcessExited(p *state.Process) (status int, exited bool)
	// Processes lists every process whose network namespace is netns,
	// with its marker when it carries one (see state.ProcessEnv). It and
	// ProcessesStop refuse state.HostNetNS with EPERM: the machine's
	// processes are not a lab's.
	// Equivalent to: ip netns pids NETNS
	Processes(ctx context.Context, netns string) ([]ProcessInfo, error)
	// LabProcesses lists, in one pass, the processes of every namespace
	// of the lab that has any, by namespace name (LAB.NODE): Processes
	// for each, at the cost of one (down asks it of a thousand nodes).
	// Equivalent to: for ns in $(ip netns list | grep ^LAB.); do ip netns pids $ns; done
	LabProcesses(ctx context.Context, lab string) (map[string][]ProcessInfo, error)
	// ProcessesStop stops procs, each as Processes listed it: SIGTERM to
	// each, then SIGKILL to those still running after grace, and waits
	// until they are gone. Before any signal it checks that the pid is
	// still that process (its start time) and still in netns, so that a
	// pid the kernel has given to another process since, or a process
	// that left the namespace, is never signalled. It returns those it
	// stopped, Killed set for those that needed SIGKILL.
	// Equivalent to: kill -TERM PID...; sleep GRACE; kill -KILL PID...
	ProcessesStop(ctx context.Context, netns string, procs []ProcessInfo, grace time.Duration) ([]ProcessInfo, error)
	// Listening reports whether a socket inside the namespace is
	// listening on port: for "tcp" a listener, for "udp" a bound socket,
	// on any address of either family.
	// Equivalent to: ip netns exec NETNS ss -Hln sport = :PORT
	Listening(ctx context.Context, netns, proto string, port uint16) (bool, error)
	// HostsSet writes the node's hosts file, EtcNetNSDir/NETNS/hosts,
	// making the directories it needs; content "" removes it, and the
	// node's directory with it when nothing else is left there. It
	// refuses (with *ForeignError, File set) a file there that does not start with
	// state.HostsHeader: netlab changes only the hosts files it wrote.
	// Equivalent to: mkdir -p /etc/netns/NETNS && cat >/etc/netns/NETNS/hosts
	HostsSet(ctx context.Context, netns, content string) error
	// HostsFiles lists the namespaces, LAB.NODE, of the lab that have a
	// hosts file of netlab's in EtcNetNSDir, or an empty directory there
	// (an up killed between the directory and its file), whether or not
	// the namespace still exists: what down sweeps after an interrupted
	// one.
	HostsFiles(ctx context.Context, lab string) ([]string, error)

	// Close releases every handle and namespace file the kernel holds.
	Close() error
}

// ProcessInfo is one process running inside a namespace.
type ProcessInfo struct {
	Pid       int
	PPid      int       // its parent's pid
	Start     uint64    // start time, clock ticks after boot: with Pid, the process's identity
	StartedAt time.Time // Start as wall-clock time
	Command   []string  // its command line (/proc/PID/cmdline)
	// Marker is its state.ProcessEnv value, when it carries a valid one.
	Marker string
	// Killed is set by ProcessesStop for a process that SIGTERM did not
	// stop within the grace period.
	Killed bool
}

// NetNSInfo is one namespace file of a lab.
type NetNSInfo struct {
	Name   string // LAB.NODE
	Node   string
	Marked bool // carries the lab's marker on lo
	Stub   bool // an empty mount point left by an interrupted create
}

// LabInfo is a lab found in the kernel.
type LabInfo struct {
	Name  string   `json:"name"`
	Nodes []string `json:"nodes"`
}

// ReadLinkMarker sets what a link's alias tells of it: when the alias is
// lab's marker, the link is Owned, and the marker's peer is a veth's Peer
// or a macvlan's Parent. l's Alias and Kind must be set. Both the real
// kernel's Observe and the fake's read links through it.
func ReadLinkMarker(l *state.Link, lab string) {
	markLab, peer, ok := state.ParseLinkMarker(l.Alias)
	if !ok || markLab != lab {
		return
	}
	l.Owned = true
	switch l.Kind {
	case device.Veth:
		l.Peer = peer
	case device.MACVLAN:
		l.Parent = peer
	}
}

// ForeignNode is what Observe reports of a namespace of the lab's name that
// netlab did not make: the node, Foreign, and nothing in it.
func ForeignNode(node, netns string) *state.Node {
	n := state.NewNode(node, netns)
	n.Foreign = true
	return n
}

// IsNotFound reports whether err means the object does not exist; a link
// the netlink library found missing by name is one too.
func IsNotFound(err error) bool {
	var nf netlink.LinkNotFoundError
	return errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ESRCH) ||
		errors.Is(err, unix.EADDRNOTAVAIL) || errors.As(err, &nf)
}

// IsExist reports whether err means the object exists already.
func IsExist(err error) bool { return errors.Is(err, unix.EEXIST) }

// IsPerm reports whether err means netlab lacks the privilege.
func IsPerm(err error) bool { return errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) }

// ForeignError is a namespace, link or file in the way that netlab did
// not create; netlab leaves it alone.
type ForeignError struct {
	NetNS string
	Name  string // a link's name
	// File is the path of a file netlab did not write (a node's hosts
	// file without state.HostsHeader).
	File string
}

func (e *ForeignError) Error() string {
	if e.File != "" {
		return "file " + e.File + " of namespace " + e.NetNS + " exists and was not written by netlab"
	}
	if e.Name == "" {
		return "namespace " + e.NetNS + " exists and is not managed by netlab"
	}
	return "link " + e.Name + " in namespace " + e.NetNS + " exists and is not managed by netlab"
}

// SysctlProblem says why netlab cannot keep a sysctl in a namespace: it
// sets a key and reads it back to compare, so it needs one it can do both
// with.
type SysctlProblem int

const (
	SysctlAbsent    SysctlProblem = iota + 1 // the namespace has no such key
	SysctlReadOnly                           // the namespace may read it, not set it
	SysctlWriteOnly                          // an action: writing does something, reading is refused
)

// String is the problem as a sentence's predicate: "sysctl K " + String().
func (p SysctlProblem) String() string {
	switch p {
	case SysctlAbsent:
		return "does not exist"
	case SysctlReadOnly:
		return "is read-only"
	case SysctlWriteOnly:
		return "is write-only (an action, not a setting netlab can read back)"
	}
	return fmt.Sprintf("SysctlProblem(%d)", int(p))
}

// SysctlWrite is one value to write to a sysctl.
type SysctlWrite struct{ Key, Value string }

// SysctlTrial is what the kernel did with a SysctlWrite: refused it with
// Err, or took it and reads it back as ReadBack (spaces at the ends
// trimmed).
type SysctlTrial struct {
	ReadBack string
	Err      error
}
