package check_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

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

// TestServiceChecksOneServiceAtATime: checks run together give the results
// they give alone, against a real service too. Five http checks to a
// server that serves one client at a time, 300 ms each (as a
// single-threaded server does, or one whose small listen backlog drops a
// burst of connections), all pass within their 1 s timeout: checks to the
// same address and port take turns, and each one's timeout runs in its
// own turn. Run all at once, the fourth and fifth waited for the others
// and timed out. A check to another port does not wait for them.
func TestServiceChecksOneServiceAtATime(t *testing.T) {
	t.Parallel()
	onBothNets(t, testServiceChecksOneServiceAtATime)
}

func testServiceChecksOneServiceAtATime(t *testing.T, n *network) {
	name := kerneltest.LabName(t)
	l := parseLab(t, `name: `+name+`
nodes:
  a:
    interfaces:
      eth0: {addresses: [10.7.1.1/24]}
  web:
    interfaces:
      eth0: {addresses: [10.7.1.2/24]}
links:
  - [a:eth0, web:eth0]
checks:
  - {from: a, http: "http://10.7.1.2:8080/1"}
  - {from: a, http: "http://web:8080/2"}
  - {from: a, http: "http://web-eth0:8080/3"}
  - {from: a, http: "http://10.7.1.2:8080/4"}
  - {from: a, http: "http://10.7.1.2:8080/5"}
  - {from: a, http: "http://10.7.1.2:8081/other"}
`)
	n.up(t, l)
	web := state.NetNSName(l.Name, "web")
	var one sync.Mutex // one client at a time
	serve := func(port string, handler http.HandlerFunc) {
		ln, err := n.netns().ListenIn(web, "tcp", ":"+port)
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: handler}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
	}
	serve("8080", func(w http.ResponseWriter, r *http.Request) {
		one.Lock()
		defer one.Unlock()
		time.Sleep(300 * time.Millisecond)
		w.Write([]byte("hello"))
	})
	serve("8081", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("other")) })

	start := time.Now()
	res := n.run(t, l)
	took := time.Since(start)
	for _, r := range res {
		if !r.Passed {
			t.Errorf("%s: failed (%s), though it passes alone", r.Name, r.Reason)
		}
	}
	if other := res[5]; other.Elapsed > 1200*time.Millisecond {
		t.Errorf("%s took %s: it waited for the checks to another port", other.Name, other.Elapsed)
	}
	t.Logf("5 checks of one service and one of another took %s", took)
}
