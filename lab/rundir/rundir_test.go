package rundir_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"netlab/lab/name"
	"netlab/lab/rundir"
)

// victim is a file outside the run directory that a planted link points
// at: netlab must neither create it nor change it.
func victim(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "victim")
	if content != "" {
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func plant(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// untouched fails unless path still holds content ("" for: does not exist).
func untouched(t *testing.T, path, content string) {
	t.Helper()
	got, err := os.ReadFile(path)
	switch {
	case content == "" && !errors.Is(err, os.ErrNotExist):
		t.Errorf("%s was created through a planted link (err %v, %q)", path, err, got)
	case content != "" && string(got) != content:
		t.Errorf("%s was changed through a planted link: %q, want %q", path, got, content)
	}
}

// names lists what is in dir, sorted.
func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func TestLockRefusesPlantedLink(t *testing.T) {
	for _, tc := range []struct{ name, content string }{
		{"dangling link", ""},
		{"link to a file", "precious"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			target := victim(t, tc.content)
			plant(t, target, filepath.Join(dir, "lab1.lock"))
			lk, err := rundir.At(dir).Lock(context.Background(), mustName(t, "lab1"), 0, nil)
			if err == nil {
				lk.Release()
				t.Fatal("Lock through a planted lab1.lock link succeeded")
			}
			if !strings.Contains(err.Error(), "lab1.lock is a symbolic link") {
				t.Errorf("error %q does not say that lab1.lock is a link", err)
			}
			untouched(t, target, tc.content)
		})
	}
}

func TestWriteIgnoresPlantedTemporary(t *testing.T) {
	dir := t.TempDir()
	target := victim(t, "precious")
	plant(t, target, filepath.Join(dir, "lab1.json.tmp"))
	d := rundir.At(dir)
	if err := d.Write(mustName(t, "lab1"), rundir.Record, []byte(`{"Lab":"lab1"}`)); err != nil {
		t.Fatal(err)
	}
	untouched(t, target, "precious")
	got, err := d.Read(mustName(t, "lab1"), rundir.Record)
	if err != nil || string(got) != `{"Lab":"lab1"}` {
		t.Errorf("Read = %q, %v", got, err)
	}
	// The planted link stays (it is not netlab's), and the temporary is gone.
	if got, want := names(t, dir), []string{"lab1.json", "lab1.json.tmp"}; !slices.Equal(got, want) {
		t.Errorf("run directory holds %q, want %q", got, want)
	}
}

func TestWriteReplacesPlantedRecordLink(t *testing.T) {
	dir := t.TempDir()
	target := victim(t, "precious")
	plant(t, target, filepath.Join(dir, "lab1.json"))
	d := rundir.At(dir)
	if _, err := d.Read(mustName(t, "lab1"), rundir.Record); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("Read through a planted link: %v, want a refusal", err)
	}
	if err := d.Write(mustName(t, "lab1"), rundir.Record, []byte("new")); err != nil {
		t.Fatal(err)
	}
	untouched(t, target, "precious")
	fi, err := os.Lstat(filepath.Join(dir, "lab1.json"))
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
		t.Errorf("lab1.json after Write: %v, %v; want a regular file of mode 0600", fi.Mode(), err)
	}
}

func TestReadRefusesFIFO(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "lab1.json"), 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := rundir.At(dir).Read(mustName(t, "lab1"), rundir.Record); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("Read of a FIFO: %v, want a refusal", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Read blocked on a planted FIFO")
	}
}

// TestPlantedDirectoryRefused: a directory planted as a lab's lock or
// record is refused with the same words as any other file that is not a
// regular one (the lock said "open .../LAB.lock: is a directory", which
// neither says netlab did not make it nor what to do).
func TestPlantedDirectoryRefused(t *testing.T) {
	dir := t.TempDir()
	for _, file := range []string{"lab1.lock", "lab1.json"} {
		if err := os.Mkdir(filepath.Join(dir, file), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	d := rundir.At(dir)
	want := " is not a regular file: netlab did not make it; remove it"
	if _, err := d.Lock(context.Background(), mustName(t, "lab1"), 0, nil); err == nil || !strings.HasSuffix(err.Error(), filepath.Join(dir, "lab1.lock")+want) {
		t.Errorf("Lock with a directory as lab1.lock: %v, want ...%s", err, want)
	}
	if _, err := d.Read(mustName(t, "lab1"), rundir.Record); err == nil || !strings.HasSuffix(err.Error(), filepath.Join(dir, "lab1.json")+want) {
		t.Errorf("Read of a directory as lab1.json: %v, want ...%s", err, want)
	}
}

func TestRecordRoundTrip(t *testing.T) {
	d := rundir.At(t.TempDir())
	lab := mustName(t, "lab1")
	if _, err := d.Read(lab, rundir.Record); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Read of no record: %v, want ErrNotExist", err)
	}
	for _, data := range []string{"one", "two"} {
		if err := d.Write(lab, rundir.Record, []byte(data)); err != nil {
			t.Fatal(err)
		}
		if got, err := d.Read(lab, rundir.Record); err != nil || string(got) != data {
			t.Errorf("Read = %q, %v; want %q", got, err, data)
		}
	}
	// A temporary left by a netlab killed in Write goes with the record.
	if err := os.WriteFile(filepath.Join(d.Path(), "lab1.json.tmp-0011223344556677"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d.Path(), "lab10.json"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := d.Remove(lab, rundir.Record); err != nil {
		t.Fatal(err)
	}
	if err := d.Remove(lab, rundir.Record); err != nil {
		t.Errorf("second Remove: %v", err)
	}
	if got, want := names(t, d.Path()), []string{"lab10.json"}; !slices.Equal(got, want) {
		t.Errorf("after Remove the run directory holds %q, want %q (another lab's record)", got, want)
	}
}

// TestDirMustBeNetlabs plants run directories netlab must refuse, and
// checks that nothing is created in or through them.
func TestDirMustBeNetlabs(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		make func(t *testing.T, path string) // makes the run directory at path
		want string
	}{
		{"symbolic link", func(t *testing.T, path string) { plant(t, t.TempDir(), path) }, "is a symbolic link"},
		{"file", func(t *testing.T, path string) { os.WriteFile(path, nil, 0o600) }, "is not a directory"},
		{"writable by others", func(t *testing.T, path string) {
			os.Mkdir(path, 0o700)
			os.Chmod(path, 0o777)
		}, "is writable by others (mode 0777)"},
		{"writable by group", func(t *testing.T, path string) {
			os.Mkdir(path, 0o700)
			os.Chmod(path, 0o770)
		}, "is writable by others (mode 0770)"},
	}
	if os.Geteuid() == 0 {
		tests = append(tests, struct {
			name string
			make func(t *testing.T, path string)
			want string
		}{"owned by someone else", func(t *testing.T, path string) {
			os.Mkdir(path, 0o700)
			if err := os.Chown(path, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}, "is owned by uid 65534"})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "netlab")
			tc.make(t, path)
			d := rundir.At(path)
			lab := mustName(t, "lab1")
			_, lerr := d.Lock(ctx, lab, 0, nil)
			werr := d.Write(lab, rundir.Record, []byte("x"))
			_, rerr := d.Read(lab, rundir.Record)
			derr := d.Remove(lab, rundir.Record)
			for _, err := range []error{lerr, werr, rerr, derr} {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("got %v, want an error saying %q", err, tc.want)
				}
			}
			real, _ := filepath.EvalSymlinks(path)
			if fi, err := os.Stat(real); err == nil && fi.IsDir() {
				if got := names(t, real); len(got) != 0 {
					t.Errorf("netlab created %q in a refused run directory", got)
				}
			}
		})
	}
}

func TestDirCreatedPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", "netlab")
	d := rundir.At(path)
	if err := d.Write(mustName(t, "lab1"), rundir.Record, []byte("x")); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(path)
	if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Errorf("run directory: %v, %v; want a directory of mode 0700", fi.Mode(), err)
	}
}

// TestZeroNameRefused: no file is named from the zero Name.
func TestZeroNameRefused(t *testing.T) {
	dir := t.TempDir()
	d := rundir.At(dir)
	var zero name.Name
	_, lerr := d.Lock(context.Background(), zero, 0, nil)
	werr := d.Write(zero, rundir.Record, nil)
	_, rerr := d.Read(zero, rundir.Record)
	derr := d.Remove(zero, rundir.Record)
	for _, err := range []error{lerr, werr, rerr, derr} {
		if err == nil {
			t.Error("an operation on the zero Name succeeded")
		}
	}
	if got := names(t, dir); len(got) != 0 {
		t.Errorf("files made for the zero Name: %q", got)
	}
}

// TestNoLockLeftBehind: a lock file exists only while it is held.
func TestNoLockLeftBehind(t *testing.T) {
	dir := t.TempDir()
	lk, err := rundir.At(dir).Lock(context.Background(), mustName(t, "nosuch"), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(t, dir); !slices.Equal(got, []string{"nosuch.lock"}) {
		t.Errorf("while held, the run directory holds %q, want the lock file", got)
	}
	if err := lk.Release(); err != nil {
		t.Fatal(err)
	}
	if got := names(t, dir); len(got) != 0 {
		t.Errorf("after Release the run directory holds %q, want nothing", got)
	}
}

// TestLockRemovalKeepsExclusion races many lockers of one lab, each
// releasing (and so unlinking the lock file) as soon as it can: never may
// two hold the lock at once, although each waiter may be waiting on a file
// that the holder unlinks.
func TestLockRemovalKeepsExclusion(t *testing.T) {
	d := rundir.At(t.TempDir())
	lab := mustName(t, "lab1")
	var inside, overlaps atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, 8*50)
	for range 8 {
		wg.Go(func() {
			for range 50 {
				lk, err := d.Lock(context.Background(), lab, 10*time.Second, nil)
				if err != nil {
					errs <- err
					return
				}
				if inside.Add(1) != 1 {
					overlaps.Add(1)
				}
				time.Sleep(50 * time.Microsecond)
				inside.Add(-1)
				if err := lk.Release(); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := overlaps.Load(); n != 0 {
		t.Errorf("%d times two holders of one lab's lock at once", n)
	}
	if got := names(t, d.Path()); len(got) != 0 {
		t.Errorf("after every Release the run directory holds %q", got)
	}
}
