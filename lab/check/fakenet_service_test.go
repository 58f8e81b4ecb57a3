package check_test

import (
	"context"
	"io"
	"net/netip"
	"strings"
	"testing"

	"netlab/lab/check"
	"netlab/lab/state"
)

// TestNotNetlabsResponder: a DNAT sends a check's probe to a program of
// the lab that answers something else (TCP), or nothing and closes the
// connection; the check says that it is not netlab's responder.
func TestNotNetlabsResponder(t *testing.T) {
	t.Parallel()
	l := parseLab(t, `name: other
nodes:
  a:
    interfaces:
      eth0: {addresses: [10.8.0.1/24]}
  web:
    interfaces:
      eth0: {addresses: [10.8.0.2/24]}
links:
  - [a:eth0, web:eth0]
checks:
  - {from: a, to: web, proto: tcp, port: 80, timeout: 300ms}
  - {from: a, to: web, proto: tcp, port: 81, timeout: 300ms}
`)
	n := fakeNet(l)
	web := state.NetNSName(l.Name, "web")
	n.DNAT(netip.MustParseAddrPort("10.8.0.2:80"), netip.MustParseAddrPort("10.8.0.2:7000"))
	n.DNAT(netip.MustParseAddrPort("10.8.0.2:81"), netip.MustParseAddrPort("10.8.0.2:7001"))
	for port, serve := range map[string]func(c io.ReadWriteCloser){
		":7000": func(c io.ReadWriteCloser) { io.WriteString(c, "SSH-2.0-OpenSSH\n") },
		":7001": func(c io.ReadWriteCloser) { c.Read(make([]byte, 64)) },
	} {
		ln, err := n.ListenIn(web, "tcp", port)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() { serve(c); c.Close() }()
			}
		}()
	}
	res := check.Run(context.Background(), n, l, l.Checks)
	wants := []string{
		`not netlab's responder: 10.8.0.2:80 answered "SSH-2.0-OpenSSH", not this check's answer`,
		`not netlab's responder: connected to 10.8.0.2:81, but it closed the connection without this check's answer`,
	}
	for i, r := range res {
		if r.Passed || r.Reached || !strings.HasPrefix(r.Reason, wants[i]) {
			t.Errorf("%s: passed=%v reached=%v reason %q, want %q...", r.Name, r.Passed, r.Reached, r.Reason, wants[i])
		}
	}
}
