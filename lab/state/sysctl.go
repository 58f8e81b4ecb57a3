package state

import (
	"net/netip"
	"strconv"
	"strings"
)

// A Setting is one sysctl key and its value.
type Setting struct{ Key, Value string }

// NetNSSysctls are what netlab sets in each namespace it makes, in that
// order, before anything is made there (kernel.NetNSAdd): duplicate
// address detection off for every device made later, as nodad is for the
// lab's own addresses. A plan's namespace create says so (its commands),
// and so does the script.
var NetNSSysctls = []Setting{{"net.ipv6.conf.default.accept_dad", "0"}}

// SysctlValue is a sysctl value as the kernel reads it back once
// written: its fields (several for a vector such as net.ipv4.tcp_rmem)
// one space apart, and each integer field in decimal, as the kernel
// parses an integer sysctl (strtoul with base 0: 0x starts hex, a leading
// 0 octal, so "01" reads back as 1 and "010" as 8). An IPv6 address
// field (net.ipv6.conf.*.stable_secret) is one address however written:
// the kernel prints every group in full (fd00:0000:...:0004), and here
// both forms read as netip prints them (fd00::4). Any other field (a
// name, such as a congestion control) stays as written.
// Two values are the same setting when their SysctlValues are equal.
func SysctlValue(v string) string {
	fields := strings.Fields(v)
	for i, f := range fields {
		if n, ok := kernelInt(f); ok {
			fields[i] = n
		} else if a, err := netip.ParseAddr(f); err == nil && a.Is6() && a.Zone() == "" {
			fields[i] = a.String()
		}
	}
	return strings.Join(fields, " ")
}

// kernelInt reads an integer as the kernel's sysctl parser does: an
// optional minus sign, then hex after 0x, octal after a leading 0, or
// decimal; no plus sign, no underscores.
func kernelInt(f string) (string, bool) {
	digits, neg := strings.CutPrefix(f, "-")
	base := 10
	switch {
	case len(digits) > 2 && (digits[:2] == "0x" || digits[:2] == "0X"):
		digits, base = digits[2:], 16
	case len(digits) > 1 && digits[0] == '0':
		digits, base = digits[1:], 8
	}
	if digits == "" || strings.ContainsAny(digits[:1], "+-") {
		return "", false
	}
	n, err := strconv.ParseUint(digits, base, 64)
	if err != nil {
		return "", false
	}
	s := strconv.FormatUint(n, 10)
	if neg && n != 0 {
		s = "-" + s
	}
	return s, true
}
