package kernel

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestNetconfReadsAsProcSys: every sysctl read through RTM_GETNETCONF
// reads as its /proc/sys file does, for each value it takes, in a
// namespace of the test's own; a key netconf does not report is read
// from /proc/sys.
func TestNetconfReadsAsProcSys(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: a namespace of its own")
	}
	values := map[string][]string{
		"net.ipv4.ip_forward":                               {"1", "0"},
		"net.ipv4.conf.all.forwarding":                      {"1", "0"},
		"net.ipv4.conf.default.forwarding":                  {"1", "0"},
		"net.ipv4.conf.all.rp_filter":                       {"2", "1", "0"},
		"net.ipv4.conf.default.rp_filter":                   {"2", "0"},
		"net.ipv4.conf.all.proxy_arp":                       {"1", "0"},
		"net.ipv4.conf.default.ignore_routes_with_linkdown": {"1", "0"},
		"net.ipv6.conf.all.forwarding":                      {"1", "0"},
		"net.ipv6.conf.default.forwarding":                  {"1", "0"},
		"net.ipv6.conf.all.proxy_ndp":                       {"1", "0"},
		"net.ipv6.conf.all.ignore_routes_with_linkdown":     {"1", "0"},
	}
	for key := range values {
		if _, ok := netconfKey(key); !ok {
			t.Errorf("netconfKey(%q) = false; the test expects netconf to report it", key)
		}
	}
	for _, key := range []string{"net.ipv4.conf.eth0.forwarding", "net.ipv4.tcp_syncookies", "net.ipv6.conf.all.accept_dad", "net.ipv4.conf.all.rp_filterx"} {
		if _, ok := netconfKey(key); ok {
			t.Errorf("netconfKey(%q) = true; want it read from /proc/sys", key)
		}
	}
	err := InFreshNetNS(func() error {
		for round := 0; round < 3; round++ {
			var keys []string
			for key, vs := range values {
				v := vs[round%len(vs)]
				path, err := sysctlPath(key)
				if err != nil {
					return err
				}
				if err := os.WriteFile(path, []byte(v), 0o644); err != nil {
					t.Errorf("write %s=%s: %v", key, v, err)
				}
				keys = append(keys, key)
			}
			keys = append(keys, "net.ipv4.tcp_syncookies") // from /proc/sys
			got, err := readSysctlsHere(keys)
			if err != nil {
				return err
			}
			// And netconf itself answered: not every key from /proc/sys.
			for key := range values {
				e, _ := netconfKey(key)
				conf, err := netconfHere(e.family, e.ifindex)
				if err != nil {
					return fmt.Errorf("netconf of %s: %w", key, err)
				}
				if v, ok := conf[e.attr]; !ok || v != got[key] {
					t.Errorf("netconf reports %s as %q (present %v), the read gave %q", key, v, ok, got[key])
				}
			}
			for _, key := range keys {
				want, ok, err := readSysctl(key)
				if err != nil || !ok {
					t.Errorf("read %s from /proc/sys: %v, %v", key, ok, err)
					continue
				}
				if strings.TrimSpace(got[key]) != want {
					t.Errorf("round %d: %s reads %q, /proc/sys says %q", round, key, got[key], want)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
