package main

import (
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"netlab/lab"
	"netlab/lab/check"
	"netlab/lab/trace"
	"netlab/lab/validate"
)

func newCheckCmd(e *env) *cobra.Command {
	var f labFlags
	var junit string
	cmd := &cobra.Command{
		Use:   "check [FILE | --lab NAME]",
		Short: "Run the lab file's checks: ping, TCP and UDP probes from inside nodes",
		Long: `check runs the checks a lab file declares (its checks: list) against the
running lab, all at once, and prints a table: each check, pass or FAIL, and a
detail: the round-trip time and the source address the far end saw, or why
the probe did not get through (no route, no ARP reply, refused, timed out,
blocked by a firewall).

Nothing is needed on the machine: netlab sends the probes itself from inside
the source node. A check "to" a node starts a short-lived responder inside
that node, which reports the source address it saw, so seen-source proves
that a NAT rule did its work. A check with expect: fail passes when the
traffic does not get through. A path check (via:, nat:, dropped-at:) runs
its probe under netlab trace and passes only when the probe also took
that way: exactly the nodes in via, the translation in nat, the node that
dropped it; its detail says which part differed (path via hotspot, isp;
want via fw, isp).

For a lab spread over several machines, check --machine NAME runs the
checks whose from is a node of machine NAME, this one; pings and connects
to nodes on other machines cross the VXLAN links like any traffic.

With --lab NAME instead of a file, check runs the checks of the file the lab
was last brought up with: netlab up keeps a copy of it, in /run/netlab/NAME.yaml,
until netlab down.

check exits 1 if any check fails. -o json prints the results for scripts and
graders; --junit PATH also writes them as a JUnit XML report for CI.`,
		Example: `  netlab check
  netlab check lab.yaml -o json
  netlab check --lab single-ip
  netlab check lab.yaml --junit report.xml`,
		Args: maxArgs(1),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(f.output); err != nil {
				return err
			}
			l, err := labToCheck(e, args, f.labName)
			if err != nil {
				return err
			}
			if err := requireRoot(); err != nil {
				return err
			}
			checks, err := checksOn(l, f.machine)
			if err != nil {
				return err
			}
			if len(l.Checks) == 0 {
				fmt.Fprintf(e.stderr, "netlab: lab %s has no checks: add some under checks: in the file\n", l.Name)
				if f.output == "json" {
					writeJSON(e, checkReport(l, nil))
				}
				return nil
			}
			if _, err := runningLab(cmd.Context(), l.Name); err != nil {
				return err
			}
			ctx, cancel := signalContext()
			defer cancel()
			if f.output == "text" && isTerminal(e.stderr) {
				fmt.Fprintf(e.stderr, "Running %d check(s) on lab %s...\n", len(checks), l.Name)
			}
			start := time.Now()
			var res []check.Result
			if err := withProbes(ctx, e.stderr, l.Name, func() error {
				res = check.Run(ctx, newNetNS(), l, checks)
				return nil
			}); err != nil {
				return err
			}
			elapsed := time.Since(start)
			rep := checkReport(l, res)
			if junit != "" {
				if err := writeJUnit(junit, l, res, elapsed); err != nil {
					return err
				}
			}
			if f.output == "json" {
				writeJSON(e, rep)
			} else {
				writeChecks(e.stdout, res, rep)
				if elsewhere := len(l.Checks) - len(checks); elsewhere > 0 {
					fmt.Fprintf(e.stdout, "%d check(s) start on other machines: run netlab check there with their --machine.\n", elsewhere)
				}
			}
			if rep.Failed > 0 {
				return &exitCode{exitFailure}
			}
			return nil
		}),
	}
	f.addLab(cmd)
	f.addOutput(cmd)
	cmd.Flags().StringVar(&junit, "junit", "", "also write the results as a JUnit XML report to `PATH`")
	f.addMachine(cmd)
	return cmd
}

// checksOn are the checks that run on machine: for a lab with machines,
// those whose from is a node of it (a probe starts where its from is);
// for a lab without, all of them. A lab with machines needs --machine.
func checksOn(l *lab.Lab, machine string) ([]*lab.Check, error) {
	if p := validate.MachineProblem(l, machine); p != "" {
		return nil, machineUsage(machine, p)
	}
	if len(l.Machines) == 0 {
		return l.Checks, nil
	}
	var out []*lab.Check
	for _, c := range l.Checks {
		if l.MachineOf(c.From) == machine {
			out = append(out, c)
		}
	}
	return out, nil
}

// labToCheck is the lab whose checks check runs: the file of args (or the
// default lab), or with --lab the file the running lab was brought up
// with, which needs root to read.
func labToCheck(e *env, args []string, labFlag string) (*lab.Lab, error) {
	if labFlag == "" {
		return loadValid(e, args)
	}
	name, err := labNameOnly(args, labFlag)
	if err != nil {
		return nil, err
	}
	if err := requireRoot(); err != nil {
		return nil, err
	}
	return loadApplied(e, name)
}

func writeChecks(w io.Writer, res []check.Result, rep checksJSON) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tEXPECT\tRESULT\tDETAIL")
	for _, r := range res {
		result := "pass"
		if !r.Passed {
			result = "FAIL"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Name, r.Check.Expect, result, r.Detail())
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%d check(s): %d passed, %d failed.\n", len(res), rep.Passed, rep.Failed)
}

type checkJSON struct {
	Name       string  `json:"name"`
	File       string  `json:"file"`
	Line       int     `json:"line"`
	From       string  `json:"from"`
	To         string  `json:"to,omitempty"`
	Target     string  `json:"target,omitempty"`
	Proto      string  `json:"proto"`
	Port       int     `json:"port,omitempty"`
	Listen     int     `json:"listen,omitempty"` // the responder's port, when it is not Port
	URL        string  `json:"url,omitempty"`
	HTTPStatus int     `json:"http_status,omitempty"`
	Expect     string  `json:"expect"`
	Passed     bool    `json:"passed"`
	Reached    bool    `json:"reached"`
	RTTms      float64 `json:"rtt_ms,omitempty"`
	SeenSource string  `json:"seen_source,omitempty"`
	WantSource string  `json:"want_source,omitempty"`
	Reason     string  `json:"reason,omitempty"`
	Error      string  `json:"error,omitempty"`
	Detail     string  `json:"detail"`
	// A path check's: the path its trace saw, and how it differs from
	// the one asserted.
	Path       *trace.Path `json:"path,omitempty"`
	PathReason string      `json:"path_reason,omitempty"`
}

type checksJSON struct {
	Lab    string      `json:"lab"`
	Passed int         `json:"passed"`
	Failed int         `json:"failed"`
	Checks []checkJSON `json:"checks"`
}

func checkReport(l *lab.Lab, res []check.Result) checksJSON {
	rep := checksJSON{Lab: l.Name, Checks: []checkJSON{}}
	for _, r := range res {
		c := r.Check
		j := checkJSON{Name: r.Name, File: c.Pos.File, Line: c.Pos.Line, From: c.From, To: c.To, Proto: c.Proto,
			Expect: c.Expect, Passed: r.Passed, Reached: r.Reached, Reason: r.Reason, Detail: r.Detail()}
		if c.Ping.IsValid() {
			j.Proto = "icmp"
		}
		j.Port = int(check.DialPort(c))
		if c.To != "" && c.Proto != "icmp" && c.ListenPort() != c.Port {
			j.Listen = int(c.ListenPort())
		}
		j.URL, j.HTTPStatus = c.HTTP, r.Status
		if r.Target.IsValid() {
			j.Target = r.Target.String()
		}
		if r.Reached {
			j.RTTms = float64(r.RTT) / float64(time.Millisecond)
		}
		if r.Seen.IsValid() {
			j.SeenSource = r.Seen.String()
		}
		if c.SeenSource.IsValid() {
			j.WantSource = c.SeenSource.String()
		}
		if r.Err != nil {
			j.Error = r.Err.Error()
		}
		j.Path, j.PathReason = r.Path, r.PathReason
		if r.Passed {
			rep.Passed++
		} else {
			rep.Failed++
		}
		rep.Checks = append(rep.Checks, j)
	}
	return rep
}

// The JUnit XML report, in the shape CI systems (GitLab, Jenkins, GitHub
// actions that read JUnit) accept: one testsuite, one testcase per check.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Time      string      `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr"`
	Cases     []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

func writeJUnit(path string, l *lab.Lab, res []check.Result, elapsed time.Duration) error {
	s := junitSuite{Name: "netlab check " + l.Name, Tests: len(res), Time: seconds(elapsed),
		Timestamp: time.Now().UTC().Format("2006-01-02T15:04:05")}
	for _, r := range res {
		c := junitCase{Name: r.Name, Classname: "netlab." + l.Name, Time: seconds(r.Elapsed), SystemOut: r.Detail()}
		pos := fmt.Sprintf("%s:%d", r.Check.Pos.File, r.Check.Pos.Line)
		switch {
		case r.Err != nil:
			s.Errors++
			c.Error = &junitProblem{Message: r.Err.Error(), Type: "error", Text: pos + ": " + r.Detail()}
		case !r.Passed:
			s.Failures++
			c.Failure = &junitProblem{Message: r.Detail(), Type: "fail", Text: pos + ": " + r.Detail()}
		}
		s.Cases = append(s.Cases, c)
	}
	out := junitSuites{Tests: s.Tests, Failures: s.Failures, Errors: s.Errors, Time: s.Time, Suites: []junitSuite{s}}
	data, err := xml.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	data = append([]byte(xml.Header), append(data, '\n')...)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fileError("the JUnit report", path, err)
	}
	return nil
}
