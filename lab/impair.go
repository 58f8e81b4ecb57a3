package lab

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Impairment is what an interface's egress suffers: a rate limit (tbf),
// a delay and a loss (netem). The zero value is none.
type Impairment struct {
	Rate  uint64        // bits per second; 0 for no limit
	Delay time.Duration // 0 for none
	Loss  float64       // percent of packets dropped, 0 to 100; 0 for none
}

// IsZero reports whether the interface is not impaired.
func (m Impairment) IsZero() bool { return m == Impairment{} }

// RateUnits are the units a rate is written in, as tc writes them: bits
// per second, decimal multiples.
var RateUnits = []struct {
	Name string
	Bits uint64
}{{"gbit", 1e9}, {"mbit", 1e6}, {"kbit", 1e3}, {"bit", 1}}

// MaxRate bounds a rate: 100gbit, beyond what a namespace's veth carries.
const MaxRate = 100e9

// ParseRate reads a rate as tc writes one: a whole number and a unit,
// 10mbit, 512kbit, 1gbit, 9600bit (the unit's case does not matter).
func ParseRate(s string) (uint64, error) {
	low := strings.ToLower(strings.TrimSpace(s))
	for _, u := range RateUnits {
		num, ok := strings.CutSuffix(low, u.Name)
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(num, 10, 64)
		if err != nil || n == 0 {
			return 0, fmt.Errorf("rate %q: want a whole number more than 0 before %s", s, u.Name)
		}
		if n*u.Bits < 8 {
			return 0, fmt.Errorf("rate %q is less than 8bit, a byte a second", s)
		}
		if n > MaxRate/u.Bits {
			return 0, fmt.Errorf("rate %q is more than 100gbit", s)
		}
		return n * u.Bits, nil
	}
	return 0, fmt.Errorf("rate %q has no unit: write it as tc does, like 10mbit, 512kbit, 1gbit or 9600bit", s)
}

// LossText writes a loss as tc does: 1%, 0.5%.
func LossText(pct float64) string { return strconv.FormatFloat(pct, 'f', -1, 64) + "%" }

// MinLoss is the least loss a lab may ask: the kernel's loss is kept to
// 4 decimals of a percent (state.Impairment.Normal), and a smaller one
// would be no loss at all, and no qdisc.
const MinLoss = 0.0001

// MaxDelay bounds a delay: a lab shows latency, and a typo such as 10m
// must not stall every packet for minutes.
const MaxDelay = 10 * time.Second
