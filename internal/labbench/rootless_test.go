package labbench

import (
	"errors"
	"os/user"
	"strings"
	"testing"

	"netlab/internal/benchlab"
)

// The rootless table pairs each step as root with the same step as the
// user: medians, ratio, per-round ratios and the difference.
func TestRootlessTable(t *testing.T) {
	var r Results
	star := Lab{benchlab.Star, 100}
	for i, w := range []int{200, 240, 220} {
		r.Add(star, RootUp, Sample{Wall: ms(w)})
		r.Add(star, RootlessUp, Sample{Wall: ms([]int{250, 260, 330}[i])})
		r.Add(star, RootDown, Sample{Wall: ms(20)})
		r.Add(star, RootlessDown, Sample{Wall: ms(30)})
	}
	r.Add(star, RootStatus, Sample{Wall: ms(40)}) // no rootless status: no row
	r.Add(Lab{benchlab.Chain, 10}, RootlessNoopUp, Sample{Wall: ms(40)})
	r.Add(Lab{benchlab.Chain, 10}, RootNoopUp, Sample{Wall: ms(20)})
	lines := strings.Split(strings.TrimSpace(r.RootlessTable()), "\n")
	var rows [][]string
	for _, l := range lines[2:] {
		var c []string
		for _, f := range strings.Split(strings.Trim(l, "|"), "|") {
			c = append(c, strings.TrimSpace(f))
		}
		rows = append(rows, c)
	}
	want := [][]string{
		// Per round: 250/200 (1.25), 260/240 (1.08), 330/220 (1.50).
		{"star", "100", "up", "0.220", "0.260", "1.18x", "1.25x", "1.08-1.50x", "40", "3"},
		{"star", "100", "down", "0.020", "0.030", "1.50x", "1.50x", "1.50-1.50x", "10", "3"},
		{"chain", "10", "no-op up", "0.020", "0.040", "2.00x", "2.00x", "2.00-2.00x", "20", "1"},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d:\n%s", len(rows), len(want), strings.Join(lines, "\n"))
	}
	for i := range want {
		if strings.Join(rows[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("row %d = %q, want %q", i, rows[i], want[i])
		}
	}
	if got := median([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Errorf("median of an even count = %v, want 2.5", got)
	}
	if !strings.HasPrefix(lines[0], "| lab ") || !strings.Contains(lines[0], "rootless/root") {
		t.Errorf("header %q", lines[0])
	}
}

// fakeLookups knows user 1000 and group 1001, and fails on id 77.
func fakeLookups() lookups {
	return lookups{
		user: func(id string) error {
			switch id {
			case "1000":
				return nil
			case "77":
				return errors.New("passwd unreadable")
			}
			return user.UnknownUserIdError(0)
		},
		group: func(id string) error {
			if id == "1001" {
				return nil
			}
			return user.UnknownGroupIdError(id)
		},
	}
}

func TestCheckUID(t *testing.T) {
	look := fakeLookups()
	if err := checkUID(4000123, look); err != nil {
		t.Errorf("an unused uid refused: %v", err)
	}
	for uid, why := range map[int64]string{
		0:         "root",
		-1:        "out of range",
		1<<32 - 1: "out of range",
		1 << 40:   "out of range",
		1000:      "belongs to a user",
		1001:      "belongs to a group",
		77:        "look it up",
	} {
		err := checkUID(uid, look)
		if err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("checkUID(%d) = %v, want an error saying %q", uid, err, why)
		}
	}
}

func TestPickUID(t *testing.T) {
	look := fakeLookups()
	for range 50 {
		uid, err := pickUID(0, look)
		if err != nil || uid < FirstPickedUID || uid >= FirstPickedUID+PickedUIDs {
			t.Fatalf("pickUID(0) = %d, %v; want one in [%d, %d)", uid, err, FirstPickedUID, FirstPickedUID+PickedUIDs)
		}
	}
	if uid, err := pickUID(4000007, look); uid != 4000007 || err != nil {
		t.Errorf("pickUID of a given unused uid = %d, %v", uid, err)
	}
	if _, err := pickUID(1000, look); err == nil {
		t.Error("pickUID took a user's uid")
	}
	// Every id taken: it gives up, saying why.
	taken := lookups{user: func(string) error { return nil }, group: look.group}
	if _, err := pickUID(0, taken); err == nil || !strings.Contains(err.Error(), "no unused uid") {
		t.Errorf("pickUID with every uid taken = %v", err)
	}
}
