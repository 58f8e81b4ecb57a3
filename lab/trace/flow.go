package trace

import (
	"netlab/lab/kernel"
)

// hop asks the route of a packet in s as the kernel picks it: by its
// source, input interface and mark too, where the kernel can say
// (kernel.FlowHops: the policy rules of a node may send one source
// another way than the main table's), else by its destination alone.
// A flow the kernel will not look up as asked (a source it takes for a
// martian) gets the destination's answer.
func (a *assembler) hop(s *segment, f kernel.Flow) (kernel.Hop, error) {
	if fh, ok := a.hops.(kernel.FlowHops); ok && (f.Src.IsValid() || f.IIf != "" || f.Mark != 0) {
		hop, err := fh.FlowHop(s.netns, f)
		if err == nil || kernel.IsNoRoute(err) {
			return hop, err
		}
	}
	return a.hops.NextHop(s.netns, f.Dst)
}

// markOf is the firewall mark of a hook's packet, as its first event
// says.
func (p *pass) markOf() uint32 {
	if len(p.events) == 0 {
		return 0
	}
	return p.events[0].Mark
}
