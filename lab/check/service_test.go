package check

import (
	"testing"

	"netlab/lab"
)

func TestDialPort(t *testing.T) {
	tests := []struct {
		url  string
		want uint16
	}{
		{"http://192.0.2.1/", 80},
		{"https://192.0.2.1/", 443},
		{"http://web:8080/health", 8080},
		{"https://[2001:db8::1]:8443/", 8443},
	}
	for _, tc := range tests {
		if got := DialPort(&lab.Check{HTTP: tc.url, Proto: "tcp"}); got != tc.want {
			t.Errorf("DialPort(http %s) = %d, want %d", tc.url, got, tc.want)
		}
	}
	if got := DialPort(&lab.Check{To: "b", Proto: "icmp", Port: 7}); got != 0 {
		t.Errorf("DialPort(icmp) = %d, want 0", got)
	}
	if got := DialPort(&lab.Check{To: "b", Proto: "tcp", Port: 8080, Listen: 80}); got != 8080 {
		t.Errorf("DialPort(tcp 8080 listen 80) = %d, want 8080, the port dialled", got)
	}
}
