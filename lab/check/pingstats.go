package check

import (
	"math"
	"time"
)

// EchoStats sums up a run of echo requests as ping(8) does: how many went
// out, how many came back, and the round-trip times of those that did.
// The zero value is an empty run.
type EchoStats struct {
	Transmitted int
	Received    int
	rtts        []float64 // milliseconds
}

// Lost counts a request that got no reply.
func (s *EchoStats) Lost() { s.Transmitted++ }

// Replied counts a request answered after rtt, and returns rtt in
// milliseconds.
func (s *EchoStats) Replied(rtt time.Duration) float64 {
	ms := float64(rtt) / float64(time.Millisecond)
	s.Transmitted++
	s.Received++
	s.rtts = append(s.rtts, ms)
	return ms
}

// LossPercent is the share of requests without a reply, 0 for none sent.
func (s *EchoStats) LossPercent() float64 {
	if s.Transmitted == 0 {
		return 0
	}
	return 100 * float64(s.Transmitted-s.Received) / float64(s.Transmitted)
}

// RTT returns the minimum, average, maximum and mean deviation of the
// round-trip times in milliseconds, as ping(8)'s last line; ok is false
// when no reply came.
func (s *EchoStats) RTT() (minMs, avgMs, maxMs, mdevMs float64, ok bool) {
	if len(s.rtts) == 0 {
		return 0, 0, 0, 0, false
	}
	minMs, maxMs = math.Inf(1), 0
	var total, sq float64
	for _, v := range s.rtts {
		minMs, maxMs = math.Min(minMs, v), math.Max(maxMs, v)
		total += v
		sq += v * v
	}
	avgMs = total / float64(len(s.rtts))
	mdevMs = math.Sqrt(math.Max(0, sq/float64(len(s.rtts))-avgMs*avgMs))
	return minMs, avgMs, maxMs, mdevMs, true
}
