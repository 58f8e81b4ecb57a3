package rootless

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// env is a getenv of the given variables only.
func env(kv ...string) func(string) string {
	return func(k string) string {
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i] == k {
				return kv[i+1]
			}
		}
		return ""
	}
}

// privateDir is a new directory of the test's, mode 0700.
func privateDir(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	if err := os.Chmod(d, 0o700); err != nil {
		t.Fatal(err)
	}
	return d
}

// wantOwnDir fails unless path is a real directory, mode 0700.
func wantOwnDir(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Errorf("%s: mode %v, want a directory of mode 0700", path, fi.Mode())
	}
}

// TestFindMakesTheDirectory: XDG_RUNTIME_DIR/netlab, or TMP/netlab-UID
// when it is unset, is made, 0700, and found again the next time.
func TestFindMakesTheDirectory(t *testing.T) {
	t.Parallel()
	xdg := privateDir(t)
	d, err := findIn(env("XDG_RUNTIME_DIR", xdg), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(xdg, "netlab"); d.Path() != want {
		t.Errorf("Path() = %q, want %q", d.Path(), want)
	}
	wantOwnDir(t, d.Path())
	if again, err := findIn(env("XDG_RUNTIME_DIR", xdg), t.TempDir()); err != nil || again != d {
		t.Errorf("second findIn = %v, %v; want %v", again, err, d)
	}

	tmp := t.TempDir()
	d, err = findIn(env(), tmp)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(tmp, "netlab-"+strconv.Itoa(os.Geteuid())); d.Path() != want {
		t.Errorf("without XDG_RUNTIME_DIR: Path() = %q, want %q", d.Path(), want)
	}
	wantOwnDir(t, d.Path())
	if d.NetNS() != filepath.Join(d.Path(), "netns") || d.Etc() != filepath.Join(d.Path(), "etc") || d.Run() != filepath.Join(d.Path(), "run") {
		t.Errorf("layout: %q %q %q", d.NetNS(), d.Etc(), d.Run())
	}
}

// TestFindRefusesXDG: an XDG_RUNTIME_DIR that is not the user's own
// private directory is refused, and nothing is made in it.
func TestFindRefusesXDG(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	mk := func(name string, mode os.FileMode) string {
		p := filepath.Join(base, name)
		if err := os.Mkdir(p, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := mk("good", 0o700)
	link := filepath.Join(base, "link")
	if err := os.Symlink(good, link); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// A directory of 0700 whose netlab/holder.sock is one byte more than
	// a socket's path may be.
	long := filepath.Join(base, strings.Repeat("l", maxSocketPath-len(base)-len("//netlab/holder.sock")+1))
	if err := os.Mkdir(long, 0o700); err != nil {
		t.Fatal(err)
	}
	fits := long[:len(long)-1]
	if err := os.Mkdir(fits, 0o700); err != nil {
		t.Fatal(err)
	}
	if d, err := findIn(env("XDG_RUNTIME_DIR", fits), t.TempDir()); err != nil || len(filepath.Join(d.Path(), "holder.sock")) != maxSocketPath {
		t.Errorf("a socket path of exactly %d bytes: %v, %v", maxSocketPath, d, err)
	}
	cases := []struct{ name, xdg, want string }{
		{"relative", "run/user/1000", "not a clean absolute path"},
		{"unclean", "/a/../b", "not a clean absolute path"},
		{"trailing slash", good + "/", "not a clean absolute path"},
		{"newline", good + "\nx", "control character"},
		{"symlink to a directory", link, link + " is a symbolic link"},
		{"open to others", mk("open", 0o755), "open to other users (mode 0755"},
		{"a file", file, file + " is not a directory"},
		{"missing", filepath.Join(base, "none"), "no such file"},
		{"too long", long, "too long a path for a unix socket"},
	}
	if os.Geteuid() == 0 {
		other := mk("other", 0o700)
		if err := os.Chown(other, 4000017, 4000017); err != nil {
			t.Fatal(err)
		}
		cases = append(cases, struct{ name, xdg, want string }{"another's", other, other + " is not yours (owner uid 4000017)"})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			d, err := findIn(env("XDG_RUNTIME_DIR", tc.xdg), tmp)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("findIn(XDG_RUNTIME_DIR=%q) = %v, %v; want an error with %q", tc.xdg, d, err, tc.want)
			}
			if !strings.Contains(err.Error(), "XDG_RUNTIME_DIR") {
				t.Errorf("error %q does not name XDG_RUNTIME_DIR", err)
			}
			// Not fallen back on, and nothing made.
			for _, p := range []string{filepath.Join(tmp, "netlab-"+strconv.Itoa(os.Geteuid())), filepath.Join(long, "netlab")} {
				if _, err := os.Lstat(p); err == nil {
					t.Errorf("%s was made", p)
				}
			}
		})
	}
}

// TestFindRefusesItsDirectory: a netlab directory that is there already
// but is a link, open to others or another user's is refused by its
// path, not used (another user may plant /tmp/netlab-UID).
func TestFindRefusesItsDirectory(t *testing.T) {
	t.Parallel()
	uid := strconv.Itoa(os.Geteuid())
	cases := []struct {
		name  string
		plant func(t *testing.T, p string)
		want  string
	}{
		{"symlink", func(t *testing.T, p string) {
			if err := os.Symlink(privateDir(t), p); err != nil {
				t.Fatal(err)
			}
		}, " is a symbolic link"},
		{"mode 0755", func(t *testing.T, p string) {
			if err := os.Mkdir(p, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, 0o755); err != nil {
				t.Fatal(err)
			}
		}, " is open to other users (mode 0755; want 0700)"},
		{"a file", func(t *testing.T, p string) {
			if err := os.WriteFile(p, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}, " is not a directory"},
	}
	if os.Geteuid() == 0 {
		cases = append(cases, struct {
			name  string
			plant func(t *testing.T, p string)
			want  string
		}{"another's", func(t *testing.T, p string) {
			if err := os.Mkdir(p, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(p, 4000017, 4000017); err != nil {
				t.Fatal(err)
			}
		}, " is not yours (owner uid 4000017)"})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Run("XDG_RUNTIME_DIR", func(t *testing.T) {
				xdg := privateDir(t)
				p := filepath.Join(xdg, "netlab")
				tc.plant(t, p)
				if _, err := findIn(env("XDG_RUNTIME_DIR", xdg), t.TempDir()); err == nil || !strings.Contains(err.Error(), p+tc.want) {
					t.Errorf("findIn = %v; want an error with %q", err, p+tc.want)
				}
			})
			t.Run("tmp", func(t *testing.T) {
				tmp := t.TempDir()
				p := filepath.Join(tmp, "netlab-"+uid)
				tc.plant(t, p)
				if _, err := findIn(env(), tmp); err == nil || !strings.Contains(err.Error(), p+tc.want) {
					t.Errorf("findIn = %v; want an error with %q", err, p+tc.want)
				}
			})
		})
	}
}

// TestWorker: NETLAB_ROOTLESS unset is no worker; set in a process that
// is not root of a user namespace of one user (the test's), it is an
// error that says to unset it, even when it names a good directory.
func TestWorker(t *testing.T) {
	t.Parallel()
	if d, ok, err := Worker(env()); err != nil || ok || d != (Dir{}) {
		t.Errorf("Worker(unset) = %v, %v, %v; want no worker", d, ok, err)
	}
	if _, _, err := OutsideIDs(); err == nil {
		t.Skip("this test runs as root of a user namespace of one user")
	}
	for _, v := range []string{privateDir(t), "relative", "/x/../y"} {
		d, ok, err := Worker(env(WorkerEnv, v))
		if err == nil || ok || !strings.Contains(err.Error(), WorkerEnv+" is set but") || !strings.HasSuffix(err.Error(), "unset it") {
			t.Errorf("Worker(%s=%q) = %v, %v, %v; want an error saying to unset it", WorkerEnv, v, d, ok, err)
		}
	}
}

// TestMappedTo: only a map of one user to root is the holder's.
func TestMappedTo(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cases := []struct {
		text string
		want uint32
		err  string // "" for none
	}{
		{"0 1000 1\n", 1000, ""},
		{"         0       1000          1\n", 1000, ""}, // as the kernel pads it
		{"0 4294967294 1\n", 4294967294, ""},
		{"0 0 4294967295\n", 0, "not one user to root"}, // the machine's own
		{"0 1000 2\n", 0, "not one user to root"},
		{"1 1000 1\n", 0, "not one user to root"},
		{"0 1000 1\n1 2000 1\n", 0, "not one user to root"},
		{"", 0, "not one user to root"},
		{"garbage\n", 0, "not one user to root"},
		{"0 x 1\n", 0, "invalid syntax"},
		{"0 -1 1\n", 0, "invalid syntax"},
		{"0 4294967296 1\n", 0, "out of range"},
	}
	for i, tc := range cases {
		p := filepath.Join(dir, strconv.Itoa(i))
		if err := os.WriteFile(p, []byte(tc.text), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := mappedTo(p)
		switch {
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("mappedTo(%q) = %d, %v; want %d", tc.text, got, err, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), p)):
			t.Errorf("mappedTo(%q) = %d, %v; want an error naming %s with %q", tc.text, got, err, p, tc.err)
		}
	}
	if _, err := mappedTo(filepath.Join(dir, "none")); err == nil {
		t.Error("mappedTo of a missing file: no error")
	}
}
