package plan

import (
	"cmp"

	"netlab/lab"
	"netlab/lab/state"
)

// desiredBridge fills in a bridge's STP settings, a bridge port's flags
// and an interface's static neighbours (issue 18). A port's flags are
// desired whether or not the file gives port: the kernel's defaults for
// those it does not, so that a flag removed from the file is undone.
func desiredBridge(i *lab.Interface, sl *state.Link) {
	if b := i.Bridge; b != nil && b.STP {
		s := state.STPSettings{
			ForwardDelay: cmp.Or(b.ForwardDelay, lab.DefaultForwardDelay),
			HelloTime:    cmp.Or(b.HelloTime, lab.DefaultHelloTime),
			MaxAge:       cmp.Or(b.MaxAge, lab.DefaultMaxAge),
			Priority:     lab.DefaultPriority,
		}
		if b.Priority != nil {
			s.Priority = *b.Priority
		}
		sl.STPSettings = &s
	}
	if i.Master != "" {
		f := state.DefaultPortFlags
		if p := i.Port; p != nil {
			set := func(dst *bool, v *bool) {
				if v != nil {
					*dst = *v
				}
			}
			set(&f.Hairpin, p.Hairpin)
			set(&f.Isolated, p.Isolated)
			set(&f.Learning, p.Learning)
			set(&f.Flood, p.Flood)
			set(&f.McastFlood, p.McastFlood)
			set(&f.BcastFlood, p.BcastFlood)
		}
		sl.BridgePort = &f
	}
	for _, nb := range i.Neighbors {
		if nb.IP.IsValid() && nb.MAC != nil {
			sl.Neighbors = append(sl.Neighbors, state.Neighbor{IP: nb.IP, MAC: nb.MAC.String()})
		}
	}
	state.SortNeighbors(sl.Neighbors)
}
