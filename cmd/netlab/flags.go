package main

import (
	"fmt"
	"strconv"
	"time"
)

// pingDuration is a flag that takes a Go duration (200ms, 2s) or, as
// ping(8) does, a plain number of seconds (0.2).
type pingDuration struct{ d *time.Duration }

func (p pingDuration) String() string {
	if p.d == nil {
		return ""
	}
	return p.d.String()
}

func (p pingDuration) Set(s string) error {
	if secs, err := strconv.ParseFloat(s, 64); err == nil {
		*p.d = time.Duration(secs * float64(time.Second))
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is neither seconds (0.2) nor a duration (200ms)", s)
	}
	*p.d = d
	return nil
}

func (p pingDuration) Type() string { return "duration" }

// waitFlag is --wait: how long to wait for another netlab command on the
// same lab. Unset, it waits as long as it takes (stored as -1, which the
// lock reads as no limit); its String is empty then, so that --help does
// not print a meaningless "(default -1ns)".
type waitFlag struct{ d *time.Duration }

func (w waitFlag) String() string {
	if w.d == nil || *w.d < 0 {
		return ""
	}
	return w.d.String()
}

func (w waitFlag) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration (30s, 2m)", s)
	}
	if d < 0 {
		return fmt.Errorf("%s is negative: use 0 to give up at once, or leave --wait out to wait as long as it takes", s)
	}
	*w.d = d
	return nil
}

func (w waitFlag) Type() string { return "duration" }
