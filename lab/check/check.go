// Package check runs a lab's checks: reachability probes sent from inside
// a node's namespace, with no tool on the machine. A ping sends ICMP echo
// requests from a raw socket; a check "to" a node first starts a
// short-lived responder inside that node (a TCP or UDP echo that answers
// with the source address it saw, or, for ICMP, a raw socket that watches
// the kernel's own echo replies), so a check can prove that a NAT rule
// did its work. When a probe fails, the result says why, as a network
// engineer would: no route, no ARP reply, refused, timed out.
//
// Every socket is created inside a node's namespace through lab/kernel
// and closed before Run returns.
package check

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"time"

	"netlab/lab"
	"netlab/lab/kernel"
	"netlab/lab/state"
)

// Result is the outcome of one check.
type Result struct {
	Check   *lab.Check
	Name    string     // "c1 ping 198.51.100.183", "c2 -> server udp/7 (198.51.100.183)"
	Target  netip.Addr // the address probed, or invalid when it could not be told
	Passed  bool       // the check holds, taking expect: fail into account
	Reached bool       // the probe got its answer
	RTT     time.Duration
	// Seen is the source address the responder saw, for a check with To.
	Seen netip.Addr
	// Reason says why the probe did not get through ("no route to
	// 198.51.100.183 from node c1"), or why a probe that got through still
	// fails the check (the wrong source seen); "" otherwise.
	Reason string
	// Err is set when the check could not run at all (a node not
	// running); such a check fails whatever it expects.
	Err     error
	Elapsed time.Duration
}

// Detail is the one-line explanation shown next to the result: the RTT
// and the source seen, or the reason.
func (r Result) Detail() string {
	switch {
	case r.Err != nil:
		return "error: " + r.Err.Error()
	case r.Reached && r.Passed:
		s := "rtt " + FormatRTT(r.RTT)
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

// Name describes a check in one line.
func Name(l *lab.Lab, c *lab.Check) string {
	if c.Ping.IsValid() {
		return c.From + " ping " + c.Ping.String()
	}
	s := c.From + " -> " + c.To + " " + c.Proto
	if c.Proto != "icmp" {
		s += fmt.Sprintf("/%d", c.Port)
	}
	if a, err := Target(l, c); err == nil {
		s += " (" + a.String() + ")"
	}
	return s
}

// Target is the address a check probes: Ping, or Address, or the first
// address of the node To in file order.
func Target(l *lab.Lab, c *lab.Check) (netip.Addr, error) {
	switch {
	case c.Ping.IsValid():
		return c.Ping, nil
	case c.Address.IsValid():
		return c.Address, nil
	}
	if a, ok := FirstAddr(l, c.To); ok {
		return a, nil
	}
	return netip.Addr{}, fmt.Errorf("node %q has no address to probe: give the check an address", c.To)
}

// FirstAddr is the first address of a node in file order, leaving out
// loopback (127.0.0.0/8, ::1) and link-local addresses, which no other
// node can reach.
func FirstAddr(l *lab.Lab, node string) (netip.Addr, bool) {
	n := l.Node(node)
	if n == nil {
		return netip.Addr{}, false
	}
	for _, ifc := range n.Interfaces {
		for _, a := range ifc.Addresses {
			if ad := a.Prefix.Addr(); !ad.IsLoopback() && !ad.IsLinkLocalUnicast() {
				return ad, true
			}
		}
	}
	return netip.Addr{}, false
}

// Run runs checks of the running lab l, all at once, and returns their
// results in the order of checks. It returns when every probe has ended
// (each within its timeout) and every responder is closed; cancelling ctx
// ends the probes early, as failures.
func Run(ctx context.Context, l *lab.Lab, checks []*lab.Check) []Result {
	results := make([]Result, len(checks))
	rs := newResponders(l.Name)
	defer rs.closeAll()
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			results[i] = runOne(ctx, l, c, rs)
			results[i].Elapsed = time.Since(start)
		}()
	}
	wg.Wait()
	return results
}

func runOne(ctx context.Context, l *lab.Lab, c *lab.Check, rs *responders) Result {
	r := Result{Check: c, Name: Name(l, c)}
	dst, err := Target(l, c)
	if err != nil {
		r.Err = err
		return r
	}
	r.Target = dst
	for _, node := range []string{c.From, c.To} {
		if node == "" {
			continue
		}
		if err := kernel.NetNSExists(netns(l.Name, node)); err != nil {
			r.Err = notRunning(node, err)
			return r
		}
	}
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	var o outcome
	switch {
	case c.Ping.IsValid():
		o = pingProbe(ctx, l.Name, c.From, dst, "", c.Timeout)
	case c.Proto == "icmp":
		o = pingProbe(ctx, l.Name, c.From, dst, c.To, c.Timeout)
	default:
		if err := rs.start(c.To, c.Proto, c.Port); err != nil {
			r.Err = err
			return r
		}
		o = streamProbe(ctx, l.Name, c.From, c.Proto, netip.AddrPortFrom(dst, c.Port), c.Timeout)
	}
	r.Reached, r.RTT, r.Seen, r.Reason, r.Err = o.reached, o.rtt, o.seen, o.reason, o.err
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
	reason  string
	err     error // the probe could not run
}

// token returns n random bytes that mark one probe's packets, so that
// probes running at once, and other traffic, are told apart.
func token(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("check: random: " + err.Error())
	}
	return b
}

func randomID() uint16 { return binary.BigEndian.Uint16(token(2)) }

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
