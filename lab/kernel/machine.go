package kernel

import (
	"context"
	"fmt"
	"net/netip"
)

// MachineKernel reads the machine's own namespace (state.HostNetNS) for a
// lab spread over several machines (issue 19): up looks there for the
// machine's underlay address before it changes anything.
type MachineKernel interface {
	// MachineAddrs lists the addresses of the machine's own namespace,
	// each with its interface.
	// Equivalent to: ip -o addr show
	MachineAddrs(ctx context.Context) ([]MachineAddr, error)
}

// MachineAddr is one address of the machine's own namespace.
type MachineAddr struct {
	Addr netip.Addr
	Link string // the interface that has it
	MTU  int    // the interface's
	Up   bool   // the interface is up (IFF_UP)
}

// VNITakenError is a vxlan of a link between machines that the kernel
// refused because another VXLAN device in the machine's namespace has its
// VNI on its port (EEXIST): another lab's, or one made by hand.
type VNITakenError struct {
	VNI  uint32
	Port uint16
	Err  error // the kernel's
}

func (e *VNITakenError) Error() string {
	return fmt.Sprintf("another VXLAN device in the machine's namespace has VNI %d on port %d: %v", e.VNI, e.Port, e.Err)
}

func (e *VNITakenError) Unwrap() error { return e.Err }
