package kernel

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/nftables"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// traceMsg builds an NFT_MSG_TRACE message as the kernel sends it: the
// nfgenmsg header, then attributes in network byte order.
func traceMsg(t *testing.T, family uint8, build func(ae *netlink.AttributeEncoder)) netlink.Message {
	t.Helper()
	ae := netlink.NewAttributeEncoder()
	ae.ByteOrder = binary.BigEndian
	build(ae)
	b, err := ae.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return netlink.Message{Header: netlink.Header{Type: traceMsgType}, Data: append([]byte{family, 0, 0, 0}, b...)}
}

func TestDecodeTraceRule(t *testing.T) {
	m := traceMsg(t, unix.NFPROTO_INET, func(ae *netlink.AttributeEncoder) {
		ae.String(unix.NFTA_TRACE_TABLE, "netlab")
		ae.String(unix.NFTA_TRACE_CHAIN, "filter_forward")
		ae.Uint64(unix.NFTA_TRACE_RULE_HANDLE, 7)
		ae.Uint32(unix.NFTA_TRACE_TYPE, unix.NFT_TRACETYPE_RULE)
		ae.Nested(unix.NFTA_TRACE_VERDICT, func(nae *netlink.AttributeEncoder) error {
			nae.ByteOrder = binary.BigEndian
			nae.Uint32(unix.NFTA_VERDICT_CODE, uint32(0xfffffffd)) // NFT_JUMP
			nae.String(unix.NFTA_VERDICT_CHAIN, "sub")
			return nil
		})
		ae.Uint32(unix.NFTA_TRACE_ID, 0xdeadbeef)
		ae.Uint32(unix.NFTA_TRACE_IIF, 3)
		ae.Uint32(unix.NFTA_TRACE_OIF, 4)
		ae.Uint32(unix.NFTA_TRACE_MARK, 0x10)
		ae.Uint32(unix.NFTA_TRACE_NFPROTO, unix.NFPROTO_IPV4)
		ae.Bytes(unix.NFTA_TRACE_NETWORK_HEADER, []byte{0x45, 0})
		ae.Bytes(unix.NFTA_TRACE_TRANSPORT_HEADER, []byte{1, 2})
		ae.Bytes(unix.NFTA_TRACE_LL_HEADER, []byte{9})
	})
	got, err := decodeTrace(m)
	if err != nil {
		t.Fatal(err)
	}
	want := rawTrace{Family: unix.NFPROTO_INET, Table: "netlab", Chain: "filter_forward", RuleHandle: 7,
		Type: unix.NFT_TRACETYPE_RULE, Verdict: unix.NFT_JUMP, Target: "sub", HasVerdict: true, ID: 0xdeadbeef,
		IIf: 3, OIf: 4, Mark: 0x10, NFProto: unix.NFPROTO_IPV4,
		Network: []byte{0x45, 0}, Transport: []byte{1, 2}, LinkLayer: []byte{9}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decoded (-want +got):\n%s", diff)
	}
	e := eventOf("lab.r", got)
	if e.Family != "inet" || e.Type != "rule" || e.Verdict != "jump" || e.Target != "sub" || e.Rule != 7 || e.NetNS != "lab.r" {
		t.Errorf("event %+v", e)
	}
}

func TestDecodeTracePolicy(t *testing.T) {
	m := traceMsg(t, unix.NFPROTO_BRIDGE, func(ae *netlink.AttributeEncoder) {
		ae.String(unix.NFTA_TRACE_TABLE, "t")
		ae.String(unix.NFTA_TRACE_CHAIN, "c")
		ae.Uint32(unix.NFTA_TRACE_TYPE, unix.NFT_TRACETYPE_POLICY)
		ae.Uint32(unix.NFTA_TRACE_POLICY, nfDrop)
		ae.Uint32(unix.NFTA_TRACE_ID, 1)
	})
	r, err := decodeTrace(m)
	if err != nil {
		t.Fatal(err)
	}
	if e := eventOf("x", r); e.Type != "policy" || e.Verdict != "drop" || e.Family != "bridge" || e.Rule != 0 {
		t.Errorf("policy event %+v: want a bridge policy drop", e)
	}
}

func TestDecodeTraceRefuses(t *testing.T) {
	if _, err := decodeTrace(netlink.Message{Header: netlink.Header{Type: traceMsgType - 1}, Data: make([]byte, 8)}); err == nil {
		t.Error("a message of another type was decoded")
	}
	if _, err := decodeTrace(netlink.Message{Header: netlink.Header{Type: traceMsgType}, Data: []byte{1}}); err == nil {
		t.Error("a message shorter than nfgenmsg was decoded")
	}
	noChain := traceMsg(t, unix.NFPROTO_INET, func(ae *netlink.AttributeEncoder) { ae.String(unix.NFTA_TRACE_TABLE, "t") })
	if _, err := decodeTrace(noChain); err == nil {
		t.Error("a message without a chain was decoded")
	}
}

func TestVerdictNames(t *testing.T) {
	for code, want := range map[int32]string{
		nfDrop: "drop", nfAccept: "accept", nfStolen: "stolen", nfQueue | 5<<16: "queue", unix.NFT_CONTINUE: "continue",
		unix.NFT_BREAK: "break", unix.NFT_JUMP: "jump", unix.NFT_GOTO: "goto", unix.NFT_RETURN: "return", -42: "-42",
	} {
		if got := verdictName(code); got != want {
			t.Errorf("verdictName(%d) = %q; want %q", code, got, want)
		}
	}
}

func TestTraceMarkRules(t *testing.T) {
	for _, tc := range []struct {
		proto string
		n     int
	}{
		// sport and dport, each alone and quoted by 3 ICMP and 4 ICMPv6 errors.
		{"udp", 2 * (1 + 3 + 4)},
		{"tcp", 2 * (1 + 3 + 4)},
		// echo request and reply of each family, and the errors quoting an echo.
		{"icmp", 4 + 3 + 4},
	} {
		rules, err := traceMarkRules(TraceMatch{Proto: tc.proto, Port: 40001})
		if err != nil {
			t.Fatal(err)
		}
		if len(rules) != tc.n {
			t.Errorf("%s: %d rules; want %d", tc.proto, len(rules), tc.n)
		}
		for _, r := range rules {
			// Every rule compares the port (or echo id) 40001 somewhere.
			found := false
			for _, m := range r.th {
				if len(m.val) == 2 && binary.BigEndian.Uint16(m.val) == 40001 {
					found = true
				}
			}
			if !found {
				t.Errorf("%s: rule %+v does not match the port", tc.proto, r)
			}
		}
	}
	udp, _ := traceMarkRules(TraceMatch{Proto: "udp", Port: 7})
	// The quoted packet's dport behind an ICMPv4 error: 8 + 20 + 2.
	var quoted bool
	for _, r := range udp {
		if r.proto == unix.IPPROTO_ICMP && len(r.th) == 3 && r.th[1].off == 17 && r.th[2].off == 30 {
			quoted = true
		}
	}
	if !quoted {
		t.Error("no rule matches an ICMP error quoting a udp packet to port 7 (inner protocol at th 17, dport at th 30)")
	}
	if _, err := traceMarkRules(TraceMatch{Proto: "sctp", Port: 1}); err == nil || !strings.Contains(err.Error(), "sctp") {
		t.Errorf("sctp: %v; want an error naming it", err)
	}
}

func TestAddrFilter(t *testing.T) {
	if got := addrFilter(TraceMatch{Proto: "udp"}); got != nil {
		t.Errorf("no address: %d rules; want none", len(got))
	}
	for _, a := range []string{"198.51.100.10", "2001:db8::1"} {
		rules := addrFilter(TraceMatch{Proto: "udp", Addr: netip.MustParseAddr(a)})
		if len(rules) != 2 {
			t.Errorf("%s: %d rules; want 2 (other family, other address)", a, len(rules))
		}
	}
}

func TestOwnedTable(t *testing.T) {
	// google/nftables decodes NFTA_TABLE_FLAGS in host byte order.
	host := binary.NativeEndian.Uint32(binary.BigEndian.AppendUint32(nil, nftTableFOwner))
	if !ownedTable(&nftables.Table{Flags: host}) {
		t.Error("a table with the owner flag is not owned")
	}
	if ownedTable(&nftables.Table{}) {
		t.Error("a table without flags is owned")
	}
	for name, want := range map[string]bool{"netlab_trace_1_2": true, "netlab_trace": true, "netlab_tracer": false, "netlab": false, "x_netlab_trace_1": false} {
		if got := isTraceTable(name); got != want {
			t.Errorf("isTraceTable(%q) = %v; want %v", name, got, want)
		}
	}
}

// Port 0 is a match by address only (trace --watch --from): refused
// without an address; with one, the same rules as a port's, but none
// compares a port or an echo identifier, and tcp and udp have one rule
// where a port has two (source, destination).
func TestTraceMarkRulesAddressOnly(t *testing.T) {
	for _, proto := range []string{"udp", "tcp", "icmp"} {
		if _, err := traceMarkRules(TraceMatch{Proto: proto}); err == nil {
			t.Errorf("%s, port 0, no address: accepted", proto)
		}
	}
	addr := netip.MustParseAddr("198.51.100.10")
	for _, tc := range []struct {
		proto string
		n     int
		width int // the comparisons every rule makes
	}{
		{"udp", 1 + 3 + 4, 0},
		{"tcp", 1 + 3 + 4, 0},
		{"icmp", 4 + 3 + 4, 1},
	} {
		rules, err := traceMarkRules(TraceMatch{Proto: tc.proto, Addr: addr})
		if err != nil {
			t.Fatalf("%s by address: %v", tc.proto, err)
		}
		if len(rules) != tc.n {
			t.Errorf("%s by address: %d rules; want %d", tc.proto, len(rules), tc.n)
		}
		for _, r := range rules {
			for _, m := range r.th {
				if len(m.val) == 2 {
					t.Errorf("%s by address: rule %+v compares a port or identifier", tc.proto, r)
				}
			}
			if r.proto == l4Numbers[tc.proto] && len(r.th) != tc.width {
				t.Errorf("%s by address: rule %+v: %d comparisons; want %d", tc.proto, r, len(r.th), tc.width)
			}
		}
	}
}
