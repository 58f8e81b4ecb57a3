package rundir_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"netlab/lab/rundir"
)

// readAll reads a process's log (or its previous one) through ReadLog.
func readAll(t *testing.T, d rundir.Dir, lab, node, proc string, previous bool) (string, error) {
	t.Helper()
	f, err := d.ReadLog(mustName(t, lab), mustName(t, node), proc, previous)
	if err != nil {
		return "", err
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(data), nil
}

// openLog starts a log and writes text to it.
func openLog(t *testing.T, d rundir.Dir, lab, node, proc, text string) {
	t.Helper()
	f, err := d.OpenLog(mustName(t, lab), mustName(t, node), proc)
	if err != nil {
		t.Fatalf("OpenLog %s.%s.%s: %v", lab, node, proc, err)
	}
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestOpenLogRotates: each OpenLog starts an empty file, private to its
// owner; the run before is kept as .log.1, the one before that is gone.
func TestOpenLogRotates(t *testing.T) {
	dir := t.TempDir()
	d := rundir.At(dir)
	if _, err := readAll(t, d, "lab1", "web", "http", false); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("ReadLog before any OpenLog: %v, want ErrNotExist", err)
	}
	openLog(t, d, "lab1", "web", "http", "first run\n")
	openLog(t, d, "lab1", "web", "http", "second run\n")
	openLog(t, d, "lab1", "web", "http", "third run\n")
	for _, tc := range []struct {
		previous bool
		want     string
	}{{false, "third run\n"}, {true, "second run\n"}} {
		got, err := readAll(t, d, "lab1", "web", "http", tc.previous)
		if err != nil || got != tc.want {
			t.Errorf("ReadLog previous=%v: %q, %v; want %q", tc.previous, got, err, tc.want)
		}
	}
	want := []string{"lab1.web.http.log", "lab1.web.http.log.1"}
	if got := names(t, dir); !slices.Equal(got, want) {
		t.Errorf("run directory holds %v, want %v", got, want)
	}
	fi, err := os.Stat(filepath.Join(dir, "lab1.web.http.log"))
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("log mode %04o, want 0600", perm)
	}
}

// TestOpenLogAppends: the file is open for appending, so two writers (a
// process and the child it forked) never overwrite each other's lines.
func TestOpenLogAppends(t *testing.T) {
	d := rundir.At(t.TempDir())
	f, err := d.OpenLog(mustName(t, "lab1"), mustName(t, "web"), "http")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString("one\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("two\n"); err != nil {
		t.Fatal(err)
	}
	got, err := readAll(t, d, "lab1", "web", "http", false)
	if err != nil || got != "one\ntwo\n" {
		t.Errorf("log %q, %v; want both lines, the second appended", got, err)
	}
}

// TestLogsRefusePlantedFiles: a link, a FIFO or a directory planted as a
// log is neither followed, nor read, nor rotated, nor replaced.
func TestLogsRefusePlantedFiles(t *testing.T) {
	for _, tc := range []struct {
		name  string
		plant func(t *testing.T, path string)
	}{
		{"link to a file", func(t *testing.T, path string) { plant(t, victim(t, "precious"), path) }},
		{"dangling link", func(t *testing.T, path string) { plant(t, victim(t, ""), path) }},
		{"fifo", func(t *testing.T, path string) {
			if err := syscall.Mkfifo(path, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"directory", func(t *testing.T, path string) {
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			d := rundir.At(dir)
			path := filepath.Join(dir, "lab1.web.http.log")
			tc.plant(t, path)
			before, _ := os.Lstat(path)
			if _, err := readAll(t, d, "lab1", "web", "http", false); err == nil {
				t.Error("ReadLog read a planted file")
			} else if errors.Is(err, os.ErrNotExist) {
				t.Errorf("ReadLog of a planted file: %v, which reads as no log at all", err)
			}
			f, err := d.OpenLog(mustName(t, "lab1"), mustName(t, "web"), "http")
			if err == nil {
				f.Close()
				t.Fatal("OpenLog over a planted file succeeded")
			}
			if !strings.Contains(err.Error(), "lab1.web.http.log") {
				t.Errorf("OpenLog error %q does not name the file", err)
			}
			after, err := os.Lstat(path)
			if err != nil || !os.SameFile(before, after) {
				t.Errorf("the planted file was moved or replaced (%v)", err)
			}
			if got := names(t, dir); !slices.Equal(got, []string{"lab1.web.http.log"}) {
				t.Errorf("run directory holds %v, want the planted file alone", got)
			}
		})
	}
}

// TestOpenLogReplacesPlantedPrevious: a link planted as .log.1 is replaced
// by the rotation (rename never follows it), its target untouched.
func TestOpenLogReplacesPlantedPrevious(t *testing.T) {
	dir := t.TempDir()
	d := rundir.At(dir)
	target := victim(t, "precious")
	openLog(t, d, "lab1", "web", "http", "first\n")
	plant(t, target, filepath.Join(dir, "lab1.web.http.log.1"))
	openLog(t, d, "lab1", "web", "http", "second\n")
	untouched(t, target, "precious")
	got, err := readAll(t, d, "lab1", "web", "http", true)
	if err != nil || got != "first\n" {
		t.Errorf("previous log %q, %v; want the first run's", got, err)
	}
}

// TestLogNamesChecked: a process name that could climb out of the file
// name (a dot, a slash) or is too long is refused before any path is made.
func TestLogNamesChecked(t *testing.T) {
	dir := t.TempDir()
	d := rundir.At(dir)
	for _, proc := range []string{"", "a.b", "../x", "a/b", "HTTP", strings.Repeat("a", 33)} {
		if f, err := d.OpenLog(mustName(t, "lab1"), mustName(t, "web"), proc); err == nil {
			f.Close()
			t.Errorf("OpenLog with process name %q succeeded", proc)
		}
		if _, err := d.ReadLog(mustName(t, "lab1"), mustName(t, "web"), proc, false); err == nil {
			t.Errorf("ReadLog with process name %q succeeded", proc)
		}
	}
	if got := names(t, dir); len(got) != 0 {
		t.Errorf("run directory holds %v after refused names", got)
	}
}

// TestRemoveLogsOnlyTheLabs: RemoveLogs removes the lab's logs, current
// and previous, and nothing else: not the logs of a lab whose name starts
// with the same letters, not files that only look like logs, not the
// lab's record, and not a planted link (or what it points to) or FIFO.
func TestRemoveLogsOnlyTheLabs(t *testing.T) {
	dir := t.TempDir()
	d := rundir.At(dir)
	openLog(t, d, "a", "web", "http", "x\n")
	openLog(t, d, "a", "web", "http", "y\n")
	openLog(t, d, "a", "c1", "sleep_1", "z\n")
	openLog(t, d, "ab", "x", "y", "other lab\n")
	openLog(t, d, "a-b", "web", "http", "other lab\n")
	if err := d.Write(mustName(t, "a"), rundir.Record, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	keep := []string{
		"a-b.web.http.log", "a.json", "ab.x.y.log",
		"a.b.log",            // lab a, but no process part
		"a.web.http.log.2",   // not a name netlab makes
		"a.web.http.logx",    // idem
		"a.Web.http.log",     // not a node name
		"a.web.h.t.log",      // a process name with a dot
		"a.web.http.log.1.1", // idem
	}
	for _, n := range keep[3:] {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("keep"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	target := victim(t, "precious")
	plant(t, target, filepath.Join(dir, "a.db.pg.log"))
	if err := syscall.Mkfifo(filepath.Join(dir, "a.db.pg.log.1"), 0o600); err != nil {
		t.Fatal(err)
	}
	keep = append(keep, "a.db.pg.log", "a.db.pg.log.1")
	slices.Sort(keep)

	err := d.RemoveLogs(mustName(t, "a"))
	if err == nil || !strings.Contains(err.Error(), "a.db.pg.log is not a regular file") || !strings.Contains(err.Error(), "a.db.pg.log.1 is not a regular file") {
		t.Errorf("RemoveLogs: %v, want the planted link and FIFO named", err)
	}
	if got := names(t, dir); !slices.Equal(got, keep) {
		t.Errorf("after RemoveLogs the run directory holds\n%v\nwant\n%v", got, keep)
	}
	untouched(t, target, "precious")
}

// TestLogProcesses lists the node's processes that have a log, once each.
func TestLogProcesses(t *testing.T) {
	dir := t.TempDir()
	d := rundir.At(dir)
	openLog(t, d, "lab1", "web", "http", "")
	openLog(t, d, "lab1", "web", "http", "") // now also .log.1
	openLog(t, d, "lab1", "web", "db", "")
	openLog(t, d, "lab1", "web2", "x", "")
	openLog(t, d, "lab12", "web", "y", "")
	if err := os.WriteFile(filepath.Join(dir, "lab1.web.only-prev.log.1"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := d.LogProcesses(mustName(t, "lab1"), mustName(t, "web"))
	want := []string{"db", "http", "only-prev"}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("LogProcesses: %v, %v; want %v", got, err, want)
	}
}
