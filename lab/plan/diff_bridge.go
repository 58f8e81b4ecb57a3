package plan

import (
	"fmt"
	"slices"
	"strings"

	"netlab/lab/state"
)

// sameSTP compares a bridge's STP, and with STP on its timers and
// priority (an observed bridge has them whether STP is on or not).
func sameSTP(w, h *state.Link) bool {
	if w.STP != h.STP {
		return false
	}
	if !w.STP || w.STPSettings == nil {
		return true
	}
	return h.STPSettings != nil && *w.STPSettings == *h.STPSettings
}

func stpText(l *state.Link) string {
	if !l.STP || l.STPSettings == nil {
		return fmt.Sprint(l.STP)
	}
	return "true (" + l.STPSettings.String() + ")"
}

// samePort compares a port's flags; a link that is no port yet (nil)
// gets the kernel's defaults when it joins a bridge.
func samePort(w, h *state.PortFlags) bool {
	if w == nil {
		return true
	}
	if h == nil {
		return *w == state.DefaultPortFlags
	}
	return *w == *h
}

// bridgeAttrs are the in-place changes of a bridge port's flags and of a
// link's static neighbours, listed after up: a link brought down loses
// its neighbour entries, which are then put back.
func bridgeAttrs(w, h *state.Link) []AttrChange {
	var attrs []AttrChange
	if !samePort(w.BridgePort, h.BridgePort) {
		old := "(none)"
		if h.BridgePort != nil {
			old = h.BridgePort.String()
		}
		attrs = append(attrs, AttrChange{Link: state.AttrPort, Old: old, New: w.BridgePort.String()})
	}
	switch {
	case !slices.Equal(w.Neighbors, h.Neighbors):
		attrs = append(attrs, AttrChange{Link: state.AttrNeighbors, Old: neighborsText(h.Neighbors), New: neighborsText(w.Neighbors)})
	case len(w.Neighbors) > 0 && flushesNeighbors(w, h):
		// The kernel drops every neighbour entry of a link it takes
		// down or gives a new MAC, permanent ones too (neigh_ifdown,
		// neigh_changeaddr): they are put back after.
		attrs = append(attrs, AttrChange{Link: state.AttrNeighbors, Old: "(flushed by the change)", New: neighborsText(w.Neighbors)})
	}
	return attrs
}

func neighborsText(ns []state.Neighbor) string {
	if len(ns) == 0 {
		return "(none)"
	}
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = n.String()
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// flushesNeighbors reports whether the update from h to w takes the link
// down or changes its MAC, either of which flushes its neighbour table.
func flushesNeighbors(w, h *state.Link) bool {
	return (h.Up && !w.Up) || (w.MAC != "" && !strings.EqualFold(w.MAC, h.MAC))
}
