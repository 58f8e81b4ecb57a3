package kernel

import (
	"context"
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
