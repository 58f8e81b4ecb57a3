package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestTUINullIsNoTerminal: /dev/null is a character device, but no
// terminal; tui with it as input and output must say it needs one, not
// start bubbletea and fail on epoll.
func TestTUINullIsNoTerminal(t *testing.T) {
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	if isTerminal(null) {
		t.Fatalf("isTerminal(%s) = true", os.DevNull)
	}
	var stderr bytes.Buffer
	code := run([]string{"tui", "--lab", "nosuch"}, null, null, &stderr)
	if code != exitFailure || !strings.Contains(stderr.String(), "netlab tui needs a terminal") {
		t.Errorf("tui with %s: exit %d, stderr %q; want exit 1 and that it needs a terminal", os.DevNull, code, stderr.String())
	}
}
