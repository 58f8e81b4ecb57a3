package packet

// ICMPName names an ICMP (or, with v6, ICMPv6) message by its type and
// code the way ping and the decoder do ("ICMP destination unreachable,
// host unreachable"), so that a check's reason and a capture's line use
// the same words.
func ICMPName(v6 bool, typ, code uint8) string {
	return (&ICMP{V6: v6, Type: typ, Code: code}).name()
}

func (m *ICMP) name() string {
	s := m.describe()
	// describe ends with ", length N"; the name alone is what callers want.
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == ',' {
			return s[:i]
		}
	}
	return s
}
