package kerneltest

// Hosts files in memory: the files of kernel.EtcNetNSDir, which live
// apart from the namespaces (a file outlives its namespace).

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"netlab/lab/kernel"
	"netlab/lab/state"
)

// hostsPath is where kernel.Linux keeps a namespace's hosts file.
func hostsPath(netns string) string { return kernel.EtcNetNSDir + "/" + netns + "/hosts" }

// HostsSet writes, replaces or (content "") removes a namespace's hosts
// file, refusing one netlab did not write.
func (f *Fake) HostsSet(ctx context.Context, netns, content string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.beginLocked(ctx, "HostsSet"); err != nil {
		return err
	}
	if netns == state.HostNetNS {
		return fmt.Errorf("hosts file of the machine's own namespace: netlab never writes /etc/hosts: %w", unix.EPERM)
	}
	if _, _, ok := state.SplitNetNSName(netns); !ok {
		return fmt.Errorf("hosts file of %q: not the namespace of a netlab node", netns)
	}
	if content != "" && !strings.HasPrefix(content, state.HostsHeader) {
		return fmt.Errorf("hosts file of %s: content does not start with %q: %w", netns, state.HostsHeader, unix.EINVAL)
	}
	old, ok := f.hosts[netns]
	if ok && !strings.HasPrefix(old, state.HostsHeader) {
		return &kernel.ForeignError{NetNS: netns, File: hostsPath(netns)}
	}
	if content == "" && !ok {
		return nil
	}
	return f.sendLocked(ctx, func() error {
		if content == "" {
			delete(f.hosts, netns)
		} else {
			f.hosts[netns] = content
		}
		return nil
	})
}

// HostsFiles lists the namespaces of a lab with a hosts file of netlab's.
func (f *Fake) HostsFiles(ctx context.Context, lab string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.beginLocked(ctx, "HostsFiles"); err != nil {
		return nil, err
	}
	var out []string
	for netns, content := range f.hosts {
		if l, _, ok := state.SplitNetNSName(netns); ok && l == lab && strings.HasPrefix(content, state.HostsHeader) {
			out = append(out, netns)
		}
	}
	slices.Sort(out)
	return out, nil
}

// PlantHosts writes a namespace's hosts file by hand, as an admin would:
// without netlab's header it is foreign, and netlab leaves it alone.
// Content "" removes the file.
func (f *Fake) PlantHosts(netns, content string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if content == "" {
		delete(f.hosts, netns)
		return
	}
	f.hosts[netns] = content
}

// Hosts returns a namespace's hosts file, and whether it has one.
func (f *Fake) Hosts(netns string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.hosts[netns]
	return c, ok
}
