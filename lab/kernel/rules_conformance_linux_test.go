package kernel_test

import (
	"fmt"
	"os/exec"
	"strings"

	"netlab/lab/kernel/kerneltest"
	"netlab/lab/state"
)

// The conformance case of policy routing rules and of routes in tables
// other than main, run with the others (TestConformance).
func init() {
	conformanceCases = append(conformanceCases, ruleCases...)
}

// hand runs an ip command a person would type, on either kernel.
func (c *conformance) hand(line string) {
	line = strings.ReplaceAll(line, "LAB", c.lab)
	var err error
	if f, ok := c.k.(*kerneltest.Fake); ok {
		err = f.Seed(line)
	} else {
		args := strings.Fields(line)
		var out []byte
		if out, err = exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			err = fmt.Errorf("%w: %s", err, out)
		}
	}
	if err != nil {
		c.t.Fatalf("%s: %v", line, err)
	}
}

// rules writes a node's rules as Observe reads them, the person's too.
func (c *conformance) rules(node string) {
	s, err := c.k.Observe(cctx, c.lab, nil)
	if err != nil {
		c.t.Fatalf("observe: %v", err)
	}
	n := s.Nodes[node]
	for _, r := range n.Rules {
		fmt.Fprintf(&c.b, "  rule %s owned %v\n", r.Text(), r.Owned)
	}
	for _, r := range n.Routes {
		fmt.Fprintf(&c.b, "  route %s owned %v\n", state.RouteText(r), r.Owned)
	}
}

var ruleCases = []conformanceCase{
	{
		name:    "rules and tables",
		methods: []string{"RuleAdd", "RuleDel"},
		run: func(c *conformance) {
			c.must("add a", c.k.NetNSAdd(cctx, c.lab, "a"))
			c.must("add b", c.k.NetNSAdd(cctx, c.lab, "b"))
			c.must("veth", c.k.LinkAdd(cctx, c.ns("a"), c.marked(state.Link{Name: "eth0", Kind: "veth", Up: true}, "b:eth0"),
				c.ns("b"), c.marked(state.Link{Name: "eth0", Kind: "veth", Up: true}, "a:eth0")))
			a := c.ns("a")
			c.must("addr", c.k.AddrAdd(cctx, a, "eth0", pfx("10.7.0.1/24")))
			c.must("addr v6", c.k.AddrAdd(cctx, a, "eth0", pfx("fd07::1/64")))
			from := state.Rule{Priority: 1000, From: pfx("10.1.0.0/24"), Table: 100}
			c.do("rule from", c.k.RuleAdd(cctx, a, from))
			c.do("rule from again", c.k.RuleAdd(cctx, a, from))
			c.do("rule v6 to, iif", c.k.RuleAdd(cctx, a, state.Rule{IPv6: true, Priority: 1001, To: pfx("2001:db8::/64"), IIf: "eth0", Table: 4000000000}))
			c.do("rule fwmark", c.k.RuleAdd(cctx, a, state.Rule{Priority: 1002, Mark: 0x10, Mask: 0xff, OIf: "eth0", Table: 254}))
			c.do("rule fwmark, no mask", c.k.RuleAdd(cctx, a, state.Rule{Priority: 1003, Mark: 7, Mask: 0xffffffff, Table: 200}))
			c.do("rule in the machine's namespace", c.k.RuleAdd(cctx, state.HostNetNS, state.Rule{Priority: 1, Table: 100}))
			c.do("route table 100", c.k.RouteReplace(cctx, a, state.Route{To: pfx("0.0.0.0/0"), Via: ip("10.7.0.2"), Table: 100}))
			c.do("route table 100 replaced", c.k.RouteReplace(cctx, a, state.Route{To: pfx("0.0.0.0/0"), Via: ip("10.7.0.3"), Table: 100}))
			c.do("route v6 table 4000000000", c.k.RouteReplace(cctx, a, state.Route{To: pfx("::/0"), Via: ip("fd07::2"), Table: 4000000000}))
			c.do("route main", c.k.RouteReplace(cctx, a, state.Route{To: pfx("10.9.0.0/16"), Via: ip("10.7.0.2")}))
			// A person's rule, the same as netlab's but for its protocol,
			// and a route of a table of theirs: read, not netlab's.
			c.hand("ip -n LAB.a rule add priority 1000 from 10.1.0.0/24 table 100")
			c.hand("ip -n LAB.a route add 10.20.0.0/16 via 10.7.0.2 table 100")
			c.rules("a")
			c.do("del rule from", c.k.RuleDel(cctx, a, from))
			c.do("del it again", c.k.RuleDel(cctx, a, from))
			c.do("del route table 100", c.k.RouteDel(cctx, a, state.Route{To: pfx("0.0.0.0/0"), Table: 100}))
			c.do("del it again", c.k.RouteDel(cctx, a, state.Route{To: pfx("0.0.0.0/0"), Table: 100}))
			c.rules("a")
		},
		want: `add a: ok
add b: ok
veth: ok
addr: ok
addr v6: ok
rule from: ok
rule from again: ok
rule v6 to, iif: ok
rule fwmark: ok
rule fwmark, no mask: ok
rule in the machine's namespace: not permitted
route table 100: ok
route table 100 replaced: ok
route v6 table 4000000000: ok
route main: ok
  rule -4 priority 1000 from 10.1.0.0/24 lookup 100 owned true
  rule -4 priority 1000 from 10.1.0.0/24 lookup 100 owned false
  rule -6 priority 1001 to 2001:db8::/64 iif eth0 lookup 4000000000 owned true
  rule -4 priority 1002 oif eth0 fwmark 0x10/0xff lookup 254 owned true
  rule -4 priority 1003 fwmark 0x7 lookup 200 owned true
  route default via 10.7.0.3 dev eth0 table 100 owned true
  route 10.9.0.0/16 via 10.7.0.2 dev eth0 owned true
  route default via fd07::2 dev eth0 metric 1024 table 4000000000 owned true
del rule from: ok
del it again: ok
del route table 100: ok
del it again: ok
  rule -4 priority 1000 from 10.1.0.0/24 lookup 100 owned false
  rule -6 priority 1001 to 2001:db8::/64 iif eth0 lookup 4000000000 owned true
  rule -4 priority 1002 oif eth0 fwmark 0x10/0xff lookup 254 owned true
  rule -4 priority 1003 fwmark 0x7 lookup 200 owned true
  route 10.9.0.0/16 via 10.7.0.2 dev eth0 owned true
  route default via fd07::2 dev eth0 metric 1024 table 4000000000 owned true
`,
	},
}
