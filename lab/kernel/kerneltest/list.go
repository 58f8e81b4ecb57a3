package kerneltest

// The cheap listings of kernel.Kernel: namespaces, labs, host links.

import (
	"context"
	"slices"
	"sort"

	"netlab/lab/kernel"
	"netlab/lab/state"
)

// NetNSList lists the namespaces of one lab with whether each is marked.
func (f *Fake) NetNSList(ctx context.Context, lab string) ([]kernel.NetNSInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.beginLocked(ctx, "NetNSList"); err != nil {
		return nil, err
	}
	var out []kernel.NetNSInfo
	names := f.netnsNamesLocked()
	for name := range f.stubs {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		l, node, ok := state.SplitNetNSName(name)
		if !ok || l != lab {
			continue
		}
		if f.stubs[name] {
			out = append(out, kernel.NetNSInfo{Name: name, Node: node, Stub: true})
			continue
		}
		out = append(out, kernel.NetNSInfo{Name: name, Node: node, Marked: f.netns[name].marked(lab, node)})
	}
	return out, nil
}

// Labs lists the labs that have at least one marked namespace.
func (f *Fake) Labs(ctx context.Context) ([]kernel.LabInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.beginLocked(ctx, "Labs"); err != nil {
		return nil, err
	}
	byLab := make(map[string][]string)
	for _, name := range f.netnsNamesLocked() {
		lab, node, ok := state.SplitNetNSName(name)
		if ok && f.netns[name].marked(lab, node) {
			byLab[lab] = append(byLab[lab], node)
		}
	}
	labs := make([]kernel.LabInfo, 0, len(byLab))
	for lab, nodes := range byLab {
		labs = append(labs, kernel.LabInfo{Name: lab, Nodes: nodes})
	}
	sort.Slice(labs, func(i, j int) bool { return labs[i].Name < labs[j].Name })
	return labs, nil
}

// HostLinks lists the links of the root namespace with the lab's marker.
func (f *Fake) HostLinks(ctx context.Context, lab string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.beginLocked(ctx, "HostLinks"); err != nil {
		return nil, err
	}
	var out []string
	for _, fl := range f.netns[state.HostNetNS].sortedLinks() {
		if l, _, ok := state.ParseLinkMarker(fl.alias); ok && l == lab {
			out = append(out, fl.name)
		}
	}
	return out, nil
}
