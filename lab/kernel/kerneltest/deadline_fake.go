package kerneltest

import (
	"sync"
	"time"
)

// deadline is a read deadline of a fake socket: a time, and a channel
// closed once it has passed, as the runtime's poller has for real ones.
// The zero deadline is none.
type deadline struct {
	mu    sync.Mutex
	t     time.Time
	timer *time.Timer
	ch    chan struct{} // closed once t has passed; nil until first asked
}

// wait returns a channel closed once the deadline passes (or is moved:
// the reader then looks again).
func (d *deadline) wait() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ch == nil {
		d.ch = make(chan struct{})
	}
	return d.ch
}

// passed reports whether the deadline is set and has passed.
func (d *deadline) passed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return !d.t.IsZero() && !time.Now().Before(d.t)
}

// set moves the deadline to t (zero: none). A reader waiting is woken to
// look again.
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	if d.ch != nil {
		close(d.ch) // wake the readers; they see whether it passed
	}
	d.ch = make(chan struct{})
	d.t = t
	if t.IsZero() {
		return
	}
	ch := d.ch
	d.timer = time.AfterFunc(time.Until(t), func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.ch == ch {
			close(ch)
			d.ch = make(chan struct{})
		}
	})
}
