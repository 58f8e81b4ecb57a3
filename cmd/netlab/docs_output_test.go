package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"netlab/lab/kernel/kerneltest"
	"netlab/topologies"
)

// docsOutput is an output that the docs show in a block marked
// <!-- out:NAME -->: the command that printed it, on a shipped lab.
type docsOutput struct {
	name  string
	lab   string              // the shipped lab, as topologies.Read takes it
	edit  func(string) string // the lab's text as the docs changed it, or nil
	args  []string            // the command line; "FILE" stands for the lab file
	exit  int                 // the command's exit code
	needs string              // a program the lab runs, or ""
}

// docsOutputs are the outputs of the docs that TestDocsOutputs prints
// again. The others (conntrack tables, whose timeouts and entries depend
// on what ran before; the Kubernetes Service's, whose pod is random) are
// printed by the same tool, but not compared.
var docsOutputs = []docsOutput{
	{name: "default-udp", lab: "single-ip.yaml", args: []string{"trace", "FILE", "c2", "server", "--proto", "udp"}},
	{name: "default-bridge", lab: "single-ip.yaml", args: []string{"trace", "FILE", "c1", "c2"}},
	{name: "pp-trace", lab: "port-publish.yaml", args: []string{"trace", "FILE", "client", "203.0.113.10", "--proto", "tcp", "--port", "80"}, needs: "python3"},
	{name: "pp-noroute", lab: "port-publish.yaml", args: []string{"trace", "FILE", "client", "c1", "--proto", "tcp", "--port", "8080"}, needs: "python3"},
	{name: "nf-trace", lab: "netfilter-hooks.yaml", args: []string{"trace", "FILE", "client", "198.51.100.1", "--proto", "tcp", "--port", "80"}},
	{name: "nf-dns", lab: "netfilter-hooks.yaml", args: []string{"trace", "FILE", "web", "fw", "--proto", "udp", "--port", "53"}},
	{name: "nf-drop", lab: "netfilter-hooks.yaml", edit: forwardPolicyDrop, args: []string{"trace", "FILE", "client", "198.51.100.1", "--proto", "tcp", "--port", "80"}},
	{name: "prt-check", lab: "policy-routing.yaml", args: []string{"check", "FILE"}},
	{name: "prt-trace", lab: "policy-routing.yaml", args: []string{"trace", "FILE", "alice", "server", "--proto", "udp"}},
	{name: "ex11-check", lab: "exercises/11-firewall-path/exercise.yaml", args: []string{"check", "FILE"}, exit: exitFailure},
	{name: "ex11-drop", lab: "exercises/11-firewall-path/solution.yaml", args: []string{"trace", "FILE", "pc", "server", "--proto", "tcp", "--port", "25"}},
}

// forwardPolicyDrop is chapter 5's "Try": netfilter-hooks.yaml with a
// policy drop in fw's forward chain.
func forwardPolicyDrop(text string) string {
	return strings.Replace(text, "      forward:\n        rules:", "      forward:\n        policy: drop\n        rules:", 1)
}

// docsWithOutputs are the docs that show outputs of the tool.
var docsWithOutputs = []string{
	"../../docs/trace.md",
	"../../docs/guide/03-single-ip.md",
	"../../docs/guide/04-port-publish.md",
	"../../docs/guide/05-netfilter-hooks.md",
	"../../docs/guide/10-k8s-service.md",
	"../../docs/guide/12-policy-routing.md",
}

// outputBlock is a marked block of a doc: the marker's indentation, the
// output's name, and the block's text.
var outputBlock = regexp.MustCompile("(?ms)^( *)<!-- out:([a-z0-9-]+) -->\n *```\n(.*?)^ *```")

// What differs from run to run: the probe's port (netlab picks one above
// the ephemeral range, 5 digits), its ICMP identifier, round trip times.
var (
	probePort = regexp.MustCompile(`:\d{5}\b`)
	echoID    = regexp.MustCompile(`\bid \d+`)
	roundTrip = regexp.MustCompile(`\brtt \d+\.\d+ ms`)
)

// normalOutput is an output with what differs from run to run replaced;
// the columns stay aligned, since the port always has 5 digits.
func normalOutput(s string) string {
	s = probePort.ReplaceAllString(s, ":PORT")
	s = echoID.ReplaceAllString(s, "id ID")
	s = roundTrip.ReplaceAllString(s, "rtt RTT ms")
	return s
}

// TestDocsOutputs keeps the traces and checks that docs/trace.md and the
// guide show the tool's own: it brings up each shipped lab under a test
// name, runs the command the doc shows, and compares what it prints with
// the doc's block, but for the probe's port, ICMP identifier and round
// trip times. NETLAB_UPDATE=1 writes what it printed into the docs. Every
// marked block of the docs must be one it knows or one of docsPrintedOnly.
func TestDocsOutputs(t *testing.T) {
	kerneltest.RequireRoot(t)
	docs := make(map[string]string) // path -> text
	blocks := make(map[string]int)  // output name -> blocks that show it
	for _, p := range docsWithOutputs {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		docs[p] = string(data)
		for _, m := range outputBlock.FindAllStringSubmatch(string(data), -1) {
			blocks[m[2]]++
		}
	}
	printed := make(map[string]string) // output name -> what the command printed
	for _, o := range docsOutputs {
		if blocks[o.name] == 0 {
			t.Errorf("no doc shows output %s (<!-- out:%s -->)", o.name, o.name)
			continue
		}
		t.Run(o.name, func(t *testing.T) {
			if o.needs != "" {
				if _, err := exec.LookPath(o.needs); err != nil {
					t.Skipf("%s runs %s, which is not installed here", o.lab, o.needs)
				}
			}
			printed[o.name] = runDocsOutput(t, o)
		})
	}
	for name := range blocks {
		if !docsPrintedOnly[name] && !knownOutput(name) {
			t.Errorf("the docs show output %s, which neither TestDocsOutputs nor docsPrintedOnly knows", name)
		}
	}
	for p, text := range docs {
		var stale []string
		updated := outputBlock.ReplaceAllStringFunc(text, func(block string) string {
			m := outputBlock.FindStringSubmatch(block)
			indent, name, shown := m[1], m[2], m[3]
			got, ok := printed[name]
			if !ok {
				return block
			}
			if normalOutput(unindent(shown, indent)) != normalOutput(got) {
				stale = append(stale, name)
			}
			return indent + "<!-- out:" + name + " -->\n" + indent + "```\n" + indentLines(got, indent) + indent + "```"
		})
		if os.Getenv("NETLAB_UPDATE") != "" {
			if err := os.WriteFile(p, []byte(updated), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		for _, name := range stale {
			t.Errorf("%s: output %s is not what the tool prints now: run NETLAB_UPDATE=1 go test ./cmd/netlab -run TestDocsOutputs", filepath.Base(p), name)
		}
	}
}

// docsPrintedOnly are the outputs the docs show that TestDocsOutputs
// does not compare (see docsOutputs).
var docsPrintedOnly = map[string]bool{
	"default-ct": true, "default-plan": true, "default-json": true,
	"pp-ct": true, "k8s-trace": true, "k8s-ct": true,
	// trace --watch runs until Ctrl-C, beside the command that makes its traffic.
	"watch-udp": true, "watch-from": true, "watch-json": true,
}

func knownOutput(name string) bool {
	for _, o := range docsOutputs {
		if o.name == name {
			return true
		}
	}
	return false
}

// runDocsOutput brings o's lab up under a test name, runs o's command on
// it, brings the lab down, and returns what the command printed.
func runDocsOutput(t *testing.T, o docsOutput) string {
	t.Helper()
	sandbox(t)
	data, err := topologies.Read(o.lab)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	if o.edit != nil {
		edited := o.edit(text)
		if edited == text {
			t.Fatalf("the docs' change of %s no longer applies", o.lab)
		}
		text = edited
	}
	name := kerneltest.LabName(t)
	text = regexp.MustCompile(`(?m)^name: .*$`).ReplaceAllLiteralString(text, "name: "+name)
	if err := os.WriteFile("lab.yaml", []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runNetlab("up", "lab.yaml"); code != exitOK {
		t.Fatalf("up %s: exit %d: %s", o.lab, code, stderr)
	}
	t.Cleanup(func() {
		if code, _, stderr := runNetlab("down", "lab.yaml"); code != exitOK {
			t.Errorf("down %s: exit %d: %s", o.lab, code, stderr)
		}
	})
	args := make([]string, len(o.args))
	for i, a := range o.args {
		if a == "FILE" {
			a = "lab.yaml"
		}
		args[i] = a
	}
	code, stdout, stderr := runNetlab(args...)
	if code != o.exit || stderr != "" {
		t.Fatalf("netlab %s: exit %d, want %d: %s", strings.Join(o.args, " "), code, o.exit, stderr)
	}
	return stdout
}

func unindent(s, indent string) string {
	if indent == "" {
		return s
	}
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimPrefix(l, indent)
	}
	return strings.Join(lines, "")
}

func indentLines(s, indent string) string {
	if indent == "" {
		return s
	}
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if l != "\n" && l != "" {
			lines[i] = indent + l
		}
	}
	return strings.Join(lines, "")
}
