package rootless

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// seqpacketPair is two connected ends of a SOCK_SEQPACKET unix socket,
// as the holder and a command have.
func seqpacketPair(t *testing.T) (a, b *net.UnixConn) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	var conns [2]*net.UnixConn
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "seqpacket")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = c.(*net.UnixConn)
		t.Cleanup(func() { conns[i].Close() })
	}
	return conns[0], conns[1]
}

// openOn counts this process's descriptors open on f's file: a
// descriptor a refused message brought and receive did not close is one
// more.
func openOn(t *testing.T, f *os.File) int {
	t.Helper()
	var want unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &want); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		var st unix.Stat_t
		if unix.Fstat(fd, &st) == nil && st.Dev == want.Dev && st.Ino == want.Ino {
			if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil {
				n++
			}
		}
	}
	return n
}

// TestRequestCarriesFiveFiles: a request's five descriptors arrive, in
// order, and work: what is written through each is read from its pipe.
func TestRequestCarriesFiveFiles(t *testing.T) {
	t.Parallel()
	a, b := seqpacketPair(t)
	var readers, writers []*os.File
	for range requestFDs {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close(); w.Close() })
		readers, writers = append(readers, r), append(writers, w)
	}
	want := request{Args: []string{"netlab", "up", "a b"}, Env: []string{"K=v"}, Tty: true}
	if err := send(a, want, writers...); err != nil {
		t.Fatal(err)
	}
	var got request
	files, err := receive(b, &got, requestFDs)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Args, want.Args) || !slices.Equal(got.Env, want.Env) || got.Tty != want.Tty {
		t.Errorf("received %+v, want %+v", got, want)
	}
	if len(files) != requestFDs {
		t.Fatalf("received %d files, want %d", len(files), requestFDs)
	}
	for i, f := range files {
		msg := "through descriptor " + strconv.Itoa(i)
		if _, err := io.WriteString(f, msg); err != nil {
			t.Fatalf("write through received descriptor %d: %v", i, err)
		}
		f.Close()
		writers[i].Close()
		b, err := io.ReadAll(readers[i])
		if err != nil || string(b) != msg {
			t.Errorf("pipe %d read %q, %v; want %q", i, b, err, msg)
		}
	}
}

// TestReceiveRefusesAndCloses: a message with the wrong number of
// descriptors, or that is not JSON, is refused, and the descriptors it
// brought are closed, not left open in the holder.
func TestReceiveRefusesAndCloses(t *testing.T) {
	t.Parallel()
	file, err := os.Create(filepath.Join(t.TempDir(), "sent"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	n := func(k int) []*os.File { return slices.Repeat([]*os.File{file}, k) }
	cases := []struct {
		name  string
		files []*os.File
		want  int
		raw   string // sent as is instead of a request, when set
		err   string
	}{
		{name: "too few", files: n(3), want: requestFDs, err: "message with 3 descriptors, want 5"},
		{name: "none", want: requestFDs, err: "message with 0 descriptors, want 5"},
		{name: "one more", files: n(requestFDs + 1), want: requestFDs, err: "message with 6 descriptors, want 5"},
		{name: "more than the buffer takes", files: n(requestFDs + 3), want: requestFDs, err: "truncated"},
		{name: "on a control message", files: n(2), want: 0, err: "message with 2 descriptors, want 0"},
		{name: "not JSON", files: n(requestFDs), want: requestFDs, raw: `{"Args": [`, err: "bad message"},
		{name: "not an object", files: n(requestFDs), want: requestFDs, raw: `"up"`, err: "bad message"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, b := seqpacketPair(t)
			before := openOn(t, file)
			if tc.raw != "" {
				fds := make([]int, len(tc.files))
				for i, f := range tc.files {
					fds[i] = int(f.Fd())
				}
				if _, _, err := a.WriteMsgUnix([]byte(tc.raw), unix.UnixRights(fds...), nil); err != nil {
					t.Fatal(err)
				}
			} else if err := send(a, request{Args: []string{"netlab"}}, tc.files...); err != nil {
				t.Fatal(err)
			}
			var got request
			files, err := receive(b, &got, tc.want)
			if err == nil || !strings.Contains(err.Error(), tc.err) || files != nil {
				t.Errorf("receive = %v, %v; want no files and an error with %q", files, err, tc.err)
			}
			if after := openOn(t, file); after != before {
				t.Errorf("%d descriptors open on the sent file after the refusal, %d before", after, before)
			}
		})
	}
}

// TestMessageSize: a message of maxMessage bytes goes through (the
// kernel's default socket buffer takes it), one byte more is refused by
// send before anything is sent, and receive refuses a longer one that
// came anyway.
func TestMessageSize(t *testing.T) {
	t.Parallel()
	a, b := seqpacketPair(t)
	empty, err := json.Marshal(request{Args: []string{""}})
	if err != nil {
		t.Fatal(err)
	}
	fits := request{Args: []string{strings.Repeat("a", maxMessage-len(empty))}}
	if err := send(a, fits, nil...); err != nil {
		t.Fatalf("send of %d bytes: %v", maxMessage, err)
	}
	var got request
	if _, err := receive(b, &got, 0); err != nil || len(got.Args) != 1 || got.Args[0] != fits.Args[0] {
		t.Fatalf("receive of %d bytes: %v", maxMessage, err)
	}

	over := request{Args: []string{fits.Args[0] + "a"}}
	if err := send(a, over); err == nil || !strings.Contains(err.Error(), "more than the 204800") {
		t.Errorf("send of %d bytes = %v; want refused", maxMessage+1, err)
	}
	if err := b.SetReadDeadline(time.Now().Add(50 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if _, err := receive(b, &got, 0); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("after a refused send, receive = %v; want nothing to read", err)
	}
	if err := b.SetReadDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}

	// A peer that is not send: a longer message, with a larger buffer.
	raw, err := a.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF, 1<<20)
	}); err != nil || serr != nil {
		t.Fatal(err, serr)
	}
	big, _ := json.Marshal(over)
	if _, err := a.Write(big); err != nil {
		t.Skipf("the kernel takes no message of %d bytes here: %v", len(big), err)
	}
	if _, err := receive(b, &got, 0); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("receive of %d bytes = %v; want refused as truncated", len(big), err)
	}
}

// TestReceiveClosed: the other side's close is errClosed.
func TestReceiveClosed(t *testing.T) {
	t.Parallel()
	a, b := seqpacketPair(t)
	a.Close()
	var r reply
	if _, err := receive(b, &r, 0); !errors.Is(err, errClosed) {
		t.Errorf("receive from a closed peer = %v; want errClosed", err)
	}
}

// TestSendSmallBuffer: on a machine whose socket buffers take less than
// maxMessage, a message the kernel refuses is said to be too long for
// them, naming the setting.
func TestSendSmallBuffer(t *testing.T) {
	t.Parallel()
	a, _ := seqpacketPair(t)
	raw, err := a.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF, 4096)
	}); err != nil || serr != nil {
		t.Fatal(err, serr)
	}
	err = send(a, request{Args: []string{strings.Repeat("a", 64<<10)}})
	if err == nil || !strings.Contains(err.Error(), "net.core.wmem_default") || !errors.Is(err, unix.EMSGSIZE) {
		t.Errorf("send of 64 KiB through a 4 KiB buffer = %v; want it too long for the buffers", err)
	}
}
