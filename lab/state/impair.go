package state

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// EgressHandle is the handle of the root qdisc netlab puts on a link's
// egress, 4e: (0x4e is 78, RouteProtocol): a root qdisc of another handle
// is someone else's.
const EgressHandle = 0x4e << 16

// EgressHandleText is EgressHandle as tc writes it.
const EgressHandleText = "4e:"

// Impairment is a link's egress shaping: a rate (tbf, or netem's own when
// there is also a delay or loss), a delay and a loss (netem).
type Impairment struct {
	Rate  uint64        `json:",omitzero"` // bits per second, a multiple of 8
	Delay time.Duration `json:",omitzero"` // whole microseconds
	Loss  float64       `json:",omitzero"` // percent, to 4 decimals
}

// IsZero reports whether there is no impairment.
func (m Impairment) IsZero() bool { return m == Impairment{} }

// Qdisc is the qdisc that carries the impairment: tbf for a rate alone,
// netem for anything with a delay or a loss, "" for none.
func (m Impairment) Qdisc() string {
	switch {
	case m.IsZero():
		return ""
	case m.Delay == 0 && m.Loss == 0:
		return "tbf"
	}
	return "netem"
}

// Normal rounds an impairment to what the kernel keeps: a rate in bytes
// per second, a delay in microseconds, a loss to 4 decimals; so that a
// desired one compares equal to the one read back.
func (m Impairment) Normal() Impairment {
	if m.Rate != 0 {
		m.Rate = max(m.Rate/8, 1) * 8
	}
	m.Delay = m.Delay.Round(time.Microsecond)
	m.Loss = math.Round(m.Loss*1e4) / 1e4
	return m
}

// String writes the impairment as tc's arguments do: "rate 10mbit",
// "delay 20ms loss 1%", or "(none)".
func (m Impairment) String() string {
	if m.IsZero() {
		return "(none)"
	}
	return strings.Join(m.args(), " ")
}

func (m Impairment) args() []string {
	var out []string
	if m.Rate != 0 {
		out = append(out, "rate", RateText(m.Rate))
	}
	if m.Delay != 0 {
		out = append(out, "delay", m.Delay.String())
	}
	if m.Loss != 0 {
		out = append(out, "loss", strconv.FormatFloat(m.Loss, 'f', -1, 64)+"%")
	}
	return out
}

// RateText writes a rate in bits per second in the largest unit of tc's
// that divides it: 10mbit, 512kbit, 9600bit.
func RateText(bits uint64) string {
	for _, u := range []struct {
		name string
		n    uint64
	}{{"gbit", 1e9}, {"mbit", 1e6}, {"kbit", 1e3}} {
		if bits >= u.n && bits%u.n == 0 {
			return fmt.Sprintf("%d%s", bits/u.n, u.name)
		}
	}
	return fmt.Sprintf("%dbit", bits)
}

// TBFBurst and TBFLatency size the token bucket of a rate: a burst of
// 10ms of the rate, at least ten full frames, and 50ms of queue.
const TBFLatency = 50 * time.Millisecond

// TBFBurst is the bucket, in bytes, of a rate in bits per second.
func TBFBurst(bits uint64) uint32 {
	b := bits / 8 / 100
	return uint32(min(max(b, 10*1514), math.MaxUint32/2))
}

// TBFLimit is the queue, in bytes, of a rate: TBFLatency of it beyond
// the burst.
func TBFLimit(bits uint64) uint32 {
	l := bits/8*uint64(TBFLatency)/uint64(time.Second) + uint64(TBFBurst(bits))
	return uint32(min(l, math.MaxUint32/2))
}

// EgressCmd sets (or, for none, deletes) netlab's root qdisc of a link.
func EgressCmd(netns, dev string, m Impairment) string {
	tc := toolCmd("tc", netns)
	if m.IsZero() {
		return fmt.Sprintf("%s qdisc del dev %s root handle %s", tc, q(dev), EgressHandleText)
	}
	args := m.args()
	if m.Qdisc() == "tbf" {
		args = append(args, "burst", strconv.FormatUint(uint64(TBFBurst(m.Rate)), 10), "latency", TBFLatency.String())
	}
	return fmt.Sprintf("%s qdisc replace dev %s root handle %s %s %s", tc, q(dev), EgressHandleText, m.Qdisc(), strings.Join(args, " "))
}
