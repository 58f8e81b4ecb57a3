package labbench

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"os/user"
	"slices"
	"strconv"

	"netlab/internal/benchlab"
)

// The rootless benchmark (BenchmarkRootless) runs netlab as root and as
// an unprivileged user, the same steps on the same labs, and compares
// the two. Its steps:
const (
	RootUp         Step = "root up"
	RootNoopUp     Step = "root no-op up"
	RootStatus     Step = "root status"
	RootDown       Step = "root down"
	RootlessUp     Step = "rootless up"
	RootlessNoopUp Step = "rootless no-op up"
	RootlessStatus Step = "rootless status"
	RootlessDown   Step = "rootless down"
)

var rootlessRows = []struct {
	name           string
	root, rootless Step
}{
	{"up", RootUp, RootlessUp},
	{"no-op up", RootNoopUp, RootlessNoopUp},
	{"status", RootStatus, RootlessStatus},
	{"down", RootDown, RootlessDown},
}

// RootlessTable is the results of BenchmarkRootless as one Markdown
// table: per lab and step, the median wall times as root and as the
// user, their ratio (rootless/root), the median and the range of the
// per-round ratios (Ratios: on a loaded machine the median of pairs
// taken a second apart is the steadier figure), the difference of the
// medians in milliseconds (what being rootless costs), and how many
// runs each median is of.
func (r *Results) RootlessTable() string {
	labs := slices.Clone(r.labs)
	slices.SortStableFunc(labs, func(a, b Lab) int {
		if c := slices.Index(benchlab.Shapes, a.Shape) - slices.Index(benchlab.Shapes, b.Shape); c != 0 {
			return c
		}
		return a.N - b.N
	})
	cells := [][]string{{"lab", "N", "step", "root s", "rootless s", "rootless/root", "per-round median", "per round", "extra ms", "runs"}}
	for _, lab := range labs {
		for _, rw := range rootlessRows {
			root, runs := r.Median(lab, rw.root)
			user, uruns := r.Median(lab, rw.rootless)
			if runs == 0 || uruns == 0 {
				continue
			}
			c := []string{string(lab.Shape), strconv.Itoa(lab.N), rw.name, secs(root.Wall), secs(user.Wall), "-", "-", "-",
				fmt.Sprintf("%.0f", float64(user.Wall-root.Wall)/1e6), strconv.Itoa(min(runs, uruns))}
			if root.Wall > 0 {
				c[5] = fmt.Sprintf("%.2fx", seconds(user.Wall)/seconds(root.Wall))
			}
			if q := r.Ratios(lab, rw.rootless, rw.root); len(q) > 0 {
				c[6] = fmt.Sprintf("%.2fx", median(q))
				c[7] = fmt.Sprintf("%.2f-%.2fx", slices.Min(q), slices.Max(q))
			}
			cells = append(cells, c)
		}
	}
	return markdown(cells)
}

// The unprivileged user's uid, when none is given: FirstPickedUID plus a
// random number below PickedUIDs, far above the uids of real users and
// of the ranges /etc/subuid usually hands out (100000 up), and below the
// 32-bit overflow ids.
const (
	FirstPickedUID = 4000000
	PickedUIDs     = 1000000
)

// lookups are how CheckUID asks whether a user or group has an id: the
// system's, or a test's.
type lookups struct {
	user  func(id string) error // nil when a user has that uid
	group func(id string) error // nil when a group has that gid
}

var systemLookups = lookups{
	user:  func(id string) error { _, err := user.LookupId(id); return err },
	group: func(id string) error { _, err := user.LookupGroupId(id); return err },
}

// CheckUID returns an error unless uid is one the benchmark may run
// netlab as (the same number as uid and gid): not 0 (root), within the
// ids a user namespace can map (below 4294967295, the kernel's "no id"),
// and no user's or group's on this machine, so that nothing the
// benchmark makes or stops belongs to anyone.
func CheckUID(uid int64) error { return checkUID(uid, systemLookups) }

func checkUID(uid int64, look lookups) error {
	switch {
	case uid == 0:
		return errors.New("uid 0 is root: give the uid of no user")
	case uid < 0 || uid >= 1<<32-1:
		return fmt.Errorf("uid %d: out of range (1 to %d)", uid, uint32(1<<32-2))
	}
	id := strconv.FormatInt(uid, 10)
	if err := look.user(id); err == nil {
		return fmt.Errorf("uid %d belongs to a user: give the uid of no user", uid)
	} else if !errors.As(err, new(user.UnknownUserIdError)) {
		return fmt.Errorf("uid %d: look it up: %w", uid, err)
	}
	if err := look.group(id); err == nil {
		return fmt.Errorf("gid %d belongs to a group: give an id no user or group has", uid)
	} else if !errors.As(err, new(user.UnknownGroupIdError)) {
		return fmt.Errorf("gid %d: look it up: %w", uid, err)
	}
	return nil
}

// PickUID returns uid when it is given (not 0) and CheckUID allows it,
// or else an id FirstPickedUID + random that CheckUID allows.
func PickUID(uid int64) (int64, error) { return pickUID(uid, systemLookups) }

func pickUID(uid int64, look lookups) (int64, error) {
	if uid != 0 {
		return uid, checkUID(uid, look)
	}
	var lastErr error
	for range 20 {
		var b [4]byte
		if _, err := rand.Read(b[:]); err != nil {
			return 0, err
		}
		uid := FirstPickedUID + int64(binary.LittleEndian.Uint32(b[:])%PickedUIDs)
		if lastErr = checkUID(uid, look); lastErr == nil {
			return uid, nil
		}
	}
	return 0, fmt.Errorf("no unused uid found from %d: %w", FirstPickedUID, lastErr)
}
