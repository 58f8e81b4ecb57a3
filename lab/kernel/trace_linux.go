package kernel

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/google/nftables"
	"github.com/google/nftables/userdata"
	"github.com/mdlayher/netlink"
	vnetlink "github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// traceSerial numbers the traces of this process: a table is
// netlab_trace_<pid>_<n>, so two traces at once never share one.
var traceSerial atomic.Uint64

// traceEventsBuffer is how many events wait for a slow reader of Events
// before the listeners stop reading (and the kernel drops what its
// sockets cannot hold).
const traceEventsBuffer = 4096

// traceHooks are the hooks a trace table has chains at, in the order a
// forwarded packet meets them.
var traceHooks = []string{"prerouting", "input", "forward", "output", "postrouting"}

// TraceStart: see Tracer (seam.go). In each namespace, in this order: a
// NETLINK_NETFILTER socket joins NFNLGRP_NFTRACE (so that no event of the
// table is missed), then a second socket, kept open for the trace's life,
// makes the trace tables with NFT_TABLE_F_OWNER and their chains.
func (k *Linux) TraceStart(ctx context.Context, netnsNames []string, m TraceMatch) (Trace, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rules, err := traceMarkRules(m)
	if err != nil {
		return nil, err
	}
	if len(netnsNames) == 0 {
		return nil, errors.New("trace: no namespace to trace in")
	}
	table := fmt.Sprintf("%s_%d_%d", TraceTablePrefix, os.Getpid(), traceSerial.Add(1))
	t := &linuxTrace{out: make(chan TraceEvent, traceEventsBuffer), done: make(chan struct{})}
	for _, name := range slices.Compact(slices.Sorted(slices.Values(netnsNames))) {
		if err := machineSafe(name, "TraceStart"); err != nil {
			t.Close()
			return nil, err
		}
		n, err := k.startNSTrace(name, table, m, rules)
		if err != nil {
			t.Close()
			return nil, fmt.Errorf("trace in %s: %w", name, err)
		}
		t.ns = append(t.ns, n)
	}
	for _, n := range t.ns {
		t.wg.Add(1)
		go t.listen(n)
	}
	// Under mu: the function may run (and Close read stop) at once.
	t.mu.Lock()
	t.stop = context.AfterFunc(ctx, func() { t.Close() })
	t.mu.Unlock()
	return t, nil
}

// linuxTrace is a running trace: one nsTrace per namespace, each read by
// its own goroutine, which all send to out.
type linuxTrace struct {
	ns   []*nsTrace
	out  chan TraceEvent
	done chan struct{} // closed by Close: the listeners stop
	wg   sync.WaitGroup
	stop func() bool // the AfterFunc of TraceStart's ctx; guarded by mu

	mu  sync.Mutex // orders sends, and numbers them
	seq uint64

	once sync.Once
	err  error // what Close met, returned by every call
}

func (t *linuxTrace) Events() <-chan TraceEvent { return t.out }

// Close closes every socket of the trace: first the listeners', so that
// their reads return, then, once they have ended, the owner sockets, and
// the kernel removes the tables those made. Only then is out closed.
func (t *linuxTrace) Close() error {
	t.once.Do(func() {
		t.mu.Lock()
		stop := t.stop
		t.mu.Unlock()
		if stop != nil {
			stop()
		}
		close(t.done)
		for _, n := range t.ns {
			n.listener.Close()
		}
		t.wg.Wait()
		var errs []error
		for _, n := range t.ns {
			errs = append(errs, n.close())
		}
		t.mu.Lock()
		t.err = errors.Join(append([]error{t.err}, errs...)...)
		t.mu.Unlock()
		close(t.out)
	})
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err
}

// send delivers e, numbered, unless the trace is closing.
func (t *linuxTrace) send(e TraceEvent) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.seq++
	e.Seq = t.seq
	select {
	case t.out <- e:
		return true
	case <-t.done:
		return false
	}
}

// listen reads one namespace's trace events until the trace closes.
func (t *linuxTrace) listen(n *nsTrace) {
	defer t.wg.Done()
	for {
		msgs, err := n.listener.Receive()
		if err != nil {
			select {
			case <-t.done:
				return
			default:
			}
			if errors.Is(err, unix.ENOBUFS) {
				continue // events were lost while the reader lagged; read on
			}
			t.mu.Lock()
			t.err = errors.Join(t.err, fmt.Errorf("trace in %s: read events: %w", n.netns, err))
			t.mu.Unlock()
			return
		}
		for _, msg := range msgs {
			if msg.Header.Type != traceMsgType {
				continue
			}
			r, err := decodeTrace(msg)
			if err != nil {
				continue
			}
			if e, ok := n.resolve(r); ok && !t.send(e) {
				return
			}
		}
	}
}

// nsTrace is a trace in one namespace: its own copy of the namespace
// file, the socket that owns the trace tables, the listener, and what
// the listener resolved so far. The caches are used by the listener's
// goroutine only.
type nsTrace struct {
	netns    string
	fd       int
	table    string
	families []nftables.TableFamily
	owner    *nftables.Conn // lasting: closing it removes the tables
	listener *netlink.Conn
	rtnl     *vnetlink.Handle

	chains map[chainKey]chainInfo
	rules  map[chainKey]map[uint64]string // rule handle -> comment
	links  map[uint32]string
	ours   map[uint32]bool // IDs a mark rule of this trace reported
	// last is the previous event and its key: the kernel dumps a packet's
	// headers and interfaces only with the first event of each chain.
	last    TraceEvent
	lastKey chainKey
	hookOf  map[uint32]chainInfo // the base chain an ID was last seen in
}

type chainKey struct {
	family       uint8
	table, chain string
}

type chainInfo struct {
	hook     string
	priority int
}

// startNSTrace starts the trace in one namespace.
func (k *Linux) startNSTrace(name, table string, m TraceMatch, rules []markRule) (_ *nsTrace, err error) {
	c, err := k.conn(name)
	if err != nil {
		return nil, err
	}
	// A copy of the namespace file: the trace outlives k's own.
	fd, err := unix.FcntlInt(uintptr(c.fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open the namespace: %w", err)
	}
	n := &nsTrace{netns: name, fd: fd, table: table, chains: map[chainKey]chainInfo{},
		rules: map[chainKey]map[uint64]string{}, links: map[uint32]string{}, ours: map[uint32]bool{},
		hookOf: map[uint32]chainInfo{}}
	defer func() {
		if err != nil {
			n.close()
		}
	}()
	if n.rtnl, err = vnetlink.NewHandleAt(netns.NsHandle(fd), unix.NETLINK_ROUTE); err != nil {
		return nil, fmt.Errorf("netlink socket: %w", err)
	}
	if n.listener, err = netlink.Dial(unix.NETLINK_NETFILTER, &netlink.Config{NetNS: fd}); err != nil {
		return nil, fmt.Errorf("netfilter socket: %w", err)
	}
	if err := n.listener.JoinGroup(unix.NFNLGRP_NFTRACE); err != nil {
		return nil, fmt.Errorf("join the trace group: %w", err)
	}
	// Room for the bursts of a few packets, each a dozen events.
	_ = n.listener.SetReadBuffer(1 << 20)

	n.families = []nftables.TableFamily{nftables.TableFamilyINet}
	if bridged, err := hasBridge(n.rtnl); err != nil {
		return nil, err
	} else if bridged {
		n.families = append(n.families, nftables.TableFamilyBridge)
	}
	var sock *netlink.Conn
	n.owner, err = nftables.New(nftables.AsLasting(), nftables.WithNetNSFd(fd),
		nftables.WithSockOptions(func(c *netlink.Conn) error {
			sock = c
			// The table's chains and rules go in one batch, acknowledged
			// message by message: short acknowledgements, and room for
			// them all.
			if err := c.SetOption(netlink.CapAcknowledge, true); err != nil {
				return err
			}
			return c.SetReadBuffer(1 << 20)
		}))
	if err != nil {
		return nil, fmt.Errorf("nftables socket: %w", err)
	}
	for _, fam := range n.families {
		if err := addOwnedTable(sock, table, fam); err != nil {
			return nil, err
		}
		addTraceChains(n.owner, &nftables.Table{Name: table, Family: fam}, m, rules)
		if err := n.owner.Flush(); err != nil {
			return nil, fmt.Errorf("nftables: add the trace chains of %s: %w", familyName(uint8(fam)), err)
		}
	}
	// What the events name is read now, not when the first event comes:
	// a listener busy asking the kernel lags behind the others, and Seq
	// then orders its events late.
	if err := n.loadChains(); err != nil {
		return nil, err
	}
	if err := n.loadLinks(); err != nil {
		return nil, err
	}
	for key := range n.chains {
		n.loadRules(key)
	}
	return n, nil
}

// hasBridge reports whether the namespace has a bridge: then bridge hops
// need a bridge-family table.
func hasBridge(h *vnetlink.Handle) (bool, error) {
	links, err := h.LinkList()
	if err != nil {
		return false, fmt.Errorf("list links: %w", err)
	}
	for _, l := range links {
		if l.Type() == "bridge" {
			return true, nil
		}
	}
	return false, nil
}

// addOwnedTable makes the table with NFT_TABLE_F_OWNER, in a batch of its
// own on sock, the socket of the lasting nftables connection: the kernel
// ties the table to the socket that made it, and refuses any change from
// another. (google/nftables v0.3.0 sends a table's flags as 0, whatever
// Table.Flags says, so the message is made here.)
func addOwnedTable(sock *netlink.Conn, name string, fam nftables.TableFamily) error {
	if sock == nil {
		return errors.New("nftables: no socket to own the trace table")
	}
	ae := netlink.NewAttributeEncoder()
	ae.ByteOrder = binary.BigEndian
	ae.String(unix.NFTA_TABLE_NAME, name)
	ae.Uint32(unix.NFTA_TABLE_FLAGS, nftTableFOwner)
	attrs, err := ae.Encode()
	if err != nil {
		return err
	}
	// nfgenmsg: family, version 0, resource id (the subsystem, for a
	// batch).
	genmsg := func(family uint8, res uint16) []byte {
		return binary.BigEndian.AppendUint16([]byte{family, unix.NFNETLINK_V0}, res)
	}
	msgs := []netlink.Message{
		{Header: netlink.Header{Type: netlink.HeaderType(unix.NFNL_MSG_BATCH_BEGIN), Flags: netlink.Request},
			Data: genmsg(unix.AF_UNSPEC, unix.NFNL_SUBSYS_NFTABLES)},
		{Header: netlink.Header{Type: netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | unix.NFT_MSG_NEWTABLE),
			Flags: netlink.Request | netlink.Acknowledge | netlink.Create | netlink.Excl},
			Data: append(genmsg(uint8(fam), 0), attrs...)},
		{Header: netlink.Header{Type: netlink.HeaderType(unix.NFNL_MSG_BATCH_END), Flags: netlink.Request},
			Data: genmsg(unix.AF_UNSPEC, unix.NFNL_SUBSYS_NFTABLES)},
	}
	sent, err := sock.SendMessages(msgs)
	if err != nil {
		return fmt.Errorf("nftables: add table %s: %w", name, err)
	}
	// The acknowledgement of the table message; an error comes as one.
	for {
		replies, err := sock.Receive()
		if err != nil {
			return fmt.Errorf("nftables: add table %s: %w", name, err)
		}
		for _, r := range replies {
			if r.Header.Sequence == sent[1].Header.Sequence && r.Header.Type == netlink.Error {
				return nil
			}
		}
	}
}

// addTraceChains adds, to the batch of conn, the trace table's chains:
// at each hook a first chain that marks the packets of m, and a last one
// with no rule, whose policy event shows the packet leaving the hook.
func addTraceChains(conn *nftables.Conn, table *nftables.Table, m TraceMatch, rules []markRule) {
	accept := nftables.ChainPolicyAccept
	mark := userdata.AppendString(nil, userdata.TypeComment, traceMarkTag)
	for _, hook := range traceHooks {
		first := conn.AddChain(&nftables.Chain{Name: "first_" + hook, Table: table, Hooknum: hooks[hook],
			Priority: nftables.ChainPriorityRef(TraceFirstPriority), Type: nftables.ChainTypeFilter, Policy: &accept})
		for _, exprs := range addrFilter(m) {
			conn.AddRule(&nftables.Rule{Table: table, Chain: first, Exprs: exprs})
		}
		for _, r := range rules {
			conn.AddRule(&nftables.Rule{Table: table, Chain: first, Exprs: r.exprs(), UserData: mark})
		}
		conn.AddChain(&nftables.Chain{Name: "last_" + hook, Table: table, Hooknum: hooks[hook],
			Priority: nftables.ChainPriorityRef(TraceLastPriority), Type: nftables.ChainTypeFilter, Policy: &accept})
	}
}

// close deletes the trace's tables and closes its sockets and namespace
// file. Closing the owner socket alone removes the tables, but only once
// no process holds it: a child another goroutine forks holds a copy of
// every descriptor until it execs (and close-on-exec drops it), so the
// kernel could see the socket close a moment later than Close returns.
// The explicit delete makes the tables gone when Close returns.
func (n *nsTrace) close() error {
	var err error
	if n.owner != nil {
		for _, fam := range n.families {
			n.owner.DelTable(&nftables.Table{Name: n.table, Family: fam})
		}
		if derr := n.owner.Flush(); derr != nil && !errors.Is(derr, unix.ENOENT) {
			err = fmt.Errorf("trace in %s: delete the trace tables: %w", n.netns, derr)
		}
		if cerr := n.owner.CloseLasting(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("trace in %s: close the table's socket: %w", n.netns, cerr))
		}
		n.owner = nil
	}
	if n.listener != nil {
		n.listener.Close() // again, for a trace that failed to start
		n.listener = nil
	}
	if n.rtnl != nil {
		n.rtnl.Close()
		n.rtnl = nil
	}
	if n.fd >= 0 {
		unix.Close(n.fd)
		n.fd = -1
	}
	return err
}

// nftConn is a short-lived nftables connection in the trace's namespace,
// for reading its chains and rules.
func (n *nsTrace) nftConn() (*nftables.Conn, error) {
	return nftables.New(nftables.WithNetNSFd(n.fd))
}

// loadChains reads every chain of the namespace, of every table: the
// hook and priority of each.
func (n *nsTrace) loadChains() error {
	conn, err := n.nftConn()
	if err != nil {
		return err
	}
	chains, err := conn.ListChains()
	if err != nil {
		return fmt.Errorf("nftables: list chains: %w", err)
	}
	for _, ch := range chains {
		if ch.Table == nil {
			continue
		}
		info := chainInfo{}
		if ch.Hooknum != nil {
			info.hook = hookName(ch.Table.Family, *ch.Hooknum)
		}
		if ch.Priority != nil {
			info.priority = int(*ch.Priority)
		}
		n.chains[chainKey{uint8(ch.Table.Family), ch.Table.Name, ch.Name}] = info
	}
	return nil
}

// hookName names a chain's hook in its family.
func hookName(fam nftables.TableFamily, h nftables.ChainHook) string {
	if fam == nftables.TableFamilyNetdev {
		switch h {
		case *nftables.ChainHookIngress:
			return "ingress"
		case 1:
			return "egress"
		}
	}
	for _, name := range traceHooks {
		if *hooks[name] == h {
			return name
		}
	}
	return fmt.Sprint(h)
}

// ruleTag is the comment of a rule, read with its chain's rules, again
// for a handle not seen before (a rule added since).
func (n *nsTrace) ruleTag(key chainKey, handle uint64) string {
	if tag, ok := n.rules[key][handle]; ok {
		return tag
	}
	n.loadRules(key)
	if _, ok := n.rules[key][handle]; !ok {
		n.rules[key][handle] = "" // a rule deleted since: not read again
	}
	return n.rules[key][handle]
}

// loadRules reads the comments of a chain's rules. A chain that cannot be
// read (deleted since) has none.
func (n *nsTrace) loadRules(key chainKey) {
	tags := map[uint64]string{}
	if conn, err := n.nftConn(); err == nil {
		rules, err := conn.GetRules(&nftables.Table{Name: key.table, Family: nftables.TableFamily(key.family)}, &nftables.Chain{Name: key.chain})
		if err == nil {
			for _, r := range rules {
				tags[r.Handle], _ = userdata.GetString(r.UserData, userdata.TypeComment)
			}
		}
	}
	n.rules[key] = tags
}

// loadLinks reads the names of the namespace's interfaces.
func (n *nsTrace) loadLinks() error {
	links, err := n.rtnl.LinkList()
	if err != nil {
		return fmt.Errorf("list links: %w", err)
	}
	for _, l := range links {
		n.links[uint32(l.Attrs().Index)] = l.Attrs().Name
	}
	return nil
}

// linkName names an interface of the namespace by its index, asking the
// kernel for one made since the trace started.
func (n *nsTrace) linkName(index uint32) string {
	if index == 0 {
		return ""
	}
	if name, ok := n.links[index]; ok {
		return name
	}
	name := ""
	if l, err := n.rtnl.LinkByIndex(int(index)); err == nil {
		name = l.Attrs().Name
	}
	n.links[index] = name
	return name
}

// resolve fills in what the message gives as numbers, and reports
// whether the event is this trace's: a packet is, from the moment one of
// this trace's mark rules reported its ID. Events of packets that another
// trace marked (its table, or ours seeing them pass) are not.
func (n *nsTrace) resolve(r rawTrace) (TraceEvent, bool) {
	e := eventOf(n.netns, r)
	key := chainKey{r.Family, r.Table, r.Chain}
	info, ok := n.chains[key]
	if !ok {
		_ = n.loadChains()
		info = n.chains[key]
	}
	if info.hook == "" {
		// A chain jumped to has no hook: it runs in its caller's.
		info = n.hookOf[r.ID]
	} else {
		n.hookOf[r.ID] = info
	}
	e.Hook, e.Priority = info.hook, info.priority
	e.Own = r.Table == n.table
	e.OwnFirst = e.Own && strings.HasPrefix(r.Chain, "first_")
	if r.RuleHandle != 0 {
		e.RuleTag = n.ruleTag(key, r.RuleHandle)
	}
	if r.Network == nil && r.Transport == nil && key == n.lastKey && r.ID == n.last.ID {
		e.Network, e.Transport, e.LinkLayer = n.last.Network, n.last.Transport, n.last.LinkLayer
		e.IIf, e.OIf = n.last.IIf, n.last.OIf
	} else {
		e.IIf, e.OIf = n.linkName(r.IIf), n.linkName(r.OIf)
	}
	n.last, n.lastKey = e, key
	if e.OwnFirst && e.Type == "rule" && e.RuleTag == traceMarkTag {
		n.ours[r.ID] = true
	}
	return e, n.ours[r.ID]
}

// TraceSweep: see Tracer (seam.go). A table is a trace's when its name is
// TraceTablePrefix alone or followed by "_", in any family.
func (k *Linux) TraceSweep(ctx context.Context, netnsNames []string) ([]string, error) {
	var swept []string
	for _, name := range netnsNames {
		if err := ctx.Err(); err != nil {
			return swept, err
		}
		if err := machineSafe(name, "TraceSweep"); err != nil {
			return swept, err
		}
		c, err := k.conn(name)
		if err != nil {
			return swept, err
		}
		conn, err := nftConn(c)
		if err != nil {
			return swept, err
		}
		tables, err := conn.ListTables()
		if err != nil {
			return swept, fmt.Errorf("%s: nftables: list tables: %w", name, err)
		}
		n := 0
		for _, t := range tables {
			if isTraceTable(t.Name) && !ownedTable(t) {
				conn.DelTable(&nftables.Table{Name: t.Name, Family: t.Family})
				n++
			}
		}
		if n == 0 {
			continue
		}
		if err := conn.Flush(); err != nil {
			return swept, fmt.Errorf("%s: nftables: delete a leftover trace table: %w", name, err)
		}
		swept = append(swept, name)
	}
	return swept, nil
}
