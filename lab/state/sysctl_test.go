package state

import "testing"

func TestSysctlValue(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"1", "1"},
		{"01", "1"}, // what ip_forward: "01" reads back as
		{" 7 ", "7"},
		{"010", "8"},
		{"0x10", "16"},
		{"0", "0"},
		{"-1", "-1"},
		{"-0", "0"},
		{"4096\t131072  6291456", "4096 131072 6291456"},
		{"4096 087380 0x10", "4096 087380 16"}, // 8 is no octal digit: left as written
		{"+5", "+5"},
		{"bbr", "bbr"},
		{"1_000", "1_000"},
		{"", ""},
		// net.ipv6.conf.eth0.stable_secret as written and as read back
		{"fd00::1:2:3:4", "fd00::1:2:3:4"},
		{"fd00:0000:0000:0000:0001:0002:0003:0004", "fd00::1:2:3:4"},
		{"FD00::1:2:3:4", "fd00::1:2:3:4"},
	} {
		if got := SysctlValue(tc.in); got != tc.want {
			t.Errorf("SysctlValue(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
