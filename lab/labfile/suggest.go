package labfile

// nearest returns the candidate closest to s by edit distance, if it is
// close enough to be a likely typo and no other candidate is as close;
// otherwise "". Two candidates at the same distance ("sctp" is two edits
// from both "tcp" and "icmp") mean s is no typo of either.
func nearest(s string, candidates []string) string {
	limit := min(len(s)/3+1, 3)
	best, bestDist, tie := "", limit+1, false
	for _, c := range candidates {
		switch d := editDistance(s, c); {
		case d < bestDist:
			best, bestDist, tie = c, d, false
		case d == bestDist && c != best:
			tie = true
		}
	}
	if tie {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, counting an
// adjacent swap as one edit (the commonest typo).
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64 // a name this long is no typo of a field name
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
