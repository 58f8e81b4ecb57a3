// Package labbench compares netlab with the raw-netlink baseline
// (internal/rawlab), process against process: its BenchmarkLabs (root
// only) builds both programs, runs them in interleaved rounds on the labs
// of internal/benchlab, and prints one table of medians made here. Its
// BenchmarkRootless (root too) runs netlab as root and as an unused uid
// side by side the same way (rootless.go).
package labbench

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"netlab/internal/benchlab"
)

// A Step is one process the benchmark runs and times.
type Step string

const (
	RawUp      Step = "raw up"
	RawDown    Step = "raw down"
	NetlabUp   Step = "netlab up"
	NoopPlan   Step = "netlab no-op plan"
	NoopUp     Step = "netlab no-op up"
	Status     Step = "netlab status"
	NetlabDown Step = "netlab down"
)

// A Sample is what one run of a process cost: its wall time as the
// benchmark saw it (start-up and exit included), and from its rusage the
// CPU time (user and system) and peak resident memory.
type Sample struct {
	Wall   time.Duration
	CPU    time.Duration
	MaxRSS int64 // bytes
}

// A Lab is one benchmark lab: a shape and a node count.
type Lab struct {
	Shape benchlab.Shape
	N     int
}

// Results collects the samples of a run, by lab and step.
type Results struct {
	labs    []Lab // in the order first added
	samples map[Lab]map[Step][]Sample
}

// Add records one sample of step on lab.
func (r *Results) Add(lab Lab, step Step, s Sample) {
	if r.samples == nil {
		r.samples = make(map[Lab]map[Step][]Sample)
	}
	if r.samples[lab] == nil {
		r.samples[lab] = make(map[Step][]Sample)
		r.labs = append(r.labs, lab)
	}
	r.samples[lab][step] = append(r.samples[lab][step], s)
}

// Median returns the median sample of step on lab, field by field (each
// field's own median), and how many samples there were.
func (r *Results) Median(lab Lab, step Step) (Sample, int) {
	ss := r.samples[lab][step]
	if len(ss) == 0 {
		return Sample{}, 0
	}
	pick := func(f func(Sample) int64) int64 {
		v := make([]int64, len(ss))
		for i, s := range ss {
			v[i] = f(s)
		}
		return median(v)
	}
	return Sample{
		Wall:   time.Duration(pick(func(s Sample) int64 { return int64(s.Wall) })),
		CPU:    time.Duration(pick(func(s Sample) int64 { return int64(s.CPU) })),
		MaxRSS: pick(func(s Sample) int64 { return s.MaxRSS }),
	}, len(ss)
}

// median is the middle value, or the mean of the two middle ones (of
// integers, rounded down).
func median[T int64 | float64](v []T) T {
	s := slices.Clone(v)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// RatioRange returns the least and the greatest of the per-round ratios
// of step to base on lab (Ratios). ok is false without a pair.
func (r *Results) RatioRange(lab Lab, step, base Step) (lo, hi float64, ok bool) {
	q := r.Ratios(lab, step, base)
	if len(q) == 0 {
		return 0, 0, false
	}
	return slices.Min(q), slices.Max(q), true
}

// Ratios returns the per-round ratios of step to base on lab: sample i
// of one against sample i of the other, taken in the same round, a
// minute apart at most, so that a machine slower for a while slows
// both. A round whose base took no time is left out.
func (r *Results) Ratios(lab Lab, step, base Step) []float64 {
	a, b := r.samples[lab][step], r.samples[lab][base]
	var q []float64
	for i := range min(len(a), len(b)) {
		if b[i].Wall > 0 {
			q = append(q, seconds(a[i].Wall)/seconds(b[i].Wall))
		}
	}
	return q
}

// A row of the table: a netlab step, and the raw step it is compared with
// (none for the steps the raw program has no counterpart of).
type row struct {
	name        string
	netlab, raw Step
}

var rows = []row{
	{"up", NetlabUp, RawUp},
	{"down", NetlabDown, RawDown},
	{"no-op plan", NoopPlan, ""},
	{"no-op up", NoopUp, ""},
	{"status", Status, ""},
}

// Table is the results as one Markdown table of medians: per lab (shapes
// in benchlab order, then by N) and step, the raw and netlab wall times,
// their ratio and the range of the per-round ratios (RatioRange), the
// cost per node of each, netlab's per-node cost against the smallest N
// of that shape (1.00x is linear; more is worse than linear), netlab's
// CPU time and peak memory, and how many runs each median is of.
func (r *Results) Table() string {
	labs := slices.Clone(r.labs)
	slices.SortStableFunc(labs, func(a, b Lab) int {
		if c := slices.Index(benchlab.Shapes, a.Shape) - slices.Index(benchlab.Shapes, b.Shape); c != 0 {
			return c
		}
		return a.N - b.N
	})
	head := []string{"lab", "N", "step", "raw s", "netlab s", "netlab/raw", "per round", "raw ms/node", "netlab ms/node", "per node vs smallest N", "netlab CPU s", "netlab max RSS MB", "runs"}
	cells := [][]string{head}
	smallest := map[benchlab.Shape]int{} // the first (smallest) N of each shape
	for _, lab := range labs {
		if _, ok := smallest[lab.Shape]; !ok {
			smallest[lab.Shape] = lab.N
		}
		for _, rw := range rows {
			nl, runs := r.Median(lab, rw.netlab)
			if runs == 0 {
				continue
			}
			perNode := seconds(nl.Wall) * 1000 / float64(lab.N)
			c := []string{string(lab.Shape), strconv.Itoa(lab.N), rw.name, "-", secs(nl.Wall), "-", "-", "-", fmt.Sprintf("%.2f", perNode), "-", secs(nl.CPU), fmt.Sprintf("%.0f", float64(nl.MaxRSS)/1e6), strconv.Itoa(runs)}
			if raw, rruns := r.Median(lab, rw.raw); rruns > 0 {
				c[3] = secs(raw.Wall)
				if raw.Wall > 0 {
					c[5] = fmt.Sprintf("%.2fx", seconds(nl.Wall)/seconds(raw.Wall))
				}
				if lo, hi, ok := r.RatioRange(lab, rw.netlab, rw.raw); ok {
					c[6] = fmt.Sprintf("%.2f-%.2fx", lo, hi)
				}
				c[7] = fmt.Sprintf("%.2f", seconds(raw.Wall)*1000/float64(lab.N))
			}
			if base, ok := r.Median(Lab{lab.Shape, smallest[lab.Shape]}, rw.netlab); ok > 0 && base.Wall > 0 {
				basePerNode := seconds(base.Wall) * 1000 / float64(smallest[lab.Shape])
				c[9] = fmt.Sprintf("%.2fx", perNode/basePerNode)
			}
			cells = append(cells, c)
		}
	}
	return markdown(cells)
}

func seconds(d time.Duration) float64 { return d.Seconds() }

// secs prints a duration in seconds with three significant decimals for
// short ones, so 0.012 and 10.4 both read well.
func secs(d time.Duration) string {
	if d < 10*time.Second {
		return fmt.Sprintf("%.3f", d.Seconds())
	}
	return fmt.Sprintf("%.1f", d.Seconds())
}

// markdown lays cells out as a Markdown table, columns padded to line up
// in a terminal; the first row is the header. Text columns (the first
// three) are left-aligned, numbers right-aligned.
func markdown(cells [][]string) string {
	width := make([]int, len(cells[0]))
	for _, row := range cells {
		for i, c := range row {
			width[i] = max(width[i], len(c))
		}
	}
	var b strings.Builder
	line := func(row []string) {
		b.WriteString("|")
		for i, c := range row {
			pad := strings.Repeat(" ", width[i]-len(c))
			if i < 3 {
				fmt.Fprintf(&b, " %s%s |", c, pad)
			} else {
				fmt.Fprintf(&b, " %s%s |", pad, c)
			}
		}
		b.WriteString("\n")
	}
	line(cells[0])
	b.WriteString("|")
	for i, w := range width {
		if i < 3 {
			fmt.Fprintf(&b, " %s |", strings.Repeat("-", w))
		} else {
			fmt.Fprintf(&b, " %s: |", strings.Repeat("-", w-1))
		}
	}
	b.WriteString("\n")
	for _, row := range cells[1:] {
		line(row)
	}
	return b.String()
}

// ParseSizes reads a comma-separated list of node counts ("100,1000"),
// each one benchlab supports, no repeats, in increasing order.
func ParseSizes(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("sizes %q: %q is not a number", s, f)
		}
		if err := benchlab.CheckNodes(n); err != nil {
			return nil, fmt.Errorf("sizes %q: %w", s, err)
		}
		if len(out) > 0 && n <= out[len(out)-1] {
			return nil, fmt.Errorf("sizes %q: give each size once, in increasing order", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// MaxRounds bounds the rounds of one run: each round brings every lab up
// and down twice.
const MaxRounds = 99

// CheckRounds returns an error unless n is an odd number of rounds from 1
// to MaxRounds: odd, so that the median is one round's measurement.
func CheckRounds(n int) error {
	if n < 1 || n > MaxRounds || n%2 == 0 {
		return fmt.Errorf("rounds %d: use an odd number from 1 to %d, so that the median is one round's", n, MaxRounds)
	}
	return nil
}

// ParseShapes reads a comma-separated list of shapes ("star,chain").
func ParseShapes(s string) ([]benchlab.Shape, error) {
	var out []benchlab.Shape
	for f := range strings.SplitSeq(s, ",") {
		sh, err := benchlab.ParseShape(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("shapes %q: %w", s, err)
		}
		if slices.Contains(out, sh) {
			return nil, fmt.Errorf("shapes %q: %s given twice", s, sh)
		}
		out = append(out, sh)
	}
	return out, nil
}
