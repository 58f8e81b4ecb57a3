package check_test

import (
	"math"
	"testing"
	"time"

	"netlab/lab/check"
)

// TestEchoStats: loss and min/avg/max/mdev as ping(8) prints them.
func TestEchoStats(t *testing.T) {
	var s check.EchoStats
	if s.LossPercent() != 0 {
		t.Errorf("loss of nothing sent: %g", s.LossPercent())
	}
	if _, _, _, _, ok := s.RTT(); ok {
		t.Error("RTT of no reply is ok")
	}
	for _, ms := range []int{1, 3, 2} {
		if got := s.Replied(time.Duration(ms) * time.Millisecond); got != float64(ms) {
			t.Errorf("Replied(%dms) = %g", ms, got)
		}
	}
	s.Lost()
	if s.Transmitted != 4 || s.Received != 3 || s.LossPercent() != 25 {
		t.Errorf("sent %d, received %d, loss %g%%; want 4, 3, 25%%", s.Transmitted, s.Received, s.LossPercent())
	}
	minMs, avgMs, maxMs, mdevMs, ok := s.RTT()
	if !ok || minMs != 1 || avgMs != 2 || maxMs != 3 || math.Abs(mdevMs-math.Sqrt(2.0/3)) > 1e-9 {
		t.Errorf("rtt %g/%g/%g/%g (ok %v), want 1/2/3/0.816", minMs, avgMs, maxMs, mdevMs, ok)
	}
}
