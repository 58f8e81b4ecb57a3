package kerneltest

import (
	"context"
	"sync/atomic"
)

// CutCtx is a context that cancels itself the cut-th time it is asked
// whether it is done: a netlab interrupted (by ^C, say) after that many
// kernel messages, since kernel.Linux and the Fake both ask before each
// one. With cut 0 it only counts; Asked says how many times it was asked.
type CutCtx struct {
	context.Context
	cancel context.CancelFunc
	cut    int64
	asked  atomic.Int64
}

// NewCutCtx returns a CutCtx that cancels itself at the cut-th question.
func NewCutCtx(cut int64) *CutCtx {
	ctx, cancel := context.WithCancel(context.Background())
	return &CutCtx{Context: ctx, cancel: cancel, cut: cut}
}

// Err counts the question, cancels at the cut, and answers.
func (c *CutCtx) Err() error {
	if c.asked.Add(1) == c.cut {
		c.cancel()
	}
	return c.Context.Err()
}

// Asked is how many times Err was called.
func (c *CutCtx) Asked() int64 { return c.asked.Load() }
