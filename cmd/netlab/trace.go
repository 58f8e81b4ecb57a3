package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/spf13/cobra"

	"netlab/lab"
	"netlab/lab/check"
	"netlab/lab/kernel"
	"netlab/lab/plan"
	"netlab/lab/reconcile"
	"netlab/lab/state"
	"netlab/lab/trace"
)

func newTraceCmd(e *env) *cobra.Command {
	var f labFlags
	var proto string
	var port int
	var timeout time.Duration
	var watch bool
	var from string
	cmd := &cobra.Command{
		Use:   "trace [FILE | --lab NAME] (NODE TARGET | --watch)",
		Short: "Follow one probe through every netfilter hook of the lab, request and answer",
		Long: `trace sends one probe from NODE to TARGET, as a check does, and prints its
way step by step through every namespace of the lab it crosses: each
netfilter hook (prerouting, input, forward, output, postrouting), the
lab's chain there as iptables names its table (raw, mangle, nat, filter)
with its priority, the rule that matched and its verdict, the interfaces,
the routing decisions, and the packet's addresses where a NAT rule or
conntrack changes them. Then the answer's way back, with the reverse
translation. A packet that is dropped ends where a rule or a chain's
policy dropped it; one with no route ends at the routing failure.

TARGET is a node of the lab (its first address) or an address. A probe
to a node is answered by a short-lived responder there, as a check's is,
unless a program the node runs (run:, with a tcp ready:) has that TCP
port: the program answers. A probe to an address goes as sent, wherever
the lab's NAT rules take it: ICMP echo is answered by whichever kernel it
reaches, TCP by whatever listens there (a refusal is an answer too). UDP
needs a responder, so a UDP address must be a node's, or one a DNAT rule
publishes on the same port of one node; the responder is started there.
The probe is ICMP echo by default; --proto tcp or udp sends to --port (7,
the echo port, unless given).

netlab reads the kernel's own trace (nftables tracing, as nft monitor
trace shows it), with no tool on the machine. For the duration of the
trace each namespace of the lab gets a small table of netlab's that marks
the probe's packets only, so other traffic is not traced; the kernel
removes it when the trace ends, also after Ctrl-C or a kill -9. A node with
host: true is this machine's own namespace, whose firewall netlab never
touches: the trace does not show its hooks.

-o json prints the steps as objects, and the path summed up as a path
check asserts it (via, nat, dropped-at; see docs/lab-format.md).

With --watch, trace sends nothing and takes no NODE or TARGET: it traces
the lab's own traffic of --proto that --port (tcp, udp: as source or
destination port) or --from (an address, as source or destination, so
its answers too) selects, and at least one of them (every packet of a
protocol is more than a trace should mark), until Ctrl-C. It prints each
packet's way once no new hook has seen it for 300 ms: a block that starts
"packet udp A:P -> B:7", the steps, the end. With -o json, one JSON
object a line per packet (JSON Lines): "packet", "steps", "end", as a
way of the probe's JSON. --from matches the address as each hook sees
it: where a NAT changes it, the watch stops seeing the packet (the way
says so); --port follows a packet through a NAT that keeps its port.`,
		Example: `  netlab trace c2 server --proto udp
  netlab trace lab.yaml c1 198.51.100.10
  netlab trace --lab port-publish client 203.0.113.10 --proto tcp --port 80 -o json
  netlab trace --lab single-ip --watch --proto udp --port 53
  netlab trace --watch --from 192.168.31.11 -o json`,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(f.output); err != nil {
				return err
			}
			if watch {
				m, err := watchFlags(cmd, proto, port, from)
				if err != nil {
					return err
				}
				if len(args) > 1 || (len(args) == 1 && f.labName != "") {
					return usagef("--watch traces the lab's own traffic: give no NODE or TARGET (only [FILE | --lab NAME])")
				}
				return watchCmd(e, args, f, m)
			}
			if from != "" {
				return usagef("--from goes with --watch: a probe leaves from NODE")
			}
			dport, err := traceFlags(proto, port, cmd.Flags().Changed("port"), timeout)
			if err != nil {
				return err
			}
			fileArgs, rest, err := splitFileArgs(args, f.labName, 2)
			if err != nil {
				return err
			}
			node, target := rest[0], rest[1]
			if err := nodeArg(node); err != nil {
				return err
			}
			if _, err := netip.ParseAddr(target); err != nil && nodeArg(target) != nil {
				return usagef("%q is neither an address nor a node name", target)
			}
			l, err := labToCheck(e, fileArgs, f.labName)
			if err != nil {
				return err
			}
			c, err := check.ForTrace(l, node, target, proto, dport, timeout)
			if err != nil {
				return &usageError{msg: err.Error()}
			}
			if err := requireRoot(); err != nil {
				return err
			}
			s, err := observeNamed(cmd.Context(), l)
			if err != nil {
				return err
			}
			for _, n := range []string{c.From, c.To} {
				if n == "" {
					continue
				}
				if _, err := runningFileNode(s, l, n); err != nil {
					return err
				}
			}
			ns := newNetNS()
			tr, ok := ns.(kernel.Tracer)
			if !ok {
				return errors.New("this kernel cannot trace")
			}
			ctx, cancel := signalContext()
			defer cancel()
			return withProbes(ctx, e.stderr, l.Name, func() error {
				return runTrace(ctx, e, ns, tr, l, s, c, f.output == "json")
			})
		}),
	}
	f.addLab(cmd)
	f.addOutput(cmd)
	cmd.Flags().StringVar(&proto, "proto", "icmp", "the probe's `PROTOCOL`: icmp (echo), tcp or udp")
	cmd.Flags().IntVar(&port, "port", int(lab.DefaultCheckPort), "with tcp or udp: the destination `PORT` (with --watch: as source or destination)")
	cmd.Flags().DurationVar(&timeout, "timeout", lab.DefaultCheckTimeout, "how long the probe waits for its answer (a `DURATION`, at most 1m)")
	cmd.Flags().BoolVar(&watch, "watch", false, "send nothing: trace the lab's traffic that --port or --from selects, each packet as it completes, until Ctrl-C")
	cmd.Flags().StringVar(&from, "from", "", "with --watch: trace the packets with this `ADDRESS` as source or destination")
	return cmd
}

// watchFlags checks trace --watch's flags, as usage, and returns the
// trace's match: --proto as given (icmp when not); --port only with tcp
// or udp, as for a probe; --from an address; one of --port and --from
// at least (with icmp, --from: an echo's identifier is not a port a
// user knows); no --timeout (a watch runs until Ctrl-C).
func watchFlags(cmd *cobra.Command, proto string, port int, from string) (kernel.TraceMatch, error) {
	flags := cmd.Flags()
	if flags.Changed("timeout") {
		return kernel.TraceMatch{}, usagef("--timeout is a probe's: --watch runs until Ctrl-C")
	}
	portGiven := flags.Changed("port")
	if portGiven && !flags.Changed("proto") {
		return kernel.TraceMatch{}, usagef("--port needs --proto tcp or udp with --watch: one protocol is traced at a time")
	}
	dport, err := traceFlags(proto, port, portGiven, lab.DefaultCheckTimeout)
	if err != nil {
		return kernel.TraceMatch{}, err
	}
	m := kernel.TraceMatch{Proto: proto, Port: dport}
	if !portGiven {
		m.Port = 0
	}
	if from != "" {
		a, err := netip.ParseAddr(from)
		if err != nil || a.Zone() != "" || a.IsUnspecified() {
			return kernel.TraceMatch{}, usagef("--from %q is not an address (want one such as 192.168.31.11 or 2001:db8::1)", from)
		}
		m.Addr = a.Unmap()
	}
	if m.Port == 0 && !m.Addr.IsValid() {
		if proto == "icmp" {
			return kernel.TraceMatch{}, usagef("--watch with --proto icmp needs --from ADDRESS: tracing every packet of a protocol is refused")
		}
		return kernel.TraceMatch{}, usagef("--watch needs --port or --from: tracing every packet of a protocol is refused")
	}
	return m, nil
}

// watchCmd runs trace --watch on the running lab of fileArgs or --lab
// until Ctrl-C or SIGTERM (exit 0).
func watchCmd(e *env, fileArgs []string, f labFlags, m kernel.TraceMatch) error {
	l, err := labToCheck(e, fileArgs, f.labName)
	if err != nil {
		return err
	}
	if err := requireRoot(); err != nil {
		return err
	}
	ctx, cancel := signalContext()
	defer cancel()
	s, err := observeNamed(ctx, l)
	if err != nil {
		return err
	}
	ns := newNetNS()
	tr, ok := ns.(kernel.Tracer)
	if !ok {
		return errors.New("this kernel cannot trace")
	}
	return runWatch(ctx, e, ns, tr, s, m, f.output == "json")
}

// runWatch prints the way of each packet of the lab (observed as s)
// that m matches, until ctx ends: a text block each, a blank line
// between, or with asJSON one JSON object a line. A write that fails
// (stdout closed) ends the watch with its error.
func runWatch(ctx context.Context, e *env, ns kernel.NetNS, tr kernel.Tracer, s *state.State, m kernel.TraceMatch, asJSON bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if e.stderr != nil && !asJSON && isTerminal(e.stderr) {
		fmt.Fprintf(e.stderr, "Watching %s in lab %s; Ctrl-C to stop...\n", watchWhat(m), s.Lab)
	}
	var writeErr error
	n := 0
	emit := func(w *trace.Way) {
		if writeErr != nil {
			return
		}
		var b bytes.Buffer
		if asJSON {
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(false) // "a -> b" as it reads
			writeErr = enc.Encode(w)
		} else {
			if n > 0 {
				b.WriteByte('\n')
			}
			writeErr = w.WriteText(&b)
		}
		n++
		if writeErr == nil {
			_, writeErr = e.stdout.Write(b.Bytes())
		}
		if writeErr != nil {
			cancel()
		}
	}
	if err := trace.Watch(ctx, tr, ns, s, m, emit); err != nil {
		return err
	}
	return writeErr
}

// watchWhat names what a watch traces: "udp port 53", "icmp to or from
// 192.168.31.11".
func watchWhat(m kernel.TraceMatch) string {
	what := m.Proto
	if m.Port != 0 {
		what += fmt.Sprintf(" port %d", m.Port)
	}
	if m.Addr.IsValid() {
		what += " to or from " + m.Addr.String()
	}
	return what
}

// observeNamed reads the running lab l from the kernel, its rules named
// after the file's (their text, not only their tag), for the trace's
// steps; an error when the lab is not up.
func observeNamed(ctx context.Context, l *lab.Lab) (*state.State, error) {
	k := newKernel()
	defer k.Close()
	desired := plan.Desired(l)
	s, err := reconcile.Observe(ctx, k, l.Name, desired, &runDir)
	if err != nil {
		return nil, fmt.Errorf("lab %s: read the kernel: %w", l.Name, err)
	}
	if len(s.Nodes) == 0 {
		return nil, notRunningError(l.Name)
	}
	reconcile.NameRules(s, l.Name, &runDir, desired)
	return s, nil
}

// traceFlags checks the probe's flags, as usage: --proto, --port (only
// with tcp or udp), --timeout. It returns the port the probe dials (0
// for icmp).
func traceFlags(proto string, port int, portGiven bool, timeout time.Duration) (uint16, error) {
	switch proto {
	case "icmp":
		if portGiven {
			return 0, usagef("--port goes with --proto tcp or udp: an ICMP echo has no port")
		}
		port = 0
	case "tcp", "udp":
		if port < 1 || port > 65535 {
			return 0, usagef("--port must be 1 to 65535, got %d", port)
		}
	default:
		return 0, usagef("unknown --proto %q: use icmp, tcp or udp", proto)
	}
	if timeout <= 0 || timeout > check.MaxTraceTimeout {
		return 0, usagef("--timeout must be more than 0 and at most %s, got %s", check.MaxTraceTimeout, timeout)
	}
	return uint16(port), nil
}

// traceProbe is the probe's own outcome, in trace -o json beside the
// Result's fields and its "path" (what a path check asserts).
type traceProbe struct {
	Reached bool    `json:"reached"`
	RTTms   float64 `json:"rtt_ms,omitempty"`
	Seen    string  `json:"seen_source,omitempty"`
	Detail  string  `json:"detail"`
}

// runTrace traces check c's probe on the running lab l (observed as s)
// and prints the way: text, or with asJSON the JSON of traceJSON. The
// trace's tables are gone when it returns, ctx ended or not.
func runTrace(ctx context.Context, e *env, ns kernel.NetNS, tr kernel.Tracer, l *lab.Lab, s *state.State, c *lab.Check, asJSON bool) error {
	if e.stderr != nil && !asJSON && isTerminal(e.stderr) {
		fmt.Fprintf(e.stderr, "Tracing %s...\n", check.Name(l, c))
	}
	res, r := check.Trace(ctx, ns, tr, l, s, c)
	if ctx.Err() != nil {
		return &failure{err: errors.New("trace interrupted: its tables are removed")}
	}
	if r.Err != nil {
		return r.Err
	}
	if res.To == "" {
		res.To = check.AddrOwner(l, res.Target) // a ping or connect to a node's address
	}
	probe := traceProbe{Reached: r.Reached, Detail: r.Detail()}
	if r.Reached {
		probe.RTTms = float64(r.RTT) / float64(time.Millisecond)
	}
	if r.Seen.IsValid() {
		probe.Seen = r.Seen.String()
	}
	if asJSON {
		return writeTraceJSON(e, res, probe)
	}
	if err := res.WriteText(e.stdout); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\nprobe: %s\n", probeLine(r))
	return nil
}

// probeLine tells the probe's own outcome under the trace.
func probeLine(r check.Result) string {
	if r.Reached {
		return "answered, " + r.Detail()
	}
	return "no answer: " + r.Detail()
}

// writeTraceJSON writes the JSON of res (with its "path") and "probe".
func writeTraceJSON(e *env, res *trace.Result, probe traceProbe) error {
	// The Result's own fields in its order, then "probe"; nothing
	// HTML-escaped ("a -> b" stays as it reads).
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(res); err != nil {
		return err
	}
	body := bytes.Clone(bytes.TrimSuffix(bytes.TrimSpace(b.Bytes()), []byte("}")))
	b.Reset()
	if err := enc.Encode(probe); err != nil {
		return err
	}
	whole := append(append(body, `,"probe":`...), bytes.TrimSpace(b.Bytes())...)
	whole = append(whole, '}')
	var out bytes.Buffer
	if err := json.Indent(&out, whole, "", "  "); err != nil {
		return err
	}
	out.WriteByte('\n')
	_, err := e.stdout.Write(out.Bytes())
	return err
}
