package main

import (
	"testing"
	"time"
)

func TestPingDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"0.2", 200 * time.Millisecond, true},
		{"1", time.Second, true},
		{"200ms", 200 * time.Millisecond, true},
		{"2s", 2 * time.Second, true},
		{"x", 0, false},
		{"", 0, false},
	}
	for _, tc := range tests {
		var d time.Duration
		err := pingDuration{&d}.Set(tc.in)
		if (err == nil) != tc.ok || (tc.ok && d != tc.want) {
			t.Errorf("Set(%q) = %v, %v; want %v (ok %v)", tc.in, d, err, tc.want, tc.ok)
		}
	}
}
