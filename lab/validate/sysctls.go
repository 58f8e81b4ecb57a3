package validate

import (
	"strings"
)

// sysctls checks each key names a net.* sysctl by a path that stays under
// /proc/sys/net: dotted segments of letters, digits, '_' and '-'.
func (v *validator) sysctls() {
	for _, n := range v.lab.Nodes {
		for _, s := range n.Sysctls {
			if p := sysctlKeyProblem(s.Key); p != "" {
				hint := "netlab sets only net.* sysctls, which belong to the node's namespace"
				if strings.HasPrefix(s.Key, "net.") {
					hint = "write the key as sysctl -a prints it, like net.ipv4.ip_forward"
				}
				v.diags.Hintf(s.Pos, hint, "sysctl %q %s", clip(s.Key), p)
			}
			if strings.ContainsAny(s.Value, "\n\x00") || (s.Value == "" && s.Usable("value")) {
				v.diags.Hintf(s.At("value"), "write one value, such as 1", "sysctl %q has an empty or multi-line value", clip(s.Key))
			}
		}
	}
}

func sysctlKeyProblem(key string) string {
	if !strings.HasPrefix(key, "net.") {
		return "is outside net."
	}
	for _, seg := range strings.Split(key, ".") {
		if seg == "" {
			return "has an empty segment"
		}
		for _, r := range seg {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
				return "has a character other than a-z, 0-9, _, - and ."
			}
		}
	}
	return ""
}
