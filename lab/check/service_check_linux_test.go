package check_test

import (
	"net/http"
	"strings"
	"testing"

	"netlab/lab/kernel/kerneltest"
	"netlab/lab/state"
)

// TestServiceChecks runs connect and http checks against a web server the
// test starts inside node web (standing in for a process of the lab): a
// connection is accepted or refused; a GET passes on 200 and on a 301,
// which it does not follow, and fails on 404. A connect check to a port
// where another check's responder listens runs after that responder is
// closed, so it is refused every time, as it would be alone. It runs on
// the fake network and, as root, on the real kernel.
func TestServiceChecks(t *testing.T) {
	t.Parallel()
	onBothNets(t, testServiceChecks)
}

func testServiceChecks(t *testing.T, n *network) {
	name := kerneltest.LabName(t)
	l := parseLab(t, `name: `+name+`
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
	n.up(t, l)
	ln, err := n.netns().ListenIn(state.NetNSName(l.Name, "web"), "tcp", ":8080")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hello")) })
	// Followed, this redirect would go to an address nobody holds.
	mux.Handle("/moved", http.RedirectHandler("http://198.51.100.99/", http.StatusMovedPermanently))
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	want := []struct {
		name    string
		reached bool
		reason  string // a prefix of Reason
	}{
		{"a connect 10.7.0.2:8080", true, ""},
		{"a connect 10.7.0.2:8081", false, "refused by 10.7.0.2"},
		{"a http http://web:8080/", true, ""},
		{"a http http://10.7.0.2:8080/moved", true, ""},
		{"a http http://10.7.0.2:8080/missing", false, "bad status: 10.7.0.2:8080 answered 404 Not Found"},
		{"a -> web tcp/9090 (10.7.0.2)", true, ""},
		{"a connect 10.7.0.2:9090", false, "refused by 10.7.0.2"},
	}
	for round := 1; round <= 5; round++ {
		res := n.run(t, l)
		for i, r := range res {
			w := want[i]
			if r.Name != w.name || !r.Passed || r.Reached != w.reached || !strings.HasPrefix(r.Reason, w.reason) {
				t.Errorf("run %d: %s: passed=%v reached=%v reason %q, want %s to pass with reached=%v, reason %q...", round, r.Name, r.Passed, r.Reached, r.Reason, w.name, w.reached, w.reason)
			}
		}
		if d := res[2].Detail(); !strings.HasPrefix(d, "HTTP 200, rtt ") {
			t.Errorf("%s: detail %q, want HTTP 200 and the rtt", res[2].Name, d)
		}
		if res[3].Status != http.StatusMovedPermanently {
			t.Errorf("%s: status %d, want 301, not followed", res[3].Name, res[3].Status)
		}
	}
}
