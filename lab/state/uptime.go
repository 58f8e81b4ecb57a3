package state

import (
	"fmt"
	"time"
)

// Uptime is how long a process has run, as status and the terminal UI
// show it: the two largest units, "45s", "3m12s", "2h05m", "3d04h".
func Uptime(d time.Duration) string {
	s := int64(d / time.Second)
	switch {
	case s < 0:
		return "0s"
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	case s < 86400:
		return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
	}
	return fmt.Sprintf("%dd%02dh", s/86400, s%86400/3600)
}
