package check_test

import (
	"context"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"netlab/lab/check"
	"netlab/lab/state"
)

// TestServiceChecksFake is TestServiceChecks on the fake network: connect
// and http checks against a real HTTP server listening in a node, a
// redirect not followed, a bad status, and a port a check's responder
// held a moment before (closed once the probed checks are done).
func TestServiceChecksFake(t *testing.T) {
	t.Parallel()
	l := parseLab(t, `name: svc
nodes:
  a:
    interfaces:
      eth0: {addresses: [10.7.0.1/24]}
  web:
    interfaces:
      eth0: {addresses: [10.7.0.2/24]}
links:
  - [a:eth0, web:eth0]
checks:
  - {from: a, connect: "10.7.0.2:8080"}
  - {from: a, connect: "10.7.0.2:8081", expect: fail}
  - {from: a, http: "http://web:8080/"}
  - {from: a, http: "http://10.7.0.2:8080/moved"}
  - {from: a, http: "http://10.7.0.2:8080/missing", expect: fail}
  - {from: a, to: web, proto: tcp, port: 9090}
  - {from: a, connect: "10.7.0.2:9090", expect: fail}
`)
	n := fakeNet(l)
	ln, err := n.ListenIn(state.NetNSName(l.Name, "web"), "tcp", ":8080")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hello")) })
	mux.Handle("/moved", http.RedirectHandler("http://198.51.100.99/", http.StatusMovedPermanently))
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	want := []struct {
		reached bool
		reason  string // a prefix of Reason
	}{
		{true, ""},
		{false, "refused by 10.7.0.2"},
		{true, ""},
		{true, ""},
		{false, "bad status: 10.7.0.2:8080 answered 404 Not Found"},
		{true, ""},
		{false, "refused by 10.7.0.2"},
	}
	res := check.Run(context.Background(), n, l, l.Checks)
	for i, r := range res {
		if !r.Passed || r.Reached != want[i].reached || !strings.HasPrefix(r.Reason, want[i].reason) {
			t.Errorf("%s: passed=%v reached=%v reason %q, want reached=%v reason %q...", r.Name, r.Passed, r.Reached, r.Reason, want[i].reached, want[i].reason)
		}
	}
	if d := res[2].Detail(); !strings.HasPrefix(d, "HTTP 200, rtt ") {
		t.Errorf("%s: detail %q, want HTTP 200 and the rtt", res[2].Name, d)
	}
	if res[3].Status != http.StatusMovedPermanently {
		t.Errorf("%s: status %d, want 301, not followed", res[3].Name, res[3].Status)
	}
}

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
