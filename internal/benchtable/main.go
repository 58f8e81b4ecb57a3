// Command benchtable reads `go test -bench Reconcile` output on standard
// input and prints netlab and its raw-netlink baseline side by side, with
// the ratio, so one run compares both on the same machine.
package main

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
)

// line matches BenchmarkReconcile/star-200/netlab-up-2  3  547268900 ns/op
var line = regexp.MustCompile(`^BenchmarkReconcile/([a-z]+-\d+)/(netlab|baseline)-([a-z-]+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op`)

func main() {
	type key struct{ lab, op string }
	netlab := map[key]float64{}
	baseline := map[key]float64{}
	var keys []key
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		text := sc.Text()
		m := line.FindStringSubmatch(text)
		if m == nil {
			if strings.HasPrefix(text, "---") || strings.HasPrefix(text, "FAIL") || strings.Contains(text, "_test.go") {
				fmt.Fprintln(os.Stderr, text)
			}
			continue
		}
		ns, _ := strconv.ParseFloat(m[4], 64)
		k := key{m[1], m[3]}
		if m[2] == "netlab" {
			if _, seen := netlab[k]; !seen {
				keys = append(keys, k)
			}
			netlab[k] = ns
		} else {
			baseline[k] = ns
		}
	}
	sort.SliceStable(keys, func(i, j int) bool { return labOrder(keys[i].lab) < labOrder(keys[j].lab) })
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "lab\top\tnetlab ms\tbaseline ms\tratio\t")
	for _, k := range keys {
		base, ratio := "-", "-"
		if b, ok := baseline[k]; ok && b > 0 {
			base = fmt.Sprintf("%.1f", b/1e6)
			ratio = fmt.Sprintf("%.2fx", netlab[k]/b)
		}
		fmt.Fprintf(tw, "%s\t%s\t%.1f\t%s\t%s\t\n", k.lab, k.op, netlab[k]/1e6, base, ratio)
	}
	tw.Flush()
}

// labOrder sorts star before chain, then by size.
func labOrder(lab string) string {
	shape, n, _ := strings.Cut(lab, "-")
	size, _ := strconv.Atoi(n)
	return fmt.Sprintf("%s-%05d", shape, size)
}
