package check

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"sync"
	"time"
)

// Check isolation. The checks of one Run go out at once, and a probe can
// land on a responder that another check started: a DNAT rule sends the
// probe of a check to web:80 on to web:8080, where a second check's
// responder listens; the address probed belongs to another node. Were the
// second responder to answer, the first check would pass or fail after
// which goroutine ran first.
//
// So every check gets a ticket: a random token its probe carries in its
// payload (the TCP or UDP probe line, the ICMP echo data), and the
// endpoint whose responder it means. A responder answers a probe only
// when the probe's token is a ticket for the responder's own endpoint,
// and it remembers where a stray probe of another check landed, so that
// check can say where its probe went. Every kind of check goes through
// this one piece: the TCP and UDP responders and the ICMP watcher call
// claim, the probes ask landed and seen.

// tokenBytes is the size of a token: 128 random bits, so that no two
// probes, of this Run or any other, share one.
const tokenBytes = 16

// token marks one check's probes.
type token [tokenBytes]byte

// newToken returns a fresh random token.
func newToken() token {
	var t token
	if _, err := rand.Read(t[:]); err != nil {
		panic("check: random: " + err.Error()) // crypto/rand does not fail on Linux
	}
	return t
}

// String is the token as the TCP and UDP probe line carries it: 32
// lower-case hex digits.
func (t token) String() string { return hex.EncodeToString(t[:]) }

// parseToken reads a token written by String; anything else is not one.
func parseToken(s string) (token, bool) {
	var t token
	if len(s) != 2*tokenBytes {
		return t, false
	}
	if _, err := hex.Decode(t[:], []byte(s)); err != nil {
		return t, false
	}
	return t, true
}

// tokenOf reads the token at the start of an ICMP echo payload.
func tokenOf(data []byte) (token, bool) {
	var t token
	if len(data) < tokenBytes {
		return t, false
	}
	copy(t[:], data)
	return t, true
}

// endpoint is where a responder listens: a node, a protocol ("tcp",
// "udp", or "icmp" and "icmp6" for the watcher of echo requests) and a
// port (0 for ICMP).
type endpoint struct {
	node, proto string
	port        uint16
}

// String names the endpoint as the check's line does: "web tcp/8080",
// "web icmp".
func (e endpoint) String() string {
	switch e.proto {
	case "icmp", "icmp6":
		return e.node + " icmp"
	}
	return fmt.Sprintf("%s %s/%d", e.node, e.proto, e.port)
}

// tickets are the tickets of one Run, by token.
type tickets struct {
	mu sync.Mutex
	m  map[token]*ticket
}

// ticket is one check's claim on the responder at want.
type ticket struct {
	want endpoint
	// landed is the endpoint of another check's responder that this
	// check's probe reached, or the zero endpoint.
	landed endpoint
	// arrived is closed, and seen set, once the responder at want has
	// seen the probe.
	arrived chan struct{}
	seen    netip.Addr
}

func newTickets() *tickets { return &tickets{m: make(map[token]*ticket)} }

// issue returns a fresh token for a check whose probe must reach the
// responder at want.
func (ts *tickets) issue(want endpoint) token {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for {
		t := newToken()
		if _, dup := ts.m[t]; !dup {
			ts.m[t] = &ticket{want: want, arrived: make(chan struct{})}
			return t
		}
	}
}

// claim is a responder's question: the probe with token t reached the
// responder at at, from source seen; may it answer? It may when t is a
// ticket for at, and then the probe counts as arrived. A probe of another
// check is recorded as landed at at (the first place it landed), and one
// with no ticket (of another Run, or not netlab's) is ignored.
func (ts *tickets) claim(t token, at endpoint, seen netip.Addr) bool {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	tk, ok := ts.m[t]
	switch {
	case !ok:
		return false
	case tk.want != at:
		if tk.landed == (endpoint{}) {
			tk.landed = at
		}
		return false
	}
	select {
	case <-tk.arrived:
	default:
		tk.seen = seen
		close(tk.arrived)
	}
	return true
}

// landed returns the responder of another check that the probe with token
// t reached, if one did.
func (ts *tickets) landed(t token) (endpoint, bool) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	tk, ok := ts.m[t]
	if !ok || tk.landed == (endpoint{}) {
		return endpoint{}, false
	}
	return tk.landed, true
}

// wait waits up to d for the check's own responder to see the probe with
// token t, and returns the source it saw.
func (ts *tickets) wait(t token, d time.Duration) (netip.Addr, bool) {
	ts.mu.Lock()
	tk, ok := ts.m[t]
	ts.mu.Unlock()
	if !ok {
		return netip.Addr{}, false
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-tk.arrived:
	case <-timer.C:
		return netip.Addr{}, false
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return tk.seen, true
}

// strayReason says where a probe that missed its own responder went.
func strayReason(want, landed endpoint) string {
	return fmt.Sprintf("%s: reached %s, another check's responder, not %s (a NAT rule or the address sends it there)",
		ReasonElsewhere, landed, want)
}
