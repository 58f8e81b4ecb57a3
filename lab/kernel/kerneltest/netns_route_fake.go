package kerneltest

import (
	"fmt"
	"net/netip"
	"slices"
)

// DelRoute deletes the routes of a namespace to the prefix to, as
// `ip -n NETNS route del TO` does by hand (a test breaks a lab with it).
// Like ip, it fails when there is no such route, so that a mistyped test
// fails.
func (n *Net) DelRoute(netns string, to netip.Prefix) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	ns := n.ns[netns]
	if ns == nil {
		return fmt.Errorf("delete route %s in %s: no such namespace", to, netns)
	}
	before := len(ns.routes)
	ns.routes = slices.DeleteFunc(ns.routes, func(r fakeRouteEntry) bool { return r.to == to.Masked() })
	if len(ns.routes) == before {
		return fmt.Errorf("delete route %s in %s: no such route", to, netns)
	}
	return nil
}
