package main

import (
	"fmt"
	"syscall"
	"testing"

	"netlab/lab/kernel"
)

// TestHintFor: a VNI taken in the machine's namespace is told as such,
// not as the EEXIST of a name; other errnos get their hint.
func TestHintFor(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("link e2: add vxlan: %w", &kernel.VNITakenError{VNI: 42, Port: 4789, Err: syscall.EEXIST}), "give the link another vni: in the lab file, on every machine, or remove the other device"},
		{fmt.Errorf("link e2: add veth: %w", syscall.EEXIST), "an object of that name exists already: remove it or rename yours"},
		{fmt.Errorf("set mtu: %w", syscall.ERANGE), "the value is out of the range the kernel accepts (an MTU too large for the device?)"},
		{fmt.Errorf("plain"), ""},
	} {
		if got := hintFor(c.err); got != c.want {
			t.Errorf("hintFor(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}
