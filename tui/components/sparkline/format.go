package sparkline

import "strconv"

func strconvFloat(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
