package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"netlab/lab/check"
	"netlab/lab/kernel"
)

func newPingCmd(e *env) *cobra.Command {
	var f labFlags
	var count int
	var interval, wait time.Duration
	var size int
	var pmtu pmtuFlag
	cmd := &cobra.Command{
		Use:   "ping [FILE | --lab NAME] NODE TARGET",
		Short: "Send ICMP echo requests from inside a node",
		Long: `ping sends ICMP echo requests from inside the namespace of a node of a
running lab, as ping(8) would if it were installed there, and prints each
reply with its round-trip time, then a summary. TARGET is an IPv4 or IPv6
address, or the name of a node, which stands for its first address.

A request that gets no reply says why: no route from the node, no ARP
reply from the next hop, an ICMP error from a router on the way, or a
timeout. ping exits 1 when no reply came back at all.

For path-MTU tests, as with ping(8): -s sets the bytes of data in each
request (56 by default; the packet adds 28 bytes of IPv4 and ICMP headers,
48 with IPv6), up to 65507 for IPv4 and 65527 for IPv6. -M sets path-MTU
discovery on the socket: "do" sets DF and never fragments, so a request
larger than the route's MTU is refused by the node itself ("message too
long, mtu=1450"), and one larger than a link further on is dropped there
with an ICMP "fragmentation needed" (IPv6: "packet too big") back; "want"
sets DF but fragments locally when needed (the kernel's default); "dont"
clears DF. A request refused for its size counts as no reply.`,
		Example: `  netlab ping c1 198.51.100.183
  netlab ping lab.yaml c1 server -c 10 -i 200ms
  netlab ping --lab single-ip c2 192.168.31.1
  netlab ping --lab l a 10.0.0.2 -c 1 -s 1422 -M do   # fits an MTU of 1450 exactly`,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(f.output); err != nil {
				return err
			}
			if count < 0 {
				return usagef("-c must be 0 (until Ctrl-C) or more, got %d", count)
			}
			if interval <= 0 || wait <= 0 {
				return usagef("-i and -W must be positive durations")
			}
			if size < 0 || size > check.MaxEchoPayload(true) {
				return usagef("-s must be 0 to %d (IPv4) or %d (IPv6) bytes of data, got %d", check.MaxEchoPayload(false), check.MaxEchoPayload(true), size)
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
			if err := requireRoot(); err != nil {
				return err
			}
			name, dst, err := resolveTarget(cmd, fileArgs, f.labName, node, target)
			if err != nil {
				return err
			}
			if max := check.MaxEchoPayload(dst.Is6()); size > max {
				return usagef("-s %d is too large for %s, an IPv4 address: at most %d bytes of data fit in one packet", size, dst, max)
			}
			ctx, cancel := signalContext()
			defer cancel()
			return runPing(ctx, e, newNetNS(), name, node, dst, pingOptions{count: count, interval: interval, wait: wait, size: size, pmtu: pmtu.mode, json: f.output == "json"})
		}),
	}
	f.addLab(cmd)
	f.addOutput(cmd)
	cmd.Flags().IntVarP(&count, "count", "c", 4, "stop after `N` requests (0: until Ctrl-C)")
	interval, wait = time.Second, time.Second
	cmd.Flags().VarP(pingDuration{&interval}, "interval", "i", "`TIME` between requests, in seconds (0.2) or as a duration (200ms)")
	cmd.Flags().VarP(pingDuration{&wait}, "timeout", "W", "how long to wait for each reply: a `TIME` in seconds or as a duration")
	cmd.Flags().IntVarP(&size, "size", "s", check.EchoPayloadBytes, "`N` bytes of data in each request (the packet adds 28 bytes of headers, 48 with IPv6)")
	cmd.Flags().VarP(&pmtu, "pmtudisc", "M", "path-MTU discovery `MODE`: do (DF set, never fragment: too large a request fails), want (DF, fragment locally), dont (DF clear)")
	return cmd
}

// pmtuFlag is ping's -M: do, want or dont; unset leaves the kernel's
// default (want).
type pmtuFlag struct {
	name string
	mode *kernel.PMTUDisc
}

var pmtuModes = map[string]kernel.PMTUDisc{"do": kernel.PMTUDo, "want": kernel.PMTUWant, "dont": kernel.PMTUDont}

func (f *pmtuFlag) String() string { return f.name }
func (f *pmtuFlag) Type() string   { return "MODE" }
func (f *pmtuFlag) Set(s string) error {
	m, ok := pmtuModes[s]
	if !ok {
		return fmt.Errorf("want do, want or dont, not %q", s)
	}
	f.name, f.mode = s, &m
	return nil
}

// pingOptions are ping's flags, once checked.
type pingOptions struct {
	count          int // 0: until Ctrl-C
	interval, wait time.Duration
	size           int              // bytes of data in each request
	pmtu           *kernel.PMTUDisc // -M, or nil for the kernel's default
	json           bool
}

// splitFileArgs separates the optional lab FILE from the n arguments that
// follow it, for commands that also accept --lab.
func splitFileArgs(args []string, labFlag string, n int) (fileArgs, rest []string, err error) {
	switch {
	case len(args) == n && labFlag == "" && looksLikeFile(args[0]):
		// No node or interface is named so: one argument is missing.
		return nil, nil, usagef("the lab file %s is given without its %d argument(s): expected [FILE] and %d, got %d after it", args[0], n, n, n-1)
	case len(args) == n:
		return nil, args, nil
	case len(args) == n+1 && labFlag == "":
		return args[:1], args[1:], nil
	case len(args) == n+1:
		return nil, nil, usagef("give a lab file or --lab, not both")
	}
	return nil, nil, usagef("expected [FILE] and %d argument(s), got %d", n, len(args))
}

// looksLikeFile reports whether a command-line word can only be a lab
// file: a path, or a YAML file's name. Node names hold neither a slash
// nor a dot.
func looksLikeFile(arg string) bool {
	return strings.Contains(arg, "/") || strings.HasSuffix(arg, ".yaml") || strings.HasSuffix(arg, ".yml")
}

// resolveTarget finds the lab's name, checks that node runs, and turns
// target (an address, or a node's name) into an address: a node's first
// address in the file, or, with --lab, in the kernel.
func resolveTarget(cmd *cobra.Command, fileArgs []string, labFlag, node, target string) (string, netip.Addr, error) {
	name, err := labNameOnly(fileArgs, labFlag)
	if err != nil {
		return "", netip.Addr{}, err
	}
	s, err := runningLab(cmd.Context(), name)
	if err != nil {
		return "", netip.Addr{}, err
	}
	if _, err := runningNode(s, node); err != nil {
		return "", netip.Addr{}, err
	}
	if a, err := netip.ParseAddr(target); err == nil {
		return name, a.Unmap(), nil
	}
	if labFlag == "" {
		if l, diags := loadLab(fileArgs); l != nil && !diags.HasErrors() {
			if l.Node(target) == nil {
				return "", netip.Addr{}, usagef("%q is neither an address nor a node of lab %s (nodes: %s)", target, name, strings.Join(l.NodeNames(), ", "))
			}
			if a, ok := l.FirstAddr(target); ok {
				return name, a, nil
			}
			return "", netip.Addr{}, fmt.Errorf("node %s has no address in the lab file: ping an address", target)
		}
	}
	n := s.Nodes[target]
	if n == nil {
		return "", netip.Addr{}, usagef("%q is neither an address nor a running node of lab %s (nodes: %s)", target, name, strings.Join(s.NodeNames(), ", "))
	}
	if a, ok := n.FirstAddr(); ok {
		return name, a, nil
	}
	return "", netip.Addr{}, fmt.Errorf("node %s has no address: ping an address", target)
}

type pingReply struct {
	Seq    int     `json:"seq"`
	From   string  `json:"from,omitempty"`
	RTTms  float64 `json:"rtt_ms,omitempty"`
	Reason string  `json:"reason,omitempty"`
}

type pingSummary struct {
	Lab         string      `json:"lab"`
	Node        string      `json:"node"`
	Target      string      `json:"target"`
	Transmitted int         `json:"transmitted"`
	Received    int         `json:"received"`
	LossPercent float64     `json:"loss_percent"`
	MinMs       float64     `json:"rtt_min_ms"`
	AvgMs       float64     `json:"rtt_avg_ms"`
	MaxMs       float64     `json:"rtt_max_ms"`
	MdevMs      float64     `json:"rtt_mdev_ms"`
	Replies     []pingReply `json:"replies"`
}

func runPing(ctx context.Context, e *env, ns kernel.NetNS, labName, node string, dst netip.Addr, o pingOptions) error {
	count, interval, wait, asJSON := o.count, o.interval, o.wait, o.json
	p, err := check.NewPinger(ns, labName, node, dst)
	if err != nil {
		return err
	}
	defer p.Close()
	if err := p.SetSize(o.size); err != nil {
		return usagef("-s: %v", err)
	}
	if o.pmtu != nil {
		if err := p.SetPMTUDisc(*o.pmtu); err != nil {
			return err
		}
	}
	sum := pingSummary{Lab: labName, Node: node, Target: dst.String(), Replies: []pingReply{}}
	if !asJSON {
		fmt.Fprintf(e.stdout, "PING %s from node %s: %d data bytes\n", dst, node, p.Size())
	}
	start := time.Now()
	var stats check.EchoStats
	for seq := 1; count == 0 || seq <= count; seq++ {
		sent := time.Now()
		echo, err := p.Echo(ctx, uint16(seq), wait)
		if ctx.Err() != nil {
			break // Ctrl-C: this request does not count
		}
		var ee *check.EchoError
		switch {
		case errors.As(err, &ee):
			stats.Lost()
			r := pingReply{Seq: seq, Reason: ee.Reason}
			if ee.From.IsValid() {
				r.From = ee.From.String()
			}
			sum.Replies = append(sum.Replies, r)
			if !asJSON {
				if ee.From.IsValid() {
					fmt.Fprintf(e.stdout, "From %s icmp_seq=%d %s\n", ee.From, seq, ee.Reason)
				} else {
					fmt.Fprintf(e.stdout, "icmp_seq=%d %s\n", seq, ee.Reason)
				}
			}
		case err != nil:
			return err
		default:
			ms := stats.Replied(echo.RTT)
			sum.Replies = append(sum.Replies, pingReply{Seq: seq, From: echo.From.String(), RTTms: ms})
			if !asJSON {
				fmt.Fprintf(e.stdout, "%d bytes from %s: icmp_seq=%d time=%s\n", echo.Len, echo.From, seq, check.FormatRTT(echo.RTT))
			}
		}
		if count != 0 && seq == count {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Until(sent.Add(interval))):
		}
		if ctx.Err() != nil {
			break
		}
	}
	sum.Transmitted, sum.Received, sum.LossPercent = stats.Transmitted, stats.Received, stats.LossPercent()
	var replied bool
	sum.MinMs, sum.AvgMs, sum.MaxMs, sum.MdevMs, replied = stats.RTT()
	if asJSON {
		writeJSON(e, sum)
	} else {
		fmt.Fprintf(e.stdout, "\n--- %s ping statistics (from node %s) ---\n", dst, node)
		fmt.Fprintf(e.stdout, "%d packets transmitted, %d received, %g%% packet loss, time %dms\n",
			sum.Transmitted, sum.Received, math.Round(sum.LossPercent*10)/10, time.Since(start).Milliseconds())
		if replied {
			fmt.Fprintf(e.stdout, "rtt min/avg/max/mdev = %.3f/%.3f/%.3f/%.3f ms\n", sum.MinMs, sum.AvgMs, sum.MaxMs, sum.MdevMs)
		}
	}
	if sum.Received == 0 {
		return &exitCode{exitFailure}
	}
	return nil
}
