package check

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"netlab/lab"
	"netlab/lab/kernel"
	"netlab/lab/state"
	"netlab/lab/trace"
)

// ErrNoTrace is the error of a path check run where the kernel seam
// cannot trace (a fake network): the path cannot be told, so the check
// cannot pass.
var ErrNoTrace = errors.New("this check asserts the probe's path (via, nat, dropped-at), which needs a trace, and this kernel cannot trace")

// Trace runs check c's probe under a trace (trace.Follow) on the running
// lab l, whose namespaces and rules observed describes, and returns the
// trace and the check's result. The probe is the check's own, with its
// responder and ticket (so it answers only this probe, see
// isolation.go), sent from the port, or with the ICMP identifier, the
// trace follows. A path check (c.IsPath) passes only when the probe's
// result and the path agree; any other check's result is the probe's
// alone. netlab trace builds c from its flags.
func Trace(ctx context.Context, ns kernel.NetNS, tr kernel.Tracer, l *lab.Lab, observed *state.State, c *lab.Check) (*trace.Result, Result) {
	start := time.Now()
	ts := newTickets()
	rs := newResponders(ns, l.Name, ts)
	defer rs.closeAll()
	p, r := prepare(ns, l, c, ts, rs)
	if p == nil {
		return nil, r
	}
	res, r := p.traced(ctx, tr, observed, r)
	r.Elapsed = time.Since(start)
	return res, r
}

// traced sends the probe under a trace and judges the check from the
// probe's outcome and, for a path check, the path the trace saw.
func (p *probe) traced(ctx context.Context, tr kernel.Tracer, observed *state.State, r Result) (*trace.Result, Result) {
	c := p.check
	var o outcome
	res, err := trace.Follow(ctx, tr, p.ns, observed, probeProto(c), func(ctx context.Context, port uint16) error {
		p.localPort = port
		o = p.send(ctx)
		return o.probeErr()
	})
	if err != nil {
		r.Err = fmt.Errorf("trace the probe: %w", err)
		return nil, r
	}
	// The probe's own facts over what the events told (Assemble).
	res.Lab, res.Target, res.Proto = p.labName, p.dst, probeProto(c)
	res.SetFrom(c.From)
	if c.To != "" {
		res.To = c.To
	}
	res.Port = 0
	if res.Proto != "icmp" {
		res.Port = p.port
	}
	r = p.judge(r, o)
	r.Reason = tracedReason(r, res)
	if c.IsPath() {
		r = judgePath(r, res.Path())
	}
	return res, r
}

// tracedReason is the reason of a probe that timed out, told from its
// trace where the trace knows more than the timeout (which can only
// guess "dropped further on, or no way back"): the request, or the
// answer, was dropped at a node's hook by a rule or policy.
func tracedReason(r Result, res *trace.Result) string {
	if r.Reached || !strings.HasPrefix(r.Reason, ReasonTimeout) {
		return r.Reason
	}
	switch {
	case res.Request != nil && res.Request.End.What == "dropped":
		return fmt.Sprintf("%s after %s: the trace shows it %s", ReasonTimeout, r.Check.Timeout, res.Request.End.Text())
	case res.Answer != nil && res.Answer.End.What == "dropped":
		return fmt.Sprintf("%s after %s: the trace shows the answer %s", ReasonTimeout, r.Check.Timeout, res.Answer.End.Text())
	}
	return r.Reason
}

// probeProto is the protocol a check's probe uses: a ping's is icmp.
func probeProto(c *lab.Check) string {
	if c.Ping.IsValid() || c.Proto == "" {
		return "icmp"
	}
	return c.Proto
}

// probeErr is the probe's failure as the trace is told it: the kernel's
// error when there is one (a send refused with ENETUNREACH ends the
// request at its route step; EADDRINUSE makes Follow pick another
// port), else the reason; nil when the probe got its answer.
func (o outcome) probeErr() error {
	switch {
	case o.cause != nil:
		return o.cause
	case o.err != nil:
		return o.err
	case !o.reached && o.reason != "":
		return errors.New(o.reason)
	case !o.reached:
		return errors.New("no answer")
	}
	return nil
}

// judgePath fails r when the path the trace saw differs from the one its
// check asserts, with a reason naming each difference (trace.Path's
// Differs). A probe that failed too keeps its own reason first.
func judgePath(r Result, got trace.Path) Result {
	r.Path = &got
	diff := got.Differs(r.Check)
	if diff == "" {
		return r
	}
	r.PathReason = diff
	if r.Passed || r.Reason == "" {
		r.Reason = diff
	} else {
		r.Reason += " / " + diff
	}
	r.Passed = false
	return r
}
