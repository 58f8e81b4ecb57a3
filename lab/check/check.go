// Package check runs a lab's checks: reachability probes sent from inside
// a node's namespace, with no tool on the machine. A ping sends ICMP echo
// requests from a raw socket; a check "to" a node first starts a
// short-lived responder inside that node (a TCP or UDP echo that answers
// with the source address it saw, or, for ICMP, a raw socket that watches
// the echo requests arrive that the node's kernel answers), so a check can
// prove that a NAT rule did its work. A responder answers only its own
// checks' probes (see isolation.go), so checks give the same results run
// together as alone. A connect or http check talks to a real service and
// starts no responder (service.go). When a probe fails, the result says
// why, as a network engineer would: no route, no ARP reply, refused,
// timed out.
//
// Every socket is created inside a node's namespace through a
// kernel.NetNS (lab/kernel's Linux, or the fake network of kerneltest in
// tests) and closed before Run returns.
package check

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"sync"
	"time"

	"netlab/lab"
	"netlab/lab/kernel"
	"netlab/lab/plan"
	"netlab/lab/state"
	"netlab/lab/trace"
)

// Result is the outcome of one check.
type Result struct {
	Check  *lab.Check
	Name   string     // "c1 ping 198.51.100.183", "c2 -> server udp/7 (198.51.100.183)"
	Target netip.Addr // the address probed, or invalid when it could not be told
	Passed bool       // the check holds, taking expect: fail into account
	// Reached: the probe got its answer from the check's own responder
	// (for a ping, the echo reply; for an ICMP check with To, the reply
	// and To's watcher saw the request). A probe that another check's
	// responder, or another program, got is not reached.
	Reached bool
	RTT     time.Duration
	// Seen is the source address the responder saw, for a check with To.
	Seen netip.Addr
	// Status is the HTTP status an http check's server answered, or 0.
	Status int
	// Reason says why the probe did not get through ("no route to
	// 198.51.100.183 from node c1"), or why a probe that got through still
	// fails the check (the wrong source seen); "" otherwise.
	Reason string
	// Err is set when the check could not run at all (a node not
	// running); such a check fails whatever it expects.
	Err     error
	Elapsed time.Duration
	// Path is the way the trace saw, for a path check (lab.Check.IsPath)
	// that ran; PathReason says how it differs from the one the check
	// asserts, "" when it does not.
	Path       *trace.Path
	PathReason string
}

// Detail is the one-line explanation shown next to the result: the RTT
// and the source seen, or the reason.
func (r Result) Detail() string {
	switch {
	case r.Err != nil:
		return "error: " + r.Err.Error()
	case r.PathReason != "":
		return r.Reason // the probe's part and the path's
	case r.Reached && r.Passed:
		s := "rtt " + FormatRTT(r.RTT)
		if r.Status != 0 {
			s = fmt.Sprintf("HTTP %d, %s", r.Status, s)
		}
		if r.Seen.IsValid() {
			s += ", " + r.Check.To + " saw source " + r.Seen.String()
		}
		return s
	case r.Reached && r.Check.Expect == lab.ExpectFail:
		return "got through (rtt " + FormatRTT(r.RTT) + "), but the check expects it to fail"
	case r.Reached:
		return r.Reason
	case r.Check.Expect == lab.ExpectFail:
		return "blocked as expected: " + r.Reason
	}
	return r.Reason
}

// FormatRTT shows a round-trip time in milliseconds, as ping does.
func FormatRTT(d time.Duration) string {
	return fmt.Sprintf("%.3f ms", float64(d)/float64(time.Millisecond))
}

// Name describes a check in one line. A check whose responder listens on
// another port than the one dialled shows both: "tcp/8080->80".
func Name(l *lab.Lab, c *lab.Check) string {
	switch {
	case c.Ping.IsValid():
		return c.From + " ping " + c.Ping.String()
	case c.Connect.IsValid():
		return c.From + " connect " + c.Connect.String()
	case c.HTTP != "":
		return c.From + " http " + c.HTTP
	}
	s := c.From + " -> " + c.To + " " + c.Proto
	if c.Proto != "icmp" {
		s += fmt.Sprintf("/%d", c.Port)
		if lp := c.ListenPort(); lp != c.Port {
			s += fmt.Sprintf("->%d", lp) // as docker ps shows a published port
		}
	}
	if a, err := Target(l, c); err == nil {
		s += " (" + a.String() + ")"
	}
	return s
}

// Target is the address a check probes: Ping, Connect's address, the
// host of HTTP (an IP, or a node's first address), Address, or the first
// address of the node To in file order.
func Target(l *lab.Lab, c *lab.Check) (netip.Addr, error) {
	switch {
	case c.Ping.IsValid():
		return c.Ping, nil
	case c.Connect.IsValid():
		return c.Connect.Addr(), nil
	case c.HTTP != "":
		return httpTarget(l, c.HTTP)
	case c.Address.IsValid():
		return c.Address, nil
	}
	if a, ok := l.FirstAddr(c.To); ok {
		return a, nil
	}
	return netip.Addr{}, fmt.Errorf("node %q has no address to probe: give the check an address", c.To)
}

// DialPort is the port a check's probe goes to: Connect's, the URL's (or
// its scheme's) for http, Port for tcp and udp, 0 for ICMP.
func DialPort(c *lab.Check) uint16 {
	switch {
	case c.Connect.IsValid():
		return c.Connect.Port()
	case c.HTTP != "":
		return httpPort(c.HTTP)
	case c.Proto == "tcp", c.Proto == "udp":
		return c.Port
	}
	return 0
}

// Run runs checks of the running lab l, all at once, with sockets that ns
// opens in its nodes, and returns their
// results in the order of checks. It returns when every probe has ended
// (each within its timeout) and every responder is closed; cancelling ctx
// ends the probes early, as failures.
//
// Every responder listens before the first probe leaves, so a probe that a
// NAT rule sends to another check's responder always finds it there, and
// is always refused an answer (see isolation.go): the results do not
// depend on which check's goroutine ran first. Checks that talk to real
// services (connect, http) carry no ticket, and a responder's port would
// accept their connection as any listener does, so they run after every
// responder is closed; those to the same service take turns (see
// serviceTurns).
//
// A path check (lab.Check.IsPath) runs its probe under a trace when ns is
// also a kernel.Tracer (kernel.Linux is), and otherwise fails with
// ErrNoTrace. The trace names the lab's chains and rules from the lab as
// the file describes it (plan.Desired): the lab that netlab check runs
// against is up from that file.
func Run(ctx context.Context, ns kernel.NetNS, l *lab.Lab, checks []*lab.Check) []Result {
	results := make([]Result, len(checks))
	var probed, services []int
	for i, c := range checks {
		if c.Connect.IsValid() || c.HTTP != "" {
			services = append(services, i)
		} else {
			probed = append(probed, i)
		}
	}
	run := &runner{ns: ns, l: l, checks: checks, results: results}
	if slices.ContainsFunc(checks, (*lab.Check).IsPath) {
		run.tr, _ = ns.(kernel.Tracer)
		run.desired = plan.Desired(l)
	}
	run.set(ctx, probed)
	turns := serviceTurns(l, checks, services)
	eachTurn(turns, func(idx []int) {
		for _, i := range idx {
			run.set(ctx, []int{i})
		}
	})
	return results
}

// runner is one Run: the checks, their results, and what a path check
// needs to trace its probe (tr is nil where ns cannot trace).
type runner struct {
	ns      kernel.NetNS
	l       *lab.Lab
	checks  []*lab.Check
	results []Result
	tr      kernel.Tracer
	desired *state.State
}

// set runs the checks at idx together (runSet).
func (run *runner) set(ctx context.Context, idx []int) {
	runSet(ctx, run.ns, run.l, run.checks, idx, run.results, run.send)
}

// send runs one prepared probe: under a trace for a path check.
func (run *runner) send(ctx context.Context, p *probe, r Result) Result {
	if !p.check.IsPath() {
		return p.run(ctx, r)
	}
	if run.tr == nil {
		r.Err = ErrNoTrace
		return r
	}
	_, r = p.traced(ctx, run.tr, run.desired, r)
	return r
}

// serviceTurns groups the service checks at idx by the service they
// dial, its address and port (and, for a loopback address, the node it
// is dialled from, whose own lo it is), in file order. A real service is
// not a responder made for the checks: many clients at once are a load it
// does not see from one check alone (a server that serves one client at a
// time, a listen backlog of 5 that drops a burst of connections), so the
// checks of one service run one after another, each with its own
// timeout, and the checks of different services at once. A check whose
// target cannot be resolved is a group of its own (prepare reports it).
func serviceTurns(l *lab.Lab, checks []*lab.Check, idx []int) [][]int {
	type service struct {
		from  string
		dst   netip.AddrPort
		alone int // 1 + the index of a check without a target
	}
	var order []service
	groups := map[service][]int{}
	for _, i := range idx {
		c := checks[i]
		key := service{from: c.From}
		if dst, err := Target(l, c); err == nil {
			key.dst = netip.AddrPortFrom(dst, DialPort(c))
			if !dst.IsLoopback() {
				key.from = ""
			}
		} else {
			key.alone = 1 + i
		}
		if _, ok := groups[key]; !ok {
			order = append(order, key)
		}
		groups[key] = append(groups[key], i)
	}
	turns := make([][]int, 0, len(order))
	for _, key := range order {
		turns = append(turns, groups[key])
	}
	return turns
}

// eachTurn calls fn for every group of turns at once and waits for them.
func eachTurn(turns [][]int, fn func(idx []int)) {
	var wg sync.WaitGroup
	for _, idx := range turns {
		wg.Go(func() { fn(idx) })
	}
	wg.Wait()
}

// runSet runs the checks at idx at once, into results, with responders
// of their own that are all closed when it returns; send runs each
// prepared probe.
func runSet(ctx context.Context, ns kernel.NetNS, l *lab.Lab, checks []*lab.Check, idx []int, results []Result,
	send func(context.Context, *probe, Result) Result) {
	probes := make([]*probe, len(checks))
	took := make([]time.Duration, len(checks))
	ts := newTickets()
	rs := newResponders(ns, l.Name, ts)
	defer rs.closeAll()
	each(idx, func(i int) {
		start := time.Now()
		probes[i], results[i] = prepare(ns, l, checks[i], ts, rs)
		took[i] = time.Since(start)
	})
	each(idx, func(i int) {
		start := time.Now()
		if p := probes[i]; p != nil {
			results[i] = send(ctx, p, results[i])
		}
		results[i].Elapsed = took[i] + time.Since(start)
	})
}

// each calls fn(i) for every i of idx at once and waits for them all.
func each(idx []int, fn func(i int)) {
	var wg sync.WaitGroup
	for _, i := range idx {
		wg.Go(func() { fn(i) })
	}
	wg.Wait()
}

// probe is one check made ready to go: its target, its ticket, and the
// responder it means already listening.
type probe struct {
	ns      kernel.NetNS
	check   *lab.Check
	labName string
	dst     netip.Addr
	port    uint16   // the port dialled, for tcp, udp, connect and http
	want    endpoint // the responder the probe must reach; zero for a ping
	tok     token
	ts      *tickets
	// localPort is the local port (TCP, UDP) or the echo identifier
	// (ICMP) the probe sends from, which a trace follows; 0 for any.
	localPort uint16
}

// prepare resolves a check's target, starts the responder it means (or
// finds it started by another check) and issues its ticket. A check that
// cannot run returns no probe and a result with Err set.
func prepare(ns kernel.NetNS, l *lab.Lab, c *lab.Check, ts *tickets, rs *responders) (*probe, Result) {
	r := Result{Check: c, Name: Name(l, c)}
	dst, err := Target(l, c)
	if err != nil {
		r.Err = err
		return nil, r
	}
	r.Target = dst
	for _, node := range []string{c.From, c.To} {
		if node == "" {
			continue
		}
		if err := ns.NetNSExists(netns(l.Name, node)); err != nil {
			r.Err = notRunning(node, err)
			return nil, r
		}
	}
	p := &probe{ns: ns, check: c, labName: l.Name, dst: dst.Unmap(), port: c.Port, ts: ts}
	switch {
	case c.Ping.IsValid():
		p.tok = newToken() // no responder: the token only marks the echo
		return p, r
	case c.Connect.IsValid(), c.HTTP != "":
		p.port = DialPort(c)
		return p, r
	}
	p.want = wantedEndpoint(c, p.dst)
	if err := rs.start(p.want); err != nil {
		r.Err = err
		return nil, r
	}
	p.tok = ts.issue(p.want)
	return p, r
}

// wantedEndpoint is the responder a check with To means: the node To, the
// check's protocol (ICMP after the target's family), and for TCP and UDP
// the port the responder listens on (listen:, or the port dialled).
func wantedEndpoint(c *lab.Check, dst netip.Addr) endpoint {
	switch {
	case c.Proto != "icmp":
		return endpoint{node: c.To, proto: c.Proto, port: c.ListenPort()}
	case dst.Is6():
		return endpoint{node: c.To, proto: "icmp6"}
	}
	return endpoint{node: c.To, proto: "icmp"}
}

// run sends the probe and judges the check from what came back.
func (p *probe) run(ctx context.Context, r Result) Result {
	return p.judge(r, p.send(ctx))
}

// send sends the probe, within the check's timeout, and tells what came
// back.
func (p *probe) send(ctx context.Context) outcome {
	c := p.check
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	switch {
	case c.Connect.IsValid():
		return p.connect(ctx)
	case c.HTTP != "":
		return p.get(ctx)
	case c.Proto == "icmp":
		return p.ping(ctx)
	}
	return p.stream(ctx)
}

// judge fills in r from the probe's outcome o: whether the check holds.
func (p *probe) judge(r Result, o outcome) Result {
	c := p.check
	r.Reached, r.RTT, r.Seen, r.Status, r.Reason, r.Err = o.reached, o.rtt, o.seen, o.status, o.reason, o.err
	if r.Err != nil {
		return r
	}
	switch {
	case c.Expect == lab.ExpectFail:
		r.Passed = !r.Reached
	case !r.Reached:
		r.Passed = false
	case c.SeenSource.IsValid() && r.Seen != c.SeenSource:
		r.Reason = fmt.Sprintf("%s saw source %s, want %s (is the NAT rule in place?)", c.To, r.Seen, c.SeenSource)
	default:
		r.Passed = true
	}
	if r.Reason == "" && !r.Reached {
		r.Reason = "no answer"
	}
	return r
}

// outcome is what one probe found.
type outcome struct {
	reached bool
	rtt     time.Duration
	seen    netip.Addr
	status  int // an http check's status code
	reason  string
	err     error // the probe could not run
	// cause is the kernel's error behind reason, when there is one
	// (ENETUNREACH on the send): what a trace's end is told.
	cause error
}

// randomID is a random ICMP echo identifier.
func randomID() uint16 {
	t := newToken()
	return binary.BigEndian.Uint16(t[:2])
}

// netns is the namespace of a node of the lab.
func netns(labName, node string) string { return state.NetNSName(labName, node) }

// notRunning turns the failure to enter a node's namespace into a message
// with the fix.
func notRunning(node string, err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("node %s is not running: start the lab with netlab up", node)
	}
	return fmt.Errorf("node %s: %w", node, err)
}

var errTimeout = errors.New("timed out")
