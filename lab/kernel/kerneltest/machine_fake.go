package kerneltest

import (
	"context"

	"netlab/lab/kernel"
	"netlab/lab/state"
)

// MachineAddrs: see kernel.MachineKernel. The machine's addresses are
// those seeded in the root namespace (ip addr add PREFIX dev NAME).
func (f *Fake) MachineAddrs(ctx context.Context) ([]kernel.MachineAddr, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.beginLocked(ctx, "MachineAddrs"); err != nil {
		return nil, err
	}
	var out []kernel.MachineAddr
	for _, fl := range f.netns[state.HostNetNS].sortedLinks() {
		for _, p := range fl.addrs {
			out = append(out, kernel.MachineAddr{Addr: p.Addr(), Link: fl.name, MTU: fl.mtu, Up: fl.up})
		}
	}
	return out, nil
}
