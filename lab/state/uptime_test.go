package state

import (
	"testing"
	"time"
)

func TestUptime(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second:                          "0s",
		0:                                     "0s",
		45*time.Second + 900*time.Millisecond: "45s",
		3*time.Minute + 2*time.Second:         "3m02s",
		2*time.Hour + 5*time.Minute + 59*time.Second: "2h05m",
		75 * time.Hour: "3d03h",
	} {
		if got := Uptime(d); got != want {
			t.Errorf("Uptime(%v) = %q, want %q", d, got, want)
		}
	}
}
