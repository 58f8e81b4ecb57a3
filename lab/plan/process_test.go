package plan_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"netlab/lab"
	"netlab/lab/labfile"
	"netlab/lab/plan"
	"netlab/lab/state"
	"netlab/lab/validate"
)

// procLab is base with processes: a web server on s (a shell command
// with a ready port) and a list command on h.
func procLab(t testing.TB, text string, edits ...func(l *lab.Lab)) *lab.Lab {
	t.Helper()
	l, diags := labfile.Parse("lab.yaml", []byte(text))
	diags.Append(validate.Lab(l)...)
	if diags.HasErrors() {
		t.Fatalf("lab is not valid:\n%v", diags.Err())
	}
	if s := l.Node("s"); s != nil {
		s.Run = []*lab.Process{{Node: "s", Name: "http", Shell: true, Command: []string{"python3 -m http.server 80 --bind 192.0.2.2 --directory /srv/www"},
			Env: map[string]string{"LANG": "C", "A": "1"}, Ready: &lab.Ready{Proto: "tcp", Port: 80}}}
	}
	l.Node("h").Run = []*lab.Process{{Node: "h", Name: "pinger", Command: []string{"ping", "-i", "5", "192.0.2.2"}, Dir: "/tmp"}}
	for _, e := range edits {
		e(l)
	}
	return l
}

// TestDesiredProcess: a string is /bin/sh -c STRING, a list is exec'd as
// it is; the environment is sorted; the directory defaults to /; the
// hash is DeclHash of what the process sees; ready's timeout defaults.
func TestDesiredProcess(t *testing.T) {
	d := plan.Desired(procLab(t, base))
	http, pinger := d.Nodes["s"].Procs["http"], d.Nodes["h"].Procs["pinger"]
	if http == nil || pinger == nil {
		t.Fatalf("desired processes: s %v, h %v", d.Nodes["s"].Procs, d.Nodes["h"].Procs)
	}
	want := &state.Process{Name: "http", Argv: []string{"/bin/sh", "-c", "exec python3 -m http.server 80 --bind 192.0.2.2 --directory /srv/www"},
		Env: []string{"A=1", "LANG=C"}, Dir: "/", Display: "python3 -m http.server 80 --bind 192.0.2.2 --directory /srv/www",
		Ready: &state.Ready{Proto: "tcp", Port: 80, Timeout: lab.DefaultReadyTimeout}}
	want.Hash = state.DeclHash(want.Argv, want.Env, want.Dir)
	if diff := cmp.Diff(want, http); diff != "" {
		t.Errorf("http (-want +got):\n%s", diff)
	}
	if !slices.Equal(pinger.Argv, []string{"ping", "-i", "5", "192.0.2.2"}) || pinger.Dir != "/tmp" || pinger.Ready != nil || pinger.Display != "ping -i 5 192.0.2.2" {
		t.Errorf("pinger: %+v", pinger)
	}
	if len(d.Nodes["r"].Procs) != 0 {
		t.Errorf("r runs nothing, got %v", d.Nodes["r"].Procs)
	}
	// Only what the process sees makes the hash: not ready.
	ready := plan.Desired(procLab(t, base, func(l *lab.Lab) { l.Node("s").Run[0].Ready.Port = 8080 }))
	if ready.Nodes["s"].Procs["http"].Hash != http.Hash {
		t.Error("a change of ready alone changes the hash")
	}
	for _, e := range []func(p *lab.Process){
		func(p *lab.Process) { p.Command = []string{"python3 -m http.server 81"} },
		func(p *lab.Process) { p.Env["A"] = "2" },
		func(p *lab.Process) { p.Dir = "/srv" },
		func(p *lab.Process) { p.Shell = false },
	} {
		other := plan.Desired(procLab(t, base, func(l *lab.Lab) { e(l.Node("s").Run[0]) }))
		if other.Nodes["s"].Procs["http"].Hash == http.Hash {
			t.Errorf("a change of the declaration keeps the hash: %+v", other.Nodes["s"].Procs["http"])
		}
	}
}

// TestHostsContent pins a node's hosts file: the header, localhost, then
// each node with an address in file order, host nodes too, by its first
// address (and its first of the other family) and by each address as
// NODE-IFNAME; loopback addresses name no node. A host node has none.
func TestHostsContent(t *testing.T) {
	l, diags := labfile.Parse("lab.yaml", []byte(`name: names
nodes:
  gw:
    host: true
    interfaces:
      nlt0: {addresses: [198.51.100.1/24]}
  c1:
    interfaces:
      lo: {addresses: [127.0.0.1/8, 10.255.0.1/32]}
      eth0: {addresses: [10.0.0.1/24, "fd00::1/64"]}
  c2:
    interfaces:
      eth0: {addresses: [10.0.0.2/24]}
      eth1: {addresses: [198.51.100.2/24]}
  quiet:
    interfaces:
      eth0: {}
links:
  - [c1:eth0, c2:eth0]
  - [gw:nlt0, c2:eth1]
  - [quiet:eth0, c1:eth1]
`))
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	got := plan.HostsContent(l)
	want := `# netlab: written by netlab up for lab names; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
198.51.100.1 gw
198.51.100.1 gw-nlt0
10.255.0.1 c1
fd00::1 c1
10.255.0.1 c1-lo
10.0.0.1 c1-eth0
fd00::1 c1-eth0
10.0.0.2 c2
10.0.0.2 c2-eth0
198.51.100.2 c2-eth1
`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("hosts of c2 (-want +got):\n%s", diff)
	}
	if n := plan.HostsNames(got); n != 10 {
		t.Errorf("HostsNames = %d, want 10", n)
	}
	d := plan.Desired(l)
	if d.Nodes["gw"].Hosts != nil {
		t.Errorf("the host node has a hosts file: %q", d.Nodes["gw"].Hosts.Content)
	}
	if h := d.Nodes["quiet"].Hosts; h == nil || h.Content != got {
		t.Errorf("the node without an address has no hosts file, or not the lab's: %v", h)
	}
	if h := d.Nodes["c1"].Hosts; h == nil || h.Content != got {
		t.Errorf("c1's hosts file is not the lab's: %v", h)
	}
}

// exitAt is a fixed exit time, written in the plan as 12:03:04.
var exitAt = time.Date(2026, 12, 1, 12, 3, 4, 0, time.UTC)

// TestDiffProcesses is the identity, change and drift table of
// processes: by name and hash, never updated in place.
func TestDiffProcesses(t *testing.T) {
	tests := []struct {
		name      string
		want      []func(l *lab.Lab) // edits of the lab file applied, for the new one
		kernel    func(o *state.State)
		last      bool // the applied lab is the last-applied record
		exits     []state.Exit
		prune     bool
		changes   []string
		unmanaged []string
	}{
		{name: "running as declared: nothing to do", last: true},
		{
			name: "missing on a new node is created last",
			want: []func(l *lab.Lab){func(l *lab.Lab) {
				l.Node("r").Run = []*lab.Process{{Node: "r", Name: "sleeper", Command: []string{"sleep", "infinity"}}}
			}},
			changes: []string{"+ r: process r/sleeper (sleep infinity)"},
		},
		{
			name: "command changed: replace, with the record's reason", last: true,
			want: []func(l *lab.Lab){func(l *lab.Lab) { l.Node("s").Run[0].Command = []string{"python3 -m http.server 81"} }},
			changes: []string{
				"-/+ s: process s/http (python3 -m http.server 81) [command changed]",
				"+ s: process s/http (python3 -m http.server 81) [command changed] (replacing)",
			},
		},
		{
			name: "env and dir changed", last: true,
			want: []func(l *lab.Lab){func(l *lab.Lab) { l.Node("h").Run[0].Env = map[string]string{"X": "1"}; l.Node("h").Run[0].Dir = "" }},
			changes: []string{
				"-/+ h: process h/pinger (ping -i 5 192.0.2.2) [env, dir changed]",
				"+ h: process h/pinger (ping -i 5 192.0.2.2) [env, dir changed] (replacing)",
			},
		},
		{
			name: "changed, without a record: declaration changed",
			want: []func(l *lab.Lab){func(l *lab.Lab) { l.Node("s").Run[0].Command = []string{"python3 -m http.server 81"} }},
			changes: []string{
				"-/+ s: process s/http (python3 -m http.server 81) [declaration changed]",
				"+ s: process s/http (python3 -m http.server 81) [declaration changed] (replacing)",
			},
		},
		{
			name: "only ready changed: nothing", last: true,
			want: []func(l *lab.Lab){func(l *lab.Lab) { l.Node("s").Run[0].Ready = &lab.Ready{Proto: "udp", Port: 53, Timeout: time.Second} }},
		},
		{
			name: "removed from the file: stopped", last: true,
			want:    []func(l *lab.Lab){func(l *lab.Lab) { l.Node("h").Run = nil }},
			changes: []string{"- h: process h/pinger (ping -i 5 192.0.2.2)"},
		},
		{
			name: "killed by hand: drift", last: true,
			kernel:  func(o *state.State) { delete(o.Nodes["s"].Procs, "http") },
			changes: []string{"+ s: process s/http (python3 -m http.server 80 --bind ...) [not running (exited or killed since the last up)] (drift)"},
		},
		{
			name: "exited, seen by up: drift with the status", last: true,
			kernel:  func(o *state.State) { delete(o.Nodes["s"].Procs, "http") },
			exits:   []state.Exit{{Node: "s", Name: "http", Pid: 7, Status: 1, Time: exitAt}},
			changes: []string{"+ s: process s/http (python3 -m http.server 80 --bind ...) [exited with status 1 at 12:03:04] (drift)"},
		},
		{
			name:    "exited in a first up: the status, no drift",
			kernel:  func(o *state.State) { delete(o.Nodes["s"].Procs, "http") },
			exits:   []state.Exit{{Node: "s", Name: "http", Pid: 7, Status: 2, Time: exitAt}},
			changes: []string{"+ s: process s/http (python3 -m http.server 80 --bind ...) [exited with status 2 at 12:03:04]"},
		},
		{
			name: "not running, declared anew: an edit", last: true,
			want:    []func(l *lab.Lab){func(l *lab.Lab) { l.Node("s").Run[0].Dir = "/srv" }},
			kernel:  func(o *state.State) { delete(o.Nodes["s"].Procs, "http") },
			changes: []string{"+ s: process s/http (python3 -m http.server 80 --bind ...)"},
		},
		{
			name: "started by hand: unmanaged, left alone", last: true,
			kernel: func(o *state.State) {
				o.Nodes["r"].Others = []*state.Process{{Argv: []string{"nc", "-l", "9"}, Pid: 42}}
			},
			unmanaged: []string{"- r: process r pid 42 (nc -l 9) (unmanaged)"},
		},
		{
			name: "started by hand, with prune: stopped", last: true, prune: true,
			kernel: func(o *state.State) {
				o.Nodes["r"].Others = []*state.Process{{Argv: []string{"nc", "-l", "9"}, Pid: 42}}
			},
			changes:   []string{"- r: process r pid 42 (nc -l 9) (unmanaged)"},
			unmanaged: []string{"- r: process r pid 42 (nc -l 9) (unmanaged)"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			applied := plan.Desired(procLab(t, base))
			want := plan.Desired(procLab(t, base, tc.want...))
			observed := built(applied)
			if tc.kernel != nil {
				tc.kernel(observed)
			}
			opts := plan.Options{Exits: tc.exits, Prune: tc.prune}
			if tc.last {
				opts.LastApplied = applied
			}
			p := plan.Diff(want, observed, opts)
			if diff := cmp.Diff(tc.changes, procLines(p.Changes)); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.unmanaged, procLines(p.Unmanaged)); diff != "" {
				t.Errorf("unmanaged (-want +got):\n%s", diff)
			}
			for _, c := range p.Changes {
				if c.Object == plan.Process && c.Action == plan.Update {
					t.Errorf("a process is updated in place: %s", c.Describe())
				}
			}
		})
	}
}

// procLines are the process changes as changeLines writes them, with the
// reason of each and the create half of a replacement marked.
func procLines(changes []*plan.Change) []string {
	var out []string
	for _, c := range changes {
		if c.Object != plan.Process {
			continue
		}
		line := c.Action.Symbol() + " " + c.Node + ": " + c.Describe()
		if c.Reason != "" && !c.Unmanaged {
			line += " [" + c.Reason + "]"
		}
		if c.Replacing() {
			line += " (replacing)"
		}
		if c.Drift {
			line += " (drift)"
		}
		if c.Unmanaged {
			line += " (unmanaged)"
		}
		out = append(out, line)
	}
	return out
}

// TestDiffProcessesOfRemovedNode: the processes of a node whose
// namespace is deleted, declared or by hand, are stopped first of all
// the deletes, then its hosts file goes, then its namespace.
func TestDiffProcessesOfRemovedNode(t *testing.T) {
	applied := plan.Desired(procLab(t, base))
	observed := built(applied)
	observed.Nodes["s"].Others = []*state.Process{{Argv: []string{"sleep", "9"}, Pid: 99}}
	want := plan.Desired(procLab(t, edit(t, "  s:\n    interfaces:\n      eth0: {addresses: [192.0.2.2/24, \"2001:db8::2/64\"]}\n    routes:\n      - {to: 10.0.0.0/24, via: 192.0.2.1}\n      - {to: \"2001:db8:1::/48\", via: \"2001:db8::1\"}\n", "",
		"  - [r:up0, s:eth0]\n", "",
		"      up0: {addresses: [192.0.2.1/24, \"2001:db8::1/64\"]}\n", "")))
	p := plan.Diff(want, observed, plan.Options{LastApplied: applied})
	var got []string
	for _, c := range p.Changes {
		if c.Node == "s" {
			got = append(got, c.Phase().String()+": "+c.Action.Symbol()+" "+c.Describe())
		}
	}
	wantLines := []string{
		"stop processes: - process s/http (/bin/sh -c exec python3 -m http.server ...)",
		"stop processes: - process s pid 99 (sleep 9)",
		"remove hosts files: - hosts s",
		"delete namespaces: - netns t.s",
	}
	if diff := cmp.Diff(wantLines, got); diff != "" {
		t.Errorf("changes of the removed node (-want +got):\n%s", diff)
	}
	if p.Changes[0].Object != plan.Process || p.Changes[0].Action != plan.Delete {
		t.Errorf("the plan does not stop processes first: %s", p.Changes[0].Line())
	}
}

// TestProcessesStartLast: on an empty kernel, hosts files are written
// after every network object, and processes started after them, last.
func TestProcessesStartLast(t *testing.T) {
	p := plan.Diff(plan.Desired(procLab(t, base)), nil, plan.Options{})
	n := len(p.Changes)
	var tail []string
	for _, c := range p.Changes[n-5:] {
		tail = append(tail, c.Phase().String()+" "+c.Node)
	}
	want := []string{"hosts files h", "hosts files r", "hosts files s", "processes h", "processes s"}
	if diff := cmp.Diff(want, tail); diff != "" {
		t.Errorf("the last changes (-want +got):\n%s", diff)
	}
}

// TestDiffHosts: a node's hosts file is written when missing, rewritten
// (with the lines that change) when the lab's addresses changed, repaired
// as drift when edited by hand, and a file that netlab did not write is a
// conflict, never touched.
func TestDiffHosts(t *testing.T) {
	applied := desired(t, base)
	t.Run("unchanged", func(t *testing.T) {
		if p := plan.Diff(applied, built(applied), plan.Options{}); !p.Empty() {
			t.Errorf("plan of a built lab: %v", changeLines(p.Changes))
		}
	})
	t.Run("missing", func(t *testing.T) {
		o := built(applied)
		o.Nodes["h"].Hosts = nil
		p := plan.Diff(applied, o, plan.Options{LastApplied: applied})
		if got := changeLines(p.Changes); !slices.Equal(got, []string{"+ h: hosts h (drift)"}) {
			t.Errorf("changes: %q", got)
		}
		if cmds := p.Changes[0].Cmds(); len(cmds) != 1 || !strings.HasPrefix(cmds[0], "mkdir -p /etc/netns/t.h && cat >/etc/netns/t.h/hosts <<'EOF'\n# netlab: ") {
			t.Errorf("command: %q", cmds)
		}
	})
	t.Run("addresses changed", func(t *testing.T) {
		want := desired(t, edit(t, "[10.0.0.2/24]", "[10.0.0.3/24]"))
		p := plan.Diff(want, built(applied), plan.Options{LastApplied: applied})
		var hosts []*plan.Change
		for _, c := range p.Changes {
			if c.Object == plan.Hosts {
				hosts = append(hosts, c)
			}
		}
		if len(hosts) != 3 {
			t.Fatalf("hosts changes: %v", changeLines(hosts))
		}
		if got := changeLines(hosts[:1]); !slices.Equal(got, []string{"~ h: hosts h (11 names)"}) {
			t.Errorf("changes: %q", got)
		}
		if got, want := hosts[0].Details(), []string{"- 10.0.0.2 h", "- 10.0.0.2 h-eth0", "+ 10.0.0.3 h", "+ 10.0.0.3 h-eth0"}; !slices.Equal(got, want) {
			t.Errorf("details: %q, want %q", got, want)
		}
		if hosts[0].Phase() != plan.PhaseHosts || hosts[0].Drift {
			t.Errorf("phase %s, drift %v", hosts[0].Phase(), hosts[0].Drift)
		}
	})
	t.Run("foreign", func(t *testing.T) {
		o := built(applied)
		o.Nodes["h"].Hosts = &state.HostsFile{Foreign: true}
		p := plan.Diff(applied, o, plan.Options{})
		if !p.Empty() || len(p.Conflicts) != 1 || p.Conflicts[0].Object != plan.Hosts || p.Conflicts[0].Name != "/etc/netns/t.h/hosts" {
			t.Errorf("changes %v, conflicts %v", changeLines(p.Changes), p.Conflicts)
		}
		// Foreign is also a symbolic link planted for the node's directory
		// or its file (whose target may well start with the header), a
		// FIFO, a directory: the hint must not claim it is a file with
		// other content.
		if hint := p.Conflicts[0].Hint; !strings.Contains(hint, "symbolic link") || strings.Contains(hint, "does not start with") {
			t.Errorf("hint %q: it should say what netlab does not write through", hint)
		}
	})
}

// TestWriteTextProcesses pins the plan text of processes and hosts files:
// a replacement, a drift with the exit netlab saw, a process stopped and
// one started by hand.
func TestWriteTextProcesses(t *testing.T) {
	applied := plan.Desired(procLab(t, base))
	o := built(applied)
	delete(o.Nodes["s"].Procs, "http")
	o.Nodes["r"].Others = []*state.Process{{Argv: []string{"nc", "-l", "9"}, Pid: 42}}
	want := plan.Desired(procLab(t, base, func(l *lab.Lab) {
		l.Node("h").Run[0].Command = []string{"ping", "-i", "1", "192.0.2.2"}
		l.Node("r").Run = []*lab.Process{{Node: "r", Name: "a-very-long-command", Shell: true,
			Command: []string{"while true; do echo 'a line that goes on and on'; sleep 1; done"}}}
	}))
	p := plan.Diff(want, o, plan.Options{LastApplied: applied, Exits: []state.Exit{{Node: "s", Name: "http", Pid: 7, Status: 1, Time: exitAt}}})
	golden(t, planText(p))
}

// TestHostsContentOneMeaning: every name of a hosts file stands for one
// node or one interface. localhost and its IPv6 names are lo's, even in a
// lab with a node called localhost; a node's own name wins over the
// NODE-IFNAME of another node that spells the same (node c1-eth0 and
// interface eth0 of c1); of two interfaces that spell the same name, the
// first in file order has it. A node with both families goes by its name
// at its first address of each, so that a program asking for IPv4 only
// (gethostbyname, ping -4) finds a node whose first address is IPv6; an
// address no other node can reach (link-local) names nothing.
func TestHostsContentOneMeaning(t *testing.T) {
	l, diags := labfile.Parse("lab.yaml", []byte(`name: names
nodes:
  localhost:
    interfaces:
      eth0: {addresses: [10.0.0.3/24]}
  c1:
    interfaces:
      eth0: {addresses: [10.0.0.1/24]}
  c1-eth0:
    interfaces:
      eth0: {addresses: [10.0.0.2/24]}
  a:
    interfaces:
      b-c: {kind: bridge, addresses: [10.0.1.1/24]}
  a-b:
    interfaces:
      c: {kind: bridge, addresses: [10.0.1.2/24]}
  v6:
    interfaces:
      eth0: {addresses: ["fe80::6/64", "2001:db8::6/64", 10.0.0.6/24, 10.0.0.7/24]}
  br:
    interfaces:
      br0: {kind: bridge}
      p1: {master: br0}
      p2: {master: br0}
      p3: {master: br0}
      p4: {master: br0}
links:
  - [localhost:eth0, br:p1]
  - [c1:eth0, br:p2]
  - [c1-eth0:eth0, br:p3]
  - [v6:eth0, br:p4]
`))
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	got := plan.HostsContent(l)
	want := `# netlab: written by netlab up for lab names; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.0.0.3 localhost-eth0
10.0.0.1 c1
10.0.0.2 c1-eth0
10.0.0.2 c1-eth0-eth0
10.0.1.1 a
10.0.1.1 a-b-c
10.0.1.2 a-b
2001:db8::6 v6
10.0.0.6 v6
2001:db8::6 v6-eth0
10.0.0.6 v6-eth0
10.0.0.7 v6-eth0
`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("hosts of c1 (-want +got):\n%s", diff)
	}
	for name, want := range map[string]string{"c1-eth0": "10.0.0.2", "v6": "2001:db8::6", "a-b-c": "10.0.1.1", "localhost": "", "br": ""} {
		a, ok := l.HostAddr(name)
		if got := a.String(); !ok && want != "" || ok && got != want {
			t.Errorf("HostAddr(%q) = %v, %v; want %q", name, a, ok, want)
		}
	}
}
