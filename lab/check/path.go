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

// tracedReason is the reason of a probe that timed out, or was
// refused, told from its trace where the trace knows more than the
// probe (a timeout can only guess "dropped further on, or no way
// back"; a refusal names the target, whoever sent it): the request, or
// the answer, was dropped at a node's hook by a rule or policy (a
// reject rule's drop is what answered a refused connection), had no
// route at a node, or was lost on the way (not at the request's
// source, whose own reason says more).
func tracedReason(r Result, res *trace.Result) string {
	if r.Reached {
		return r.Reason
	}
	if strings.HasPrefix(r.Reason, ReasonRefused+" by ") && res.Request != nil {
		switch end := res.Request.End; {
		case end.What == "dropped":
			return fmt.Sprintf("%s: the trace shows it %s", ReasonRefused, end.Text())
		case end.What == "delivered" && translatedTo(res.Request) != "":
			// A DNAT took it elsewhere: who refused is where it went.
			return fmt.Sprintf("%s by %s at %s, where the trace shows it delivered after a DNAT (nothing listens there, or a firewall rejects)",
				ReasonRefused, end.Node, translatedTo(res.Request))
		}
	}
	if !strings.HasPrefix(r.Reason, ReasonTimeout) {
		return r.Reason
	}
	req, ans := res.Request, res.Answer
	switch {
	case req != nil && (req.End.What == "dropped" || req.End.What == "no-route" ||
		req.End.What == "lost" && req.End.Node != "" && req.End.Node != r.Check.From):
		return fmt.Sprintf("%s after %s: %s", ReasonTimeout, r.Check.Timeout, endShown("it", req.End))
	case ans != nil && (ans.End.What == "dropped" || ans.End.What == "no-route" || ans.End.What == "lost"):
		// The probe's own guess is about the request, which arrived.
		return fmt.Sprintf("%s after %s: %s", ReasonTimeout, r.Check.Timeout, endShown("the answer", ans.End))
	}
	return r.Reason
}

// translatedTo is the destination a way's last destination NAT gave
// its packet, or "" when none changed it.
func translatedTo(w *trace.Way) string {
	to := ""
	for _, s := range w.Steps {
		if s.Before != nil && s.After != nil && s.Before.Dst != s.After.Dst {
			to = s.After.Dst
		}
	}
	return to
}

// endShown tells a way's end as the trace showed it: "the trace shows
// it dropped at r forward by policy drop", "the trace shows the answer:
// no route at server: ...".
func endShown(what string, e trace.End) string {
	if e.What == "no-route" {
		return "the trace shows " + what + ": " + e.Text()
	}
	return "the trace shows " + what + " " + e.Text()
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
