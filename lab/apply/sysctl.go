package apply

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"netlab/lab"
	"netlab/lab/diag"
	"netlab/lab/kernel"
	"netlab/lab/state"
)

// CheckSysctls refuses, before anything is changed, the sysctls of the
// lab that netlab cannot keep, one diagnostic at each key: those the
// kernel does not have, those a namespace may only read, and actions with
// nothing to read back (kernel.SysctlProblem). up would otherwise stop
// half-way, at the first such write, or never find the kernel matching. Each key is looked up
// where it will be set: in its node's namespace (as observed has it), or,
// for a node not made yet, in a fresh namespace, since many net.* keys
// belong to each namespace and some exist only in the root one. A key of
// a device the node declares but that does not exist yet
// (net.ipv4.conf.eth0.rp_filter before eth0 is made) is looked up as the
// "default" device's, whose keys every new device gets. A key the node's
// namespace holds at the file's value already is not looked up: nothing
// will be written to it (a no-op plan of a 1000-router chain entered a
// thousand namespaces for this).
//
// Only the nodes of machine are looked up (all of them for ""): another
// machine's kernel is not this one.
func CheckSysctls(ctx context.Context, k kernel.Kernel, l *lab.Lab, machine string, observed *state.State) (diag.List, error) {
	byNetNS := make(map[string][]lookup) // "" for a fresh namespace
	for _, n := range l.Nodes {
		if n.Host || !lab.OnMachine(n, machine) {
			continue // a host node sets no sysctls (refused before this)
		}
		var have *state.Node
		if observed != nil {
			if o := observed.Nodes[n.Name]; o != nil && !o.Foreign {
				have = o
			}
		}
		netns := ""
		if have != nil {
			netns = have.NetNS
		}
		for _, sc := range n.Sysctls {
			if have != nil {
				if v, ok := have.Sysctls[sc.Key]; ok && state.SysctlValue(v) == state.SysctlValue(sc.Value) {
					continue // set as the file says already: nothing will be written
				}
			}
			byNetNS[netns] = append(byNetNS[netns], lookup{sc, n, lookupKey(sc.Key, n, have)})
		}
	}
	var out diag.List
	var tries []lookup // those of every namespace with no problem
	for _, netns := range slices.Sorted(maps.Keys(byNetNS)) {
		lookups := byNetNS[netns]
		var keys []string
		for _, lk := range lookups {
			if !slices.Contains(keys, lk.key) {
				keys = append(keys, lk.key)
			}
		}
		problems, err := k.SysctlProblems(ctx, netns, keys)
		if err != nil {
			return nil, fmt.Errorf("look up the lab's sysctls: %w", err)
		}
		for _, lk := range lookups {
			p, ok := problems[lk.key]
			if !ok {
				tries = append(tries, lk)
				continue
			}
			out.Hintf(lk.sysctl.Pos, sysctlHints[p], "sysctl %q %s in the namespace of node %q", lk.sysctl.Key, p, lk.node.Name)
		}
	}
	more, err := trySysctls(ctx, k, tries)
	if err != nil {
		return nil, err
	}
	return append(out, more...), nil
}

// trySysctls writes each value in a fresh namespace and reads it back,
// so that a value the kernel refuses ("true", 1.0, out of range) stops
// the plan rather than up half-way, and so does one the kernel takes but
// reads back as another setting ("1 1" for a single number, two of
// tcp_rmem's three), which up could never make the kernel match.
func trySysctls(ctx context.Context, k kernel.Kernel, lookups []lookup) (diag.List, error) {
	if len(lookups) == 0 {
		return nil, nil
	}
	// Each setting is tried once, however many nodes make it: every
	// router of a thousand-node chain sets ip_forward to 1.
	var writes []kernel.SysctlWrite
	trial := make([]int, len(lookups)) // lookups[i]'s index in writes
	index := make(map[kernel.SysctlWrite]int)
	for i, lk := range lookups {
		w := kernel.SysctlWrite{Key: freshKey(lk.key), Value: lk.sysctl.Value}
		j, ok := index[w]
		if !ok {
			j = len(writes)
			index[w] = j
			writes = append(writes, w)
		}
		trial[i] = j
	}
	trials, err := k.SysctlTry(ctx, writes)
	if err != nil {
		return nil, fmt.Errorf("try the lab's sysctls: %w", err)
	}
	var out diag.List
	for i, lk := range lookups {
		sc, tr := lk.sysctl, trials[trial[i]]
		switch {
		case tr.Err != nil:
			// The innermost error is the kernel's word ("invalid
			// argument"); the path and key around it are named already.
			for errors.Unwrap(tr.Err) != nil {
				tr.Err = errors.Unwrap(tr.Err)
			}
			out.Hintf(sc.Pos, fmt.Sprintf("write a value the key takes: netlab exec %s -- sysctl %s shows the current one", lk.node.Name, sc.Key),
				"sysctl %q: the kernel refuses the value %q: %v", sc.Key, sc.Value, tr.Err)
		case state.SysctlValue(tr.ReadBack) != state.SysctlValue(sc.Value):
			back := state.SysctlValue(tr.ReadBack)
			out.Hintf(sc.Pos, fmt.Sprintf("write %q, or what you meant in that form", back),
				"sysctl %q: the kernel takes %q but reads it back as %q, so it would never match the file", sc.Key, sc.Value, back)
		}
	}
	return out, nil
}

// freshKey is the key that stands for key in a fresh namespace: a
// device's key (net.ipv4.conf.eth0.rp_filter) as the "default" device's,
// which takes the same values.
func freshKey(key string) string {
	return asDefaultDevice(key, func(dev string) bool {
		switch dev {
		case "all", "default", "lo":
			return false
		}
		return true
	})
}

// asDefaultDevice returns key, when it is a device's key
// (net.ipv4.conf.DEV.rp_filter, net.ipv6.neigh.DEV.…) and replace(DEV)
// holds, as the "default" device's; any other key as it is.
func asDefaultDevice(key string, replace func(dev string) bool) string {
	parts := strings.SplitN(key, ".", 5)
	if len(parts) != 5 || (parts[1] != "ipv4" && parts[1] != "ipv6" && parts[1] != "mpls") || (parts[2] != "conf" && parts[2] != "neigh") {
		return key
	}
	if !replace(parts[3]) {
		return key
	}
	parts[3] = "default"
	return strings.Join(parts, ".")
}

// sysctlHints say what to do about each kernel.SysctlProblem.
var sysctlHints = map[kernel.SysctlProblem]string{
	kernel.SysctlAbsent:    "check the name with sysctl -a inside a namespace (netlab exec NODE -- sysctl -a): some net.* keys exist only in the root namespace, or once their module is loaded",
	kernel.SysctlReadOnly:  "remove it: the kernel lets only the root namespace set it",
	kernel.SysctlWriteOnly: "remove it, and run it by hand when needed (netlab exec NODE -- sysctl -w KEY=1)",
}

// lookup is one sysctl of a node, with the key to look up for it.
type lookup struct {
	sysctl *lab.Sysctl
	node   *lab.Node
	key    string // the key looked up
}

// lookupKey is the key to look up for key in node n: that of the device's
// "default" entry when key names a device of n that does not exist yet.
func lookupKey(key string, n *lab.Node, have *state.Node) string {
	return asDefaultDevice(key, func(dev string) bool {
		return n.Interface(dev) != nil && (have == nil || have.Links[dev] == nil)
	})
}
