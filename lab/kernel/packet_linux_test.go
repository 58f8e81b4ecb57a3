package kernel_test

import (
	"strings"
	"testing"

	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
)

// TestListenPacketLinkNoInterface names a missing interface in netlab's
// words, not in those of Go's net package ("route ip+net: no such network
// interface").
func TestListenPacketLinkNoInterface(t *testing.T) {
	ns := kerneltest.NewTestNS(t)
	c, err := kernel.NewLinux().ListenPacketLink(ns, "nosuch0")
	if err == nil {
		c.Close()
		t.Fatal("ListenPacketLink on a missing interface succeeded")
	}
	want := "no interface nosuch0 in namespace " + ns
	if err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if strings.Contains(err.Error(), "ip+net") {
		t.Errorf("error %q speaks Go's net package", err)
	}
}
