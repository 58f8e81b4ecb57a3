// Package machinetest simulates several machines on one Linux box, so that
// the tests of multi-machine labs (issue 19) can run netlab "on" each
// machine, as a user runs it on each host of a real lab.
//
// A simulated machine is two namespaces, kept alive by one process:
//
//   - a network namespace of its own (a kerneltest namespace, nltest...),
//     whose eth0 carries the machine's underlay address;
//   - a mount namespace of its own, a slave of the real one, in which
//     /run/netns, /run/netlab and /etc/netns are fresh private tmpfs mounts
//     and /sys is the machine's own sysfs. netlab run there sees only that
//     machine's lab namespaces, locks, records and hosts files.
//
// The machines are joined by an underlay: one more namespace with a bridge,
// br0, and a veth pair per machine, eth0 in the machine and a port of br0
// in the underlay. Nothing is done to the root namespace: no link, route or
// rule, no mount.
//
// The holder. New starts, per machine, the test binary again
// (os.Args[0]) in the holder role. The holder, on its main thread, joins
// the machine's network namespace (setns, on a descriptor the test passes
// it), unshares its mount namespace, makes / a recursive slave so that
// nothing it mounts reaches the real one, mounts the tmpfs directories and
// sysfs, writes a ready line and blocks until its stdin closes. The
// namespaces netlab makes on the machine are bind mounts in the holder's
// /run/netns, so they last as long as the holder's mount namespace.
//
// Entering a machine. World.Netlab and World.Start run the test binary
// again in the enter role, with the holder's mount and network namespaces
// as open descriptors, opened by the test after it checked that the pid
// is still the holder it started (its start time and namespace inodes).
// The enter role unshares its fs struct (setns into a mount namespace
// fails with EINVAL while it is shared with other threads), joins both
// namespaces, goes back to its working directory and execs netlab. The
// process a test waits for, or kills, is then netlab itself.
//
// The roles run before any test: a package that uses World has
//
//	func TestMain(m *testing.M) { os.Exit(machinetest.Main(m)) }
//
// Main runs the tests with kerneltest's leak check, fails the run if a
// holder is left, and removes the netlab binary, which the first New of
// the test process builds. A holder never outlives the test process: when
// that ends, however it ends, the holder's stdin closes and it exits,
// taking its mount namespace and the lab namespaces mounted there with it
// (one a lab's process still runs in lasts until that process ends, as on
// a real machine; kerneltest's leak check finds those processes by their
// marker).
//
// Cleanup, registered by New, also when the test fails: on every machine,
// kill what Start started, bring every lab it has down (those netlab ls
// finds, and any with a namespace or a record left), close the holder's
// stdin and wait for it, then delete the machines' and the underlay's
// namespaces. Names are random with the kerneltest prefix, so worlds of
// parallel tests never collide.
package machinetest
