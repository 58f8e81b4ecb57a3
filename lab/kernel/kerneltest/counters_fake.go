package kerneltest

// Counters: kernel.CounterReader over the fake, and the traffic tests
// make move its counters.

import (
	"context"
	"fmt"

	"netlab/lab/kernel"
	"netlab/lab/state"
)

var _ kernel.CounterReader = (*Fake)(nil)

// LinkCounters reads the links of each namespace with their state and
// counters, as kernel.Linux does; a namespace that does not exist is
// missing from the result.
func (f *Fake) LinkCounters(ctx context.Context, netns []string) (map[string][]kernel.LinkCounters, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.beginLocked(ctx, "LinkCounters"); err != nil {
		return nil, err
	}
	out := make(map[string][]kernel.LinkCounters, len(netns))
	for _, name := range netns {
		ns := f.netns[name]
		if ns == nil {
			continue
		}
		ls := make([]kernel.LinkCounters, 0, len(ns.links))
		for _, fl := range ns.sortedLinks() {
			ls = append(ls, kernel.LinkCounters{Index: fl.index, Name: fl.name, MasterIndex: fl.master, MTU: fl.mtu,
				Up: fl.up, OperState: f.operStateLocked(fl), Stats: fl.stats})
		}
		out[name] = ls
	}
	return out, nil
}

// RuleCounters reads the counters of the rules of netlab's table in each
// namespace that has one.
func (f *Fake) RuleCounters(ctx context.Context, netns []string) (map[string][]kernel.RuleCounter, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.beginLocked(ctx, "RuleCounters"); err != nil {
		return nil, err
	}
	out := make(map[string][]kernel.RuleCounter, len(netns))
	for _, name := range netns {
		ns := f.netns[name]
		if ns == nil || ns.nft == nil {
			continue
		}
		var rs []kernel.RuleCounter
		for _, ch := range ns.nft.Chains {
			for _, r := range ch.Rules {
				rs = append(rs, kernel.RuleCounter{Chain: ch.Name, Tag: r.Tag, Packets: r.Packets, Bytes: r.Bytes})
			}
		}
		out[name] = rs
	}
	return out, nil
}

// Traffic adds c to the counters of the link of the namespace, as
// traffic through it would: what Observe and LinkCounters then read.
func (f *Fake) Traffic(netns, link string, c state.Counters) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	ns := f.netns[netns]
	if ns == nil {
		return fmt.Errorf("kerneltest: Traffic: no namespace %s", netns)
	}
	fl := ns.byName(link)
	if fl == nil {
		return fmt.Errorf("kerneltest: Traffic: no link %s in %s", link, netns)
	}
	s := &fl.stats
	s.RxPackets += c.RxPackets
	s.TxPackets += c.TxPackets
	s.RxBytes += c.RxBytes
	s.TxBytes += c.TxBytes
	s.RxDropped += c.RxDropped
	s.TxDropped += c.TxDropped
	s.RxErrors += c.RxErrors
	s.TxErrors += c.TxErrors
	return nil
}

// RuleTraffic adds packets and bytes to the counter of the rule tagged
// tag in chain of the namespace's netlab table.
func (f *Fake) RuleTraffic(netns, chain, tag string, packets, bytes uint64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	ns := f.netns[netns]
	if ns == nil || ns.nft == nil {
		return fmt.Errorf("kerneltest: RuleTraffic: no netlab table in %s", netns)
	}
	for _, ch := range ns.nft.Chains {
		for _, r := range ch.Rules {
			if ch.Name == chain && r.Tag == tag {
				r.Packets += packets
				r.Bytes += bytes
				return nil
			}
		}
	}
	return fmt.Errorf("kerneltest: RuleTraffic: no rule %s in chain %s of %s", tag, chain, netns)
}
