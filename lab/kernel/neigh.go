package kernel

import (
	"context"

	"netlab/lab/state"
)

// NeighKernel adds and removes a link's permanent neighbour entries
// (issue 18). Each entry netlab adds carries state.RouteProtocol
// (NDA_PROTOCOL, Linux 5.2 and later), as its routes do; Observe lists
// only those, so an entry added by hand is never netlab's to remove.
type NeighKernel interface {
	// NeighReplace adds or replaces a permanent entry on the link.
	// Equivalent to: ip -n NETNS neigh replace IP lladdr MAC dev LINK nud permanent proto 78
	NeighReplace(ctx context.Context, netns, link string, n state.Neighbor) error
	// NeighDel removes an entry; one already gone is not an error.
	// Equivalent to: ip -n NETNS neigh del IP dev LINK
	NeighDel(ctx context.Context, netns, link string, n state.Neighbor) error
}
