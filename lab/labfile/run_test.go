package labfile_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"netlab/lab"
)

// ignoreSrc compares processes by value, not by where they stand in the
// file (TestProcessPositions does that).
var ignoreSrc = cmp.Options{
	cmpopts.IgnoreFields(lab.Process{}, "Src"),
	cmpopts.IgnoreFields(lab.Ready{}, "Src"),
}

// specExample returns the first yaml block after a heading of the lab file
// spec (the repository's verbatim copy of the contract).
func specExample(t *testing.T, heading string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "spec", "lab-format.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(data), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("docs/spec/lab-format.md has no %q section", heading)
	}
	_, rest, ok = strings.Cut(rest, "\n```yaml\n")
	if !ok {
		t.Fatalf("section %q has no yaml block", heading)
	}
	block, _, ok := strings.Cut(rest, "\n```")
	if !ok {
		t.Fatalf("section %q: the yaml block does not end", heading)
	}
	return block + "\n"
}

// TestSpecProcessExample loads the spec's example of run: (a fragment: it
// gets a lab name) into exactly the processes the spec describes.
func TestSpecProcessExample(t *testing.T) {
	l := parse(t, "name: spec\n"+specExample(t, "## Processes: nodes that run software"))
	web := l.Node("web")
	if web == nil {
		t.Fatal("the spec's example has no node web")
	}
	want := []*lab.Process{
		{
			Node:    "web",
			Name:    "http",
			Command: []string{"python3 -m http.server 80 --bind 192.168.31.10"},
			Shell:   true,
			Ready:   &lab.Ready{Proto: "tcp", Port: 80},
		},
		{
			Node:    "web",
			Name:    "ticker",
			Command: []string{"sh", "-c", "while sleep 1; do date; done"},
			Env:     map[string]string{"TZ": "UTC"},
			Dir:     "/tmp",
		},
	}
	if diff := cmp.Diff(want, web.Run, ignoreSrc); diff != "" {
		t.Errorf("processes of the spec's example (-want +got):\n%s", diff)
	}
	if got := web.Process("ticker"); got != web.Run[1] {
		t.Errorf("Process(ticker) = %v, want the second entry", got)
	}
}

// TestProcessValues checks how each form of a run entry's values reads:
// the command as a string or a list (of any scalars, as written), the
// env values as written, YAML anchors and merge keys as elsewhere.
func TestProcessValues(t *testing.T) {
	l := parse(t, `name: t
nodes:
  a:
    run:
      - name: block
        command: |
          echo one
          echo two
        env: &base {LANG: C, TZ: GMT}
      - {name: numbers, command: &cmd [sleep, 10, 1.5, true, 0x10]}
      - name: env
        command: *cmd
        env: {<<: *base, TZ: UTC, N: 1, F: 1.50, B: true, H: 0x10, Q: "a b", E: ""}
      - {name: ready, command: x, ready: {udp: 53, timeout: 1m30s}}
      - {name: empty, command: x, env: {}, ready: {tcp: 1}}
`)
	want := []*lab.Process{
		{Node: "a", Name: "block", Command: []string{"echo one\necho two\n"}, Shell: true, Env: map[string]string{"LANG": "C", "TZ": "GMT"}},
		{Node: "a", Name: "numbers", Command: []string{"sleep", "10", "1.5", "true", "0x10"}},
		{Node: "a", Name: "env", Command: []string{"sleep", "10", "1.5", "true", "0x10"}, Env: map[string]string{
			"LANG": "C", "TZ": "UTC", "N": "1", "F": "1.50", "B": "true", "H": "0x10", "Q": "a b", "E": "",
		}},
		{Node: "a", Name: "ready", Command: []string{"x"}, Shell: true, Ready: &lab.Ready{Proto: "udp", Port: 53, Timeout: 90 * time.Second}},
		{Node: "a", Name: "empty", Command: []string{"x"}, Shell: true, Ready: &lab.Ready{Proto: "tcp", Port: 1}},
	}
	if diff := cmp.Diff(want, l.Node("a").Run, ignoreSrc); diff != "" {
		t.Errorf("processes (-want +got):\n%s", diff)
	}
}

// TestProcessPositions checks that a run entry records where each of its
// fields, arguments and env variables stands, so that validate can point
// at them.
func TestProcessPositions(t *testing.T) {
	l := parse(t, `name: pos
nodes:
  web:
    run:
      - name: http
        command: [python3, -m, http.server]
        env:
          TZ: UTC
        dir: /tmp
        ready: {tcp: 80, timeout: 2s}
      - {name: sh, command: "echo hi"}
`)
	p, q := l.Node("web").Run[0], l.Node("web").Run[1]
	got := []string{
		"process " + p.Pos.String(),
		"name " + p.At("name").String(),
		"command " + p.At("command").String(),
		"arg0 " + p.At(lab.ArgField(0)).String(),
		"arg2 " + p.At(lab.ArgField(2)).String(),
		"env " + p.At("env").String(),
		"env key " + p.At(lab.EnvKeyField("TZ")).String(),
		"env value " + p.At(lab.EnvValueField("TZ")).String(),
		"dir " + p.At("dir").String(),
		"ready " + p.Ready.Pos.String(),
		"tcp " + p.Ready.At("tcp").String(),
		"timeout " + p.Ready.At("timeout").String(),
		"udp (unset) " + p.Ready.At("udp").String(),
		"flow process " + q.Pos.String(),
		"flow command " + q.At("command").String(),
	}
	want := []string{
		"process lab.yaml:5:9",
		"name lab.yaml:5:15",
		"command lab.yaml:6:18",
		"arg0 lab.yaml:6:19",
		"arg2 lab.yaml:6:32",
		"env lab.yaml:8:11",
		"env key lab.yaml:8:11",
		"env value lab.yaml:8:15",
		"dir lab.yaml:9:14",
		"ready lab.yaml:10:16",
		"tcp lab.yaml:10:22",
		"timeout lab.yaml:10:35",
		"udp (unset) lab.yaml:10:16",
		"flow process lab.yaml:11:9",
		"flow command lab.yaml:11:29",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("positions (-want +got):\n%s", diff)
	}
}
