package labbench

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"netlab/internal/benchlab"
)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// fixed is a run of three rounds with known numbers: medians 200 ms (raw
// up, N=100), 300 ms (netlab up, N=100), 4000 and 1000 at N=1000.
func fixed() *Results {
	var r Results
	star100, star1000 := Lab{benchlab.Star, 100}, Lab{benchlab.Star, 1000}
	chain10 := Lab{benchlab.Chain, 10}
	// Added out of order: the table sorts star before chain, then by N.
	r.Add(chain10, NetlabUp, Sample{Wall: ms(50)})
	for _, w := range []int{900, 200, 210} {
		r.Add(star100, RawUp, Sample{Wall: ms(w)})
	}
	for _, w := range []int{300, 290, 5000} {
		r.Add(star100, NetlabUp, Sample{Wall: ms(w), CPU: ms(w / 2), MaxRSS: 30e6})
	}
	for _, w := range []int{10, 12, 11} {
		r.Add(star100, RawDown, Sample{Wall: ms(w)})
		r.Add(star100, NetlabDown, Sample{Wall: ms(w * 2)})
	}
	r.Add(star100, NoopPlan, Sample{Wall: ms(64)})
	r.Add(star1000, RawUp, Sample{Wall: ms(1000)})
	r.Add(star1000, NetlabUp, Sample{Wall: ms(4000), CPU: ms(1500), MaxRSS: 120e6})
	return &r
}

func TestMedian(t *testing.T) {
	r := fixed()
	got, runs := r.Median(Lab{benchlab.Star, 100}, NetlabUp)
	if want := (Sample{Wall: ms(300), CPU: ms(150), MaxRSS: 30e6}); got != want || runs != 3 {
		t.Errorf("median of netlab up = %+v of %d runs, want %+v of 3", got, runs, want)
	}
	if got, _ := r.Median(Lab{benchlab.Star, 100}, RawUp); got.Wall != ms(210) {
		t.Errorf("median raw up %v, want 210ms (the outlier 900 ignored)", got.Wall)
	}
	if _, runs := r.Median(Lab{benchlab.Chain, 100}, RawUp); runs != 0 {
		t.Errorf("a lab never run has %d runs", runs)
	}
	if got := median([]int64{4, 1, 3, 2}); got != 2 {
		t.Errorf("median of an even count = %d, want 2 (mean of 2 and 3, rounded down)", got)
	}
}

// The table has one row per lab and step, in shape then size order, with
// the ratio to raw, the cost per node and the per-node slope.
func TestTable(t *testing.T) {
	table := fixed().Table()
	lines := strings.Split(strings.TrimSpace(table), "\n")
	cells := func(line string) []string {
		var out []string
		for _, c := range strings.Split(strings.Trim(line, "|"), "|") {
			out = append(out, strings.TrimSpace(c))
		}
		return out
	}
	head := cells(lines[0])
	col := func(name string) int {
		for i, h := range head {
			if h == name {
				return i
			}
		}
		t.Fatalf("no column %q in %q", name, head)
		return -1
	}
	if !strings.HasPrefix(lines[1], "| ---") {
		t.Errorf("second line is not a Markdown rule: %q", lines[1])
	}
	type want struct{ lab, n, step, raw, netlab, ratio, rounds, rawPer, netlabPer, slope, cpu, rss, runs string }
	wants := []want{
		// Rounds: 300/900, 290/200, 5000/210.
		{"star", "100", "up", "0.210", "0.300", "1.43x", "0.33-23.81x", "2.10", "3.00", "1.00x", "0.150", "30", "3"},
		{"star", "100", "down", "0.011", "0.022", "2.00x", "2.00-2.00x", "0.11", "0.22", "1.00x", "0.000", "0", "3"},
		{"star", "100", "no-op plan", "-", "0.064", "-", "-", "-", "0.64", "1.00x", "0.000", "0", "1"},
		{"star", "1000", "up", "1.000", "4.000", "4.00x", "4.00-4.00x", "1.00", "4.00", "1.33x", "1.500", "120", "1"},
		{"chain", "10", "up", "-", "0.050", "-", "-", "-", "5.00", "1.00x", "0.000", "0", "1"},
	}
	if len(lines) != 2+len(wants) {
		t.Fatalf("table has %d lines, want %d:\n%s", len(lines), 2+len(wants), table)
	}
	names := []string{"lab", "N", "step", "raw s", "netlab s", "netlab/raw", "per round", "raw ms/node", "netlab ms/node", "per node vs smallest N", "netlab CPU s", "netlab max RSS MB", "runs"}
	for i, w := range wants {
		got := cells(lines[2+i])
		vals := []string{w.lab, w.n, w.step, w.raw, w.netlab, w.ratio, w.rounds, w.rawPer, w.netlabPer, w.slope, w.cpu, w.rss, w.runs}
		for j, name := range names {
			if g := got[col(name)]; g != vals[j] {
				t.Errorf("row %d (%s %s %s), column %q = %q, want %q", i, w.lab, w.n, w.step, name, g, vals[j])
			}
		}
	}
	// Columns line up: every line is as long as the header.
	for _, l := range lines {
		if len(l) != len(lines[0]) {
			t.Errorf("line %q is %d wide, the header %d", l, len(l), len(lines[0]))
		}
	}
}

func TestRatioRange(t *testing.T) {
	r := fixed()
	lo, hi, ok := r.RatioRange(Lab{benchlab.Star, 100}, NetlabUp, RawUp)
	if !ok || fmt.Sprintf("%.3f %.3f", lo, hi) != "0.333 23.810" {
		t.Errorf("per-round ratios of netlab up to raw up: %v-%v (%v), want 0.333-23.810", lo, hi, ok)
	}
	if _, _, ok := r.RatioRange(Lab{benchlab.Chain, 10}, NetlabUp, RawUp); ok {
		t.Error("a ratio range without raw samples")
	}
}

func TestSecs(t *testing.T) {
	for d, want := range map[time.Duration]string{ms(12): "0.012", ms(9999): "9.999", ms(10400): "10.4", ms(125000): "125.0"} {
		if got := secs(d); got != want {
			t.Errorf("secs(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestParseSizes(t *testing.T) {
	got, err := ParseSizes("100, 1000,2000")
	if err != nil || len(got) != 3 || got[0] != 100 || got[2] != 2000 {
		t.Errorf("ParseSizes = %v, %v", got, err)
	}
	for _, bad := range []string{"", "10,", "ten", "0", "-5", "10,10", "100,50", "10001", "1e3"} {
		if _, err := ParseSizes(bad); err == nil {
			t.Errorf("ParseSizes(%q) accepted", bad)
		}
	}
}

func TestParseShapesAndRounds(t *testing.T) {
	if got, err := ParseShapes("chain,star"); err != nil || len(got) != 2 || got[0] != benchlab.Chain {
		t.Errorf("ParseShapes = %v, %v", got, err)
	}
	for _, bad := range []string{"", "star,star", "ring", "star,"} {
		if _, err := ParseShapes(bad); err == nil {
			t.Errorf("ParseShapes(%q) accepted", bad)
		}
	}
	for _, n := range []int{1, 3, 99} {
		if err := CheckRounds(n); err != nil {
			t.Errorf("CheckRounds(%d): %v", n, err)
		}
	}
	for _, n := range []int{0, 2, -1, 101} {
		if err := CheckRounds(n); err == nil {
			t.Errorf("CheckRounds(%d) accepted", n)
		}
	}
}
