package kernel

import (
	"context"
	"errors"
	"io/fs"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestNetNSRefusesHostileNames: every method of Linux's NetNS refuses a
// namespace name that could lead out of NetNSDir before it touches the
// kernel, so it needs no root.
func TestNetNSRefusesHostileNames(t *testing.T) {
	t.Parallel()
	k := NewLinux()
	for _, bad := range []string{"", "..", "../../tmp/x", "lab.a/b", "a b", "lab.a.b"} {
		errs := map[string]error{"NetNSExists": k.NetNSExists(bad)}
		_, errs["ListenIn"] = k.ListenIn(bad, "tcp", ":80")
		_, errs["ListenPacketIn"] = k.ListenPacketIn(bad, "udp", ":53")
		_, errs["DialIn"] = k.DialIn(context.Background(), bad, "tcp", "192.0.2.1:80")
		_, errs["NextHop"] = k.NextHop(bad, netip.MustParseAddr("192.0.2.1"))
		_, errs["ListenPacketLink"] = k.ListenPacketLink(bad, "eth0")
		for method, err := range errs {
			if err == nil || !strings.Contains(err.Error(), "invalid namespace name") {
				t.Errorf("%s(%q) = %v, want a refusal of the name", method, bad, err)
			}
		}
	}
}

// TestNetNSExistsMissing: a namespace that is not there is
// fs.ErrNotExist, which lab/check turns into "node is not running".
func TestNetNSExistsMissing(t *testing.T) {
	t.Parallel()
	if err := NewLinux().NetNSExists("nltestnone.web"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("NetNSExists of a namespace nobody made: %v, want fs.ErrNotExist", err)
	}
}

// TestWatchEndsWithCtx: a watch of a lab with no namespaces closes its
// channel once its context ends (with or without root: it only reads
// the namespace directory).
func TestWatchEndsWithCtx(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	var w Watcher = NewLinux()
	ch, err := w.Watch(ctx, "nltestabsent1")
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("watch channel not closed 5s after its context ended")
		}
	}
}
