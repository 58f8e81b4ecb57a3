package check_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"netlab/lab"
	"netlab/lab/apply"
	"netlab/lab/check"
	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/reconcile"
	"netlab/topologies"
)

// courseNameLine is the lab's name line, which courseLab replaces.
var courseNameLine = regexp.MustCompile(`(?m)^name: .*$`)

// courseLab loads a shipped lab under a fresh test name.
func courseLab(t *testing.T, file string) *lab.Lab {
	t.Helper()
	data, err := topologies.Read(file)
	if err != nil {
		t.Fatal(err)
	}
	loc := courseNameLine.FindIndex(data)
	if loc == nil {
		t.Fatalf("%s has no line \"name: ...\"", file)
	}
	name := kerneltest.LabName(t)
	text := string(data[:loc[0]]) + "name: " + name + string(data[loc[1]:])
	return parseLab(t, text)
}

// TestShippedLabChecks brings up every lab shipped in topologies/ (the
// course's labs, not the exercises, which have tests of their own) under
// a test name, and requires every one of its checks to pass, as `netlab
// up FILE && netlab check FILE` would: on the fake network built from the
// lab file (but for the labs of notOnFake, whose checks prove what it
// does not simulate), and, as root, on the real kernel (but for labs with
// a host node, which would change this machine). A check that fails is
// run again, up to three times, so that a loaded machine (ARP and the
// first packet racing a 1s timeout) does not fail the test; one that
// fails every time does. A lab whose nodes run programs (run:) runs them
// on the real kernel, where it is skipped when a program is not installed;
// the fake network starts no program, so there the checks that talk to
// them (connect, http) are left out.
func TestShippedLabChecks(t *testing.T) {
	t.Parallel()
	onBothNets(t, testShippedLabChecks)
}

func testShippedLabChecks(t *testing.T, n *network) {
	names := topologies.Names()
	if len(names) < 5 {
		t.Fatalf("only %d shipped labs", len(names))
	}
	ran := 0
	for _, file := range names {
		if strings.Contains(file, "/") {
			continue // an exercise
		}
		if n.fake != nil && notOnFake[file] != "" {
			continue
		}
		ran++
		t.Run(strings.TrimSuffix(file, ".yaml"), func(t *testing.T) {
			t.Parallel()
			l := courseLab(t, file)
			if l.Description == "" {
				t.Errorf("%s has no description: every shipped lab says what it teaches", file)
			}
			if len(l.Checks) == 0 {
				t.Fatalf("%s has no checks: every shipped lab proves what it shows", file)
			}
			for _, node := range l.Nodes {
				if node.Host && n.fake == nil {
					t.Skipf("%s has a host node; not brought up in tests", file)
				}
			}
			pending := l.Checks
			if n.fake != nil {
				if pending = withoutServiceChecks(l); len(pending) == 0 {
					t.Skipf("%s: every check talks to a program the lab runs, and the fake network runs none", file)
				}
			} else {
				requirePrograms(t, l)
				skipIfLabLacks(t, l)
			}
			n := n.own()
			n.up(t, l)
			var failed []check.Result
			for attempt := 1; attempt <= 3 && len(pending) > 0; attempt++ {
				if attempt > 1 {
					time.Sleep(time.Second)
				}
				res := check.Run(context.Background(), n.netns(), l, pending)
				var again []*lab.Check
				failed = failed[:0]
				for i, r := range res {
					t.Logf("attempt %d: %-60s passed=%v %s", attempt, r.Name, r.Passed, r.Detail())
					if !r.Passed {
						again = append(again, pending[i])
						failed = append(failed, r)
					}
				}
				pending = again
			}
			for _, r := range failed {
				t.Errorf("%s: check %s failed three times: %s", file, r.Name, r.Detail())
			}
		})
	}
	if n.fake != nil && ran < len(names)-len(notOnFake) {
		t.Errorf("ran %d of %d labs", ran, len(names))
	}
}

// withoutServiceChecks returns the checks of l but, when its nodes run
// programs, those that talk to real services (connect, http): they talk
// to the lab's programs, which only the real kernel runs.
func withoutServiceChecks(l *lab.Lab) []*lab.Check {
	if len(programs(l)) == 0 {
		return l.Checks
	}
	var checks []*lab.Check
	for _, c := range l.Checks {
		if !c.Connect.IsValid() && c.HTTP == "" {
			checks = append(checks, c)
		}
	}
	return checks
}

// programs lists the programs the processes of l start, each once: the
// first word of a command string (run by /bin/sh -c), or the first
// element of a command list.
func programs(l *lab.Lab) []string {
	var progs []string
	for _, node := range l.Nodes {
		for _, p := range node.Run {
			prog := ""
			if p.Shell {
				if f := strings.Fields(p.Command[0]); len(f) > 0 {
					prog = f[0]
				}
			} else if len(p.Command) > 0 {
				prog = p.Command[0]
			}
			if prog != "" && !slices.Contains(progs, prog) {
				progs = append(progs, prog)
			}
		}
	}
	return progs
}

// skipIfLabLacks skips a lab that needs what this kernel lacks (802.1Q,
// netem, a device kind), with the kernel option's name: up would refuse
// it (lab/reconcile's TestLacksOnLinux tests that refusal).
func skipIfLabLacks(t *testing.T, l *lab.Lab) {
	t.Helper()
	var needs []kernel.Need
	for _, u := range apply.Needs(l, "") {
		needs = append(needs, u.Need)
	}
	kerneltest.SkipIfLacks(t, needs...)
}

// requirePrograms skips the test when a program that a process of l
// starts is not installed: the course's labs may assume python3 and the
// POSIX shell's tools, and no more (.ci/run installs python3).
func requirePrograms(t *testing.T, l *lab.Lab) {
	t.Helper()
	for _, prog := range programs(l) {
		if _, err := exec.LookPath(prog); err != nil {
			t.Skipf("lab %s runs %s, which is not installed here (%v): install it to run this test", l.Name, prog, err)
		}
	}
}

// TestPortPublishServerSeesClient brings up port-publish.yaml with its
// web server and GETs the published port from the client, as the lab's
// first check does: the server's own log shows the request coming from
// the client's address, 203.0.113.20, not the host's. DNAT changes only
// the destination, which is what the lab's description says and what
// chapter 4 of the guide shows with netlab logs.
func TestPortPublishServerSeesClient(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	l := courseLab(t, "port-publish.yaml")
	requirePrograms(t, l)
	logs := t.TempDir()
	openLog := func(node, proc string) (*os.File, error) {
		return os.OpenFile(filepath.Join(logs, node+"."+proc+".log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	}
	k := kernel.NewLinux()
	defer k.Close()
	if _, err := reconcile.Up(context.Background(), k, l, reconcile.Options{OpenLog: openLog}); err != nil {
		t.Fatalf("up: %v", err)
	}
	var fromClient *lab.Check
	for _, c := range l.Checks {
		if c.From == "client" && c.HTTP != "" {
			fromClient = c
		}
	}
	if fromClient == nil {
		t.Fatal("port-publish.yaml has no http check from the client")
	}
	for _, r := range check.Run(context.Background(), k, l, []*lab.Check{fromClient}) {
		if !r.Passed {
			t.Fatalf("%s: %s", r.Name, r.Detail())
		}
	}
	// The server writes its line after it has answered: wait for it.
	want := regexp.MustCompile(`(?m)^203\.0\.113\.20 - - \[.*\] "GET / HTTP/1\.1" 200 `)
	var log []byte
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var err error
		if log, err = os.ReadFile(filepath.Join(logs, "c1.web.log")); err != nil {
			t.Fatal(err)
		}
		if want.Match(log) {
			return
		}
	}
	t.Errorf("c1's web server logged no GET from the client's own address 203.0.113.20; its log:\n%s", log)
}

// TestRequirePrograms: the course tests skip a lab whose program is not
// installed, naming it, and run one whose programs are; programs reads
// the first word of a string command and the first element of a list.
func TestRequirePrograms(t *testing.T) {
	l := parseLab(t, `name: progs
nodes:
  a:
    interfaces:
      br0: {kind: bridge, addresses: [10.77.0.1/24]}
    run:
      - {name: one, command: "sh -c 'sleep 1'"}
      - {name: two, command: [netlab-no-such-program, --flag]}
      - {name: three, command: "sh"}
`)
	if got, want := programs(l), []string{"sh", "netlab-no-such-program"}; !slices.Equal(got, want) {
		t.Errorf("programs = %q, want %q", got, want)
	}
	var missing, installed *testing.T
	t.Run("missing", func(t *testing.T) { missing = t; requirePrograms(t, l) })
	if !missing.Skipped() {
		t.Error("a lab that runs a program that is not installed was not skipped")
	}
	l.Nodes[0].Run = l.Nodes[0].Run[:1]
	t.Run("installed", func(t *testing.T) { installed = t; requirePrograms(t, l) })
	if installed.Skipped() {
		t.Error("a lab whose programs are installed was skipped")
	}
}
