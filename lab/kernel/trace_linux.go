package kernel

import (
	"context"
	"errors"
)

// TraceStart: see Tracer (seam.go).
func (k *Linux) TraceStart(ctx context.Context, netns []string, m TraceMatch) (Trace, error) {
	return nil, errors.ErrUnsupported
}

// TraceSweep: see Tracer (seam.go).
func (k *Linux) TraceSweep(ctx context.Context, netns []string) ([]string, error) {
	return nil, errors.ErrUnsupported
}
