package kernel_test

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/vishvananda/netns"

	"netlab/lab"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/state"
)

// TestDefaultLabChecks brings up the built-in default lab and runs what
// its checks promise with real datagrams: the host masquerades c2's
// traffic to the server, nothing from the server reaches c1, and c1
// reaches c2, the host's bridge and the server.
func TestDefaultLabChecks(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	name := kerneltest.LabName(t)
	l := singleIP(t, name)
	k := newLinux(t)
	upLab(t, k, l)

	probes := defaultLabProbes

	// Every check of the file is among the probes, so that an edit of the
	// default lab's checks shows up here (and, without root, in
	// TestDefaultLabProbesCoverChecks).
	defaultLabProbesCover(t, l)

	fd := func(node string) netns.NsHandle { return openNS(t, state.NetNSName(name, node)) }
	servers := map[string]netip.AddrPort{}
	for _, p := range probes {
		if _, ok := servers[p.addr]; !ok {
			servers[p.addr] = udpEchoServer(t, fd(p.to), netip.MustParseAddr(p.addr))
		}
	}
	for _, p := range probes {
		t.Run(p.from+" to "+p.to, func(t *testing.T) {
			if p.seen == "" {
				if got, err := udpProbe(fd(p.from), servers[p.addr], time.Second); err == nil {
					t.Errorf("%s -> %s (%s): got the answer %q; want nothing to get through", p.from, p.to, servers[p.addr], got)
				}
				return
			}
			got, err := udpProbe(fd(p.from), servers[p.addr], 10*time.Second)
			if err != nil {
				t.Fatalf("%s -> %s (%s): %v", p.from, p.to, servers[p.addr], err)
			}
			if want := "from " + p.seen; got != want {
				t.Errorf("%s -> %s: the server saw %q, want %q", p.from, p.to, got, want)
			}
		})
	}
}

// probe is a datagram the default lab's checks promise to pass or not.
type probe struct {
	from, to string // nodes
	addr     string // the address of to that from sends to
	seen     string // the source the server at addr sees; "" for no answer
}

// defaultLabProbes are what TestDefaultLabChecks sends.
var defaultLabProbes = []probe{
	{"c2", "server", "198.51.100.183", "198.51.100.86"}, // masqueraded
	{"server", "c1", "192.168.31.10", ""},               // no way in
	{"c1", "c2", "192.168.31.11", "192.168.31.10"},      // on the bridge
	{"c1", "host", "192.168.31.1", "192.168.31.10"},     // the bridge itself
	{"c1", "server", "198.51.100.183", "198.51.100.86"}, // out through the host
}

// TestDefaultLabProbesCoverChecks: every check of the default lab file
// has a probe of TestDefaultLabChecks, so that an edit of its checks
// fails here, where no root is needed, and not only there.
func TestDefaultLabProbesCoverChecks(t *testing.T) {
	defaultLabProbesCover(t, singleIP(t, "nltestcover"))
}

// defaultLabProbesCover fails for each check of l that no probe of
// defaultLabProbes sends.
func defaultLabProbesCover(t *testing.T, l *lab.Lab) {
	t.Helper()
	probes := defaultLabProbes
	var covered []string
	for _, p := range probes {
		expect := lab.ExpectOK
		if p.seen == "" {
			expect = lab.ExpectFail
		}
		covered = append(covered, fmt.Sprintf("%s -> %s %s", p.from, p.addr, expect))
	}
	for _, c := range l.Checks {
		target := c.Ping
		if !target.IsValid() {
			target = c.Address
		}
		if !target.IsValid() && l.Node(c.To) != nil {
			target = firstAddr(l.Node(c.To))
		}
		expect := c.Expect
		if expect == "" {
			expect = lab.ExpectOK
		}
		key := fmt.Sprintf("%s -> %s %s", c.From, target, expect)
		if !slices.Contains(covered, key) {
			t.Errorf("the default lab's check %q (from %s to %s) has no probe here: add one", key, c.From, target)
		}
		if c.SeenSource.IsValid() && !slices.ContainsFunc(probes, func(p probe) bool {
			return p.from == c.From && p.addr == target.String() && p.seen == c.SeenSource.String()
		}) {
			t.Errorf("the default lab's check %q expects source %s, which no probe here expects", key, c.SeenSource)
		}
	}
}

// firstAddr is the first address of a node's first interface that has
// one, as a check with "to: NODE" and no address probes.
func firstAddr(n *lab.Node) netip.Addr {
	for _, i := range n.Interfaces {
		if len(i.Addresses) > 0 {
			return i.Addresses[0].Prefix.Addr()
		}
	}
	return netip.Addr{}
}
