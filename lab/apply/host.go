package apply

import (
	"context"
	"errors"
	"fmt"

	"netlab/lab/kernel"
	"netlab/lab/state"
)

// DownHost deletes the links that the lab's host: true node made in the
// machine's root namespace, found by their marker: nothing else there is
// touched, and the namespace itself stays. Run after Down, since deleting
// the lab's namespaces already takes the root ends of their veths along.
// Independent deletes all run; their errors are joined.
func DownHost(ctx context.Context, k kernel.Kernel, lab string) (deleted []string, err error) {
	names, err := k.HostLinks(ctx, lab)
	if err != nil {
		return nil, fmt.Errorf("list the lab's links in the root namespace: %w", err)
	}
	var errs []error
	for _, name := range names {
		if err := k.LinkDel(ctx, state.HostNetNS, name); err != nil {
			errs = append(errs, fmt.Errorf("root namespace: %w", err))
			continue
		}
		deleted = append(deleted, name)
	}
	return deleted, errors.Join(errs...)
}
