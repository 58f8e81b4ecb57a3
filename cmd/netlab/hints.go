package main

import (
	"errors"
	"syscall"

	"netlab/lab/kernel"
)

// hints maps what the kernel says to what the user can do about it. It is
// the one place where errno turns into advice.
var hints = []struct {
	errno syscall.Errno
	hint  string
}{
	{syscall.EPERM, "run as root"},
	{syscall.EACCES, "run as root"},
	{syscall.EEXIST, "an object of that name exists already: remove it or rename yours"},
	{syscall.EOPNOTSUPP, "the kernel lacks support for this device kind (is its module loaded? modprobe it)"},
	{syscall.ENETUNREACH, "the gateway is not on any subnet of the node: add an address in its subnet"},
	{syscall.EADDRINUSE, "the address is in use already"},
	{syscall.EBUSY, "the device is busy: another program holds it"},
	{syscall.ERANGE, "the value is out of the range the kernel accepts (an MTU too large for the device?)"},
	{syscall.EINVAL, "the kernel rejected a value as invalid"},
	{syscall.ENOSPC, "the kernel ran out of a resource (too many namespaces or devices?)"},
}

// hintFor returns advice for err, or "".
func hintFor(err error) string {
	var fe *kernel.ForeignError
	if errors.As(err, &fe) {
		return "netlab leaves objects it did not create alone: remove it by hand or rename your lab"
	}
	var vt *kernel.VNITakenError
	if errors.As(err, &vt) {
		return "give the link another vni: in the lab file, on every machine, or remove the other device"
	}
	for _, h := range hints {
		if errors.Is(err, h.errno) {
			return h.hint
		}
	}
	return ""
}
