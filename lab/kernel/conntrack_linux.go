package kernel

import (
	"context"
	"errors"
)

// Conntrack: see Conntracker (seam.go).
func (k *Linux) Conntrack(ctx context.Context, netns string) ([]ConntrackEntry, error) {
	return nil, errors.ErrUnsupported
}

// ConntrackFlush: see Conntracker (seam.go).
func (k *Linux) ConntrackFlush(ctx context.Context, netns string) error {
	return errors.ErrUnsupported
}
