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
