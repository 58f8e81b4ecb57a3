package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"netlab/lab/kernel/kerneltest"
	"netlab/lab/name"
)

// logsLab brings up a lab of two nodes, web and c1, on the kernel the
// commands use (a fake one after useFakeKernel), and returns its name.
// Its processes' logs are then written into the run directory by the
// test, as up would.
func logsLab(t *testing.T) string {
	t.Helper()
	sandbox(t)
	lab := kerneltest.LabName(t)
	text := "name: " + lab + "\nnodes:\n  web:\n    interfaces:\n      eth0: {addresses: [192.0.2.1/24]}\n" +
		"  c1:\n    interfaces:\n      eth0: {addresses: [192.0.2.2/24]}\nlinks:\n  - [web:eth0, c1:eth0]\n"
	if err := os.WriteFile("lab.yaml", []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, stdout, stderr := runNetlab("up", "lab.yaml"); code != exitOK {
		t.Fatalf("up: exit %d\n%s%s", code, stdout, stderr)
	}
	t.Cleanup(func() { runNetlab("down", "--lab", lab) })
	return lab
}

// startLog starts a new log of a process, as up does when it starts or
// restarts one, and writes text to it.
func startLog(t *testing.T, lab, node, proc, text string) *os.File {
	t.Helper()
	f, err := runDir.OpenLog(mustParse(t, lab), mustParse(t, node), proc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
	return f
}

func mustParse(t *testing.T, s string) name.Name {
	t.Helper()
	n, err := name.Parse("name", s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// runNetlab runs a command and returns its exit code, stdout and stderr.
func runNetlab(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(args, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestLogsPrint(t *testing.T) {
	useFakeKernel(t)
	lab := logsLab(t)
	startLog(t, lab, "web", "http", "old run\n").Close()
	startLog(t, lab, "web", "http", "GET / 200\nno newline").Close()
	startLog(t, lab, "web", "db-1", "ready\n").Close()
	for _, tc := range []struct {
		args []string
		want string
	}{
		// One process: its log as it is, an unended line included.
		{[]string{"logs", "lab.yaml", "web/http"}, "GET / 200\nno newline"},
		{[]string{"logs", "--lab", lab, "web/http", "--previous"}, "old run\n"},
		// A node: every process, in name order, after its name.
		{[]string{"logs", "--lab", lab, "web"}, "db-1 | ready\nhttp | GET / 200\nhttp | no newline\n"},
		{[]string{"logs", "lab.yaml", "web/http", "-o", "json"},
			`{"node":"web","process":"http","line":"GET / 200"}` + "\n" + `{"node":"web","process":"http","line":"no newline"}` + "\n"},
	} {
		code, stdout, stderr := runNetlab(tc.args...)
		if code != exitOK || stdout != tc.want || stderr != "" {
			t.Errorf("netlab %s: exit %d, stdout %q, stderr %q; want exit 0, stdout %q", strings.Join(tc.args, " "), code, stdout, stderr, tc.want)
		}
	}
}

// TestLogsJSONLines: -o json is one JSON object a line, each decodable.
func TestLogsJSONLines(t *testing.T) {
	useFakeKernel(t)
	lab := logsLab(t)
	startLog(t, lab, "web", "http", "a \"quoted\" line\n\x01\xff bytes\n").Close()
	code, stdout, _ := runNetlab("logs", "--lab", lab, "web", "-o", "json")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2: %q", len(lines), stdout)
	}
	var got logLine
	if err := json.Unmarshal([]byte(lines[0]), &got); err != nil || got != (logLine{"web", "http", `a "quoted" line`}) {
		t.Errorf("line 1 %q decodes to %+v, %v", lines[0], got, err)
	}
	if !json.Valid([]byte(lines[1])) {
		t.Errorf("line 2 %q is not valid JSON", lines[1])
	}
}

// TestLogsUnknown: a node or process that is not the lab's is a failure
// (exit 1) that names those there are. On the fake kernel and, as root,
// on the machine's.
func TestLogsUnknown(t *testing.T) { onBothKernels(t, testLogsUnknown) }

func testLogsUnknown(t *testing.T) {
	lab := logsLab(t)
	startLog(t, lab, "web", "http", "x\n").Close()
	startLog(t, lab, "web", "db", "x\n").Close()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"logs", "--lab", lab, "web/dns"}, "netlab: node web has no process dns (processes: db, http)\n"},
		{[]string{"logs", "--lab", lab, "c1/http"}, "netlab: node c1 has no process http: it runs no process of the lab file's (declare one under the node's run:)\n"},
		{[]string{"logs", "--lab", lab, "c1"}, "netlab: node c1 runs no process of the lab file's, so it has no logs (declare one under the node's run:)\n"},
		{[]string{"logs", "--lab", lab, "c9/http"}, "netlab: lab " + lab + " has no node c9 (nodes: c1, web)\n"},
		{[]string{"logs", "--lab", "nosuch", "web"}, "netlab: lab nosuch is not running: start it with netlab up\n"},
	} {
		code, stdout, stderr := runNetlab(tc.args...)
		if code != exitFailure || stdout != "" || stderr != tc.want {
			t.Errorf("netlab %s: exit %d, stdout %q, stderr %q; want exit 1, stderr %q", strings.Join(tc.args, " "), code, stdout, stderr, tc.want)
		}
	}
}

// TestLogsBadUsage: a process name is checked before any path is made from
// it, as NODE is (TestHostileNodeNames); so are the arguments and flags.
func TestLogsBadUsage(t *testing.T) {
	files := sandbox(t)
	for _, args := range [][]string{
		{"logs", "--lab", "lab1", "web/../../x"},
		{"logs", "--lab", "lab1", "web/a.b"},
		{"logs", "--lab", "lab1", "web/HTTP"},
		{"logs", "--lab", "lab1", "web/"},
		{"logs", "--lab", "lab1", "web/a/b"},
		{"logs", "--lab", "lab1", "web/" + strings.Repeat("a", 33)},
		{"logs", "--lab", "lab1"},
		{"logs", "lab.yaml", "web", "c1"},
		{"logs", "--lab", "lab1", "web", "-f", "--previous"},
		{"logs", "--lab", "lab1", "web", "-o", "yaml"},
	} {
		code, _, stderr := runNetlab(args...)
		if code != exitUsage {
			t.Errorf("netlab %s: exit %d, want %d\nstderr: %s", strings.Join(args, " "), code, exitUsage, stderr)
		}
	}
	if _, _, stderr := runNetlab("logs", "--lab", "lab1", "web/a.b"); !strings.Contains(stderr, `process name "a.b" may contain only a-z, 0-9, - and _`) {
		t.Errorf("stderr %q does not say what is wrong with the process name", stderr)
	}
	if got := files(); len(got) != 0 {
		t.Errorf("created %q", got)
	}
}

// syncBuffer is a bytes.Buffer that a follower writes while the test
// reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor waits until buf holds want, or fails.
func waitFor(t *testing.T, buf *syncBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(buf.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("output never held %q; it is %q", want, buf.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestLogsFollow: -f prints what is added, follows a restart into the
// new log (after the rest of the old one), picks up a process whose log
// appears late, and ends by itself when the lab goes down. On the fake
// kernel and, as root, on the machine's.
func TestLogsFollow(t *testing.T) { onBothKernels(t, testLogsFollow) }

func testLogsFollow(t *testing.T) {
	lab := logsLab(t)
	old := followEvery
	followEvery = 5 * time.Millisecond
	t.Cleanup(func() { followEvery = old })
	http := startLog(t, lab, "web", "http", "one\n")
	db := startLog(t, lab, "web", "db", "")
	db.Close()
	var stdout, stderr syncBuffer
	done := make(chan int)
	go func() {
		done <- run([]string{"logs", "--lab", lab, "web", "-f"}, strings.NewReader(""), &stdout, &stderr)
	}()
	waitFor(t, &stdout, "http | one\n")
	http.WriteString("tw")
	time.Sleep(20 * time.Millisecond)
	http.WriteString("o\n")
	waitFor(t, &stdout, "http | two\n")
	// A restart: the last words of the old run, then the new log.
	http.WriteString("last words")
	http2 := startLog(t, lab, "web", "http", "new run\n")
	defer http2.Close()
	http.Close()
	waitFor(t, &stdout, "http | new run\n")
	db2 := startLog(t, lab, "web", "db", "db up\n")
	db2.Close()
	waitFor(t, &stdout, "db   | db up\n")
	if code, _, stderr := runNetlab("down", "--lab", lab); code != exitOK {
		t.Fatalf("down: exit %d: %s", code, stderr)
	}
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("logs -f: exit %d, stderr %q", code, stderr.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("logs -f did not end when the lab went down")
	}
	want := "http | one\nhttp | two\nhttp | last words\nhttp | new run\ndb   | db up\n"
	if got := stdout.String(); got != want {
		t.Errorf("logs -f printed %q, want %q", got, want)
	}
	if !strings.Contains(stderr.String(), "nothing left to follow") {
		t.Errorf("stderr %q does not say why logs -f ended", stderr.String())
	}
}
