package kernel_test

import (
	"net/netip"
	"testing"

	"netlab/lab/kernel/kerneltest"
)

// TestNextHopDevPrintable, as root: an interface that someone renamed
// with an escape sequence (the kernel allows any byte but '/', ':' and
// white space) is named in NextHop's answer, which a trace's route step
// and a check's reason print, escaped as text, not sent to the terminal.
func TestNextHopDevPrintable(t *testing.T) {
	ns := kerneltest.NewTestNS(t)
	evil := "n\x1b[7mx"
	ipCmd(t, "-n", ns, "link", "add", evil, "type", "veth", "peer", "name", "nlp0")
	ipCmd(t, "-n", ns, "link", "set", evil, "up")
	ipCmd(t, "-n", ns, "addr", "add", "192.0.2.1/24", "dev", evil)
	hop, err := newLinux(t).NextHop(ns, netip.MustParseAddr("192.0.2.9"))
	if err != nil {
		t.Fatal(err)
	}
	if hop.Dev != `n\x1b[7mx` {
		t.Errorf("NextHop's Dev = %q, want the name escaped", hop.Dev)
	}
}
