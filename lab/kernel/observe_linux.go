package kernel

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"netlab/lab/state"
)

// dumpRetries bounds how often a dump the kernel marked as interrupted
// (the object list changed while it was read) is read again. A partial
// dump is never diffed: after the last retry, Observe fails.
const dumpRetries = 10

// observeParallel is how many namespaces are read at once. Reading is
// dominated by syscalls, so a few goroutines overlap the waits.
const observeParallel = 8

// Observe reads the lab's namespaces and what is in them. Once ctx is
// cancelled it sends no more requests and fails: a state partly read is
// never diffed.
func (k *Linux) Observe(ctx context.Context, lab string, want *state.State) (*state.State, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	names, err := k.listNetNS()
	if err != nil {
		return nil, fmt.Errorf("list namespaces: %w", err)
	}
	var nodes []string
	for _, name := range names {
		if l, node, ok := state.SplitNetNSName(name); ok && l == lab {
			if path, err := k.netnsPath(name); err == nil && isStub(path) {
				continue // not a namespace (yet): as good as absent
			}
			nodes = append(nodes, node)
		}
	}
	k.forgetGone(lab, nodes)
	// The hosts directory is opened once for every node's file.
	etc, err := k.openEtcNetNS(false)
	switch {
	case errors.Is(err, unix.ENOENT):
		etc = -1 // no hosts files at all
	case err != nil:
		return nil, fmt.Errorf("hosts files: %w", err)
	default:
		defer unix.Close(etc)
	}
	s := state.New(lab)
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		jobs = make(chan string)
	)
	for range min(observeParallel, len(nodes)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t, err := startNSThread()
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				for range jobs { // taken so that the sender never waits; Observe fails with err
				}
				return
			}
			defer t.stop()
			for node := range jobs {
				var keys []string
				var wantNFT *state.NFTable
				var wantHosts *state.HostsFile
				if want != nil && want.Nodes[node] != nil {
					wantHosts = want.Nodes[node].Hosts
					for key := range want.Nodes[node].Sysctls {
						keys = append(keys, key)
					}
					sort.Strings(keys)
					wantNFT = want.Nodes[node].NFT
				}
				n, err := k.observeNode(ctx, t, lab, node, keys, wantNFT, wantHosts, want == nil, etc)
				mu.Lock()
				if err != nil {
					errs = append(errs, fmt.Errorf("node %s: %w", node, err))
				} else if n != nil {
					s.Nodes[node] = n
				}
				mu.Unlock()
			}
		}()
	}
	for _, node := range nodes {
		jobs <- node
	}
	close(jobs)
	wg.Wait()
	if want != nil {
		for _, name := range want.NodeNames() {
			if wn := want.Nodes[name]; wn.Host {
				n, err := k.observeHost(ctx, lab, wn)
				if err != nil {
					errs = append(errs, fmt.Errorf("node %s: %w", name, err))
					continue
				}
				s.Nodes[name] = n
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := k.observeProcesses(ctx, s); err != nil {
		return nil, err
	}
	if err := k.observeOrphanHosts(s, want); err != nil {
		return nil, err
	}
	state.ResolvePeers(s)
	state.ResolveParents(s)
	return s, nil
}

// retryDump calls dump until the kernel reports a consistent result.
func retryDump[T any](what string, dump func() (T, error)) (T, error) {
	var zero T
	for range dumpRetries {
		v, err := dump()
		if errors.Is(err, netlink.ErrDumpInterrupted) {
			continue
		}
		if err != nil {
			return zero, fmt.Errorf("%s: %w", what, err)
		}
		return v, nil
	}
	return zero, fmt.Errorf("%s: dump interrupted %d times in a row: %w", what, dumpRetries, netlink.ErrDumpInterrupted)
}

// observeNode reads one namespace. It returns nil, nil when the namespace
// vanished since it was listed: netlab down (which status, plan and the
// TUI do not wait for) unmounts it, leaving an empty mount point for a
// moment, then removes that. etc is the open hosts directory (-1 for
// none), where the node's hosts file is read too, against wantHosts (nil
// for none). display is a read without a wanted state (Kernel.Observe):
// a bridge's learned MACs are read too, and of the hosts file only whose
// it is.
func (k *Linux) observeNode(ctx context.Context, t *nsThread, lab, node string, sysctlKeys []string, wantNFT *state.NFTable, wantHosts *state.HostsFile, display bool, etc int) (*state.Node, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	name := state.NetNSName(lab, node)
	path, err := k.netnsPath(name)
	if err != nil {
		return nil, err
	}
	// Opened first, then judged: a check of the path before the open
	// could see the namespace that the open no longer finds. The thread
	// t is in it until its sockets are made and its sysctls read.
	c, err := k.connIn(t, name)
	switch {
	case err == nil:
	case errors.Is(err, os.ErrNotExist) || errors.Is(err, errNotNetNS) && (isStub(path) || !exists(path)):
		return nil, nil // gone, or going, since it was listed
	case errors.Is(err, errNotNetNS):
		// A file of the lab's name that is no namespace: someone else's.
		return ForeignNode(node, name), nil
	default:
		return nil, err
	}
	sysctls, err := readSysctlsHere(sysctlKeys)
	if err != nil {
		return nil, err
	}
	tables, err := nftTablesHere()
	if err != nil {
		return nil, err
	}
	var nft *nftables.Conn // only where netlab's table is to be read
	if tables.netlab {
		if nft, err = nftHere(); err != nil {
			return nil, err
		}
		defer nft.CloseLasting()
	}
	if err := t.release(); err != nil {
		return nil, err
	}
	links, err := retryDump("list links", c.h.LinkList)
	if err != nil {
		return nil, err
	}
	n := state.NewNode(node, name)
	n.Sysctls = sysctls
	byIndex, err := observeLinks(c, lab, links)
	if err != nil {
		return nil, err
	}
	k.ids.outside(byIndex)
	marked := false
	for _, nl := range links {
		if a := nl.Attrs(); a.Name == "lo" && a.Alias == state.NodeMarker(lab, node) {
			marked = true
		}
		n.Links[nl.Attrs().Name] = byIndex[nl.Attrs().Index]
	}
	if !marked {
		return ForeignNode(node, name), nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := observeAddrs(c, byIndex); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if n.Routes, err = observeRoutes(c, byIndex); err != nil {
		return nil, err
	}
	if n.Rules, err = observeRules(c); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if display {
		if err := observeLearned(c, byIndex); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	n.TraceLeftover = tables.traceLeftover
	if nft != nil {
		if n.NFT, err = readNFTable(nft, wantNFT); err != nil {
			return nil, err
		}
	}
	if etc >= 0 {
		want := ""
		if wantHosts != nil {
			want = wantHosts.Content
		}
		if n.Hosts, err = readHostsAt(etc, name, want, display); err != nil {
			return nil, fmt.Errorf("hosts file: %w", err)
		}
	}
	return n, nil
}

// observeHost reads a host node: the links of the machine's root
// namespace that carry the lab's marker, and those of a name the node
// declares (so that one in the way is reported, never taken). Everything
// else there is the machine's, neither the lab's nor unmanaged.
func (k *Linux) observeHost(ctx context.Context, lab string, want *state.Node) (*state.Node, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, err := k.conn(state.HostNetNS)
	if err != nil {
		return nil, err
	}
	links, err := retryDump("list links", c.h.LinkList)
	if err != nil {
		return nil, err
	}
	all, err := observeLinks(c, lab, links)
	if err != nil {
		return nil, err
	}
	k.ids.outside(all)
	n := state.NewNode(want.Name, state.HostNetNS)
	n.Host = true
	kept := make(map[int]*state.Link)
	for idx, l := range all {
		if l.Owned || want.Links[l.Name] != nil {
			n.Links[l.Name] = l
			kept[idx] = l
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := observeAddrs(c, kept); err != nil {
		return nil, err
	}
	return n, nil
}

// forgetGone closes the open handles of the lab's namespaces that are no
// longer mounted: a handle would keep a namespace deleted by hand alive
// for as long as this Linux lives (the TUI lives long).
func (k *Linux) forgetGone(lab string, present []string) {
	live := make(map[string]bool, len(present))
	for _, node := range present {
		live[state.NetNSName(lab, node)] = true
	}
	k.mu.Lock()
	var gone []string
	for name := range k.conns {
		if l, _, ok := state.SplitNetNSName(name); ok && l == lab && !live[name] {
			gone = append(gone, name)
		}
	}
	k.mu.Unlock()
	for _, name := range gone {
		k.forget(name)
	}
}

// observeProcesses fills in the processes of each of the lab's own
// namespaces: one pass over /proc for all of them (a lab
// may have a thousand nodes), then each node's share by its namespace's
// identity.
func (k *Linux) observeProcesses(ctx context.Context, s *state.State) error {
	byID := make(map[nsID]*state.Node)
	for _, name := range s.NodeNames() {
		n := s.Nodes[name]
		if n.Host || n.Foreign {
			continue
		}
		id, err := k.netnsID(n.NetNS)
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, errNotNetNS) {
			continue // gone since it was read: as good as absent
		}
		if err != nil {
			return fmt.Errorf("node %s: %w", name, err)
		}
		byID[id] = n
	}
	if len(byID) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	procs, err := scanProcs(byID)
	if err != nil {
		return fmt.Errorf("list processes: %w", err)
	}
	for id, n := range byID {
		n.Procs, n.Others = NodeProcesses(s.Lab, n.Name, procs[id])
	}
	return nil
}

// observeOrphanHosts reads the hosts files of the nodes want declares
// whose namespace does not exist: a file there is left by an interrupted
// down, or someone else's, which up must see before it makes anything.
func (k *Linux) observeOrphanHosts(s, want *state.State) error {
	if want == nil {
		return nil
	}
	for _, name := range want.NodeNames() {
		wn := want.Nodes[name]
		if wn.Host || s.Nodes[name] != nil {
			continue
		}
		netnsName := state.NetNSName(s.Lab, name)
		if _, _, ok := state.SplitNetNSName(netnsName); !ok {
			continue // not a name netlab makes: no file of it is read
		}
		h, err := k.readHosts(netnsName)
		if err != nil {
			return fmt.Errorf("node %s: hosts file: %w", name, err)
		}
		if h != nil {
			if s.OrphanHosts == nil {
				s.OrphanHosts = make(map[string]*state.HostsFile)
			}
			s.OrphanHosts[name] = h
		}
	}
	return nil
}
