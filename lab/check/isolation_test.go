package check

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"netlab/lab"
)

// These tests need no kernel: the tickets that keep one check's responder
// from answering another check's probe.

func TestTicketsAnswerOnlyTheirOwnResponder(t *testing.T) {
	web80 := endpoint{node: "web", proto: "tcp", port: 80}
	web8080 := endpoint{node: "web", proto: "tcp", port: 8080}
	web8080udp := endpoint{node: "web", proto: "udp", port: 8080}
	src := netip.MustParseAddr("198.51.100.20")
	ts := newTickets()
	viaDNAT := ts.issue(web80)  // a check to web:80 whose probe a DNAT sends to 8080
	direct := ts.issue(web8080) // a check to web:8080
	other := ts.issue(web8080)  // a second check to web:8080 shares the responder
	if viaDNAT == direct || direct == other {
		t.Fatal("two tickets share a token")
	}

	// The responder at web:8080 answers its two checks, not the stray probe.
	if !ts.claim(direct, web8080, src) || !ts.claim(other, web8080, src) {
		t.Error("the responder at web tcp/8080 refused its own checks")
	}
	if ts.claim(viaDNAT, web8080, src) {
		t.Error("the responder at web tcp/8080 answered the probe of the check to web tcp/80")
	}
	if got, ok := ts.landed(viaDNAT); !ok || got != web8080 {
		t.Errorf("landed(stray) = %v, %v; want web tcp/8080", got, ok)
	}
	if _, ok := ts.landed(direct); ok {
		t.Error("a probe that reached its own responder counts as landed elsewhere")
	}
	// The same port over another protocol is another responder.
	if ts.claim(direct, web8080udp, src) {
		t.Error("the udp responder answered a tcp check's token")
	}
	// A token with no ticket (another netlab check, a stranger) gets nothing.
	if ts.claim(newToken(), web8080, src) {
		t.Error("a token with no ticket was answered")
	}
	// The first place a stray probe landed is the one reported.
	ts.claim(viaDNAT, web8080udp, src)
	if got, _ := ts.landed(viaDNAT); got != web8080 {
		t.Errorf("landed after a second stray claim = %v, want the first, web tcp/8080", got)
	}

	// wait returns the source the own responder saw, at once once claimed,
	// and gives up after its timeout otherwise.
	if seen, ok := ts.wait(direct, time.Second); !ok || seen != src {
		t.Errorf("wait(claimed) = %v, %v; want %v, true", seen, ok, src)
	}
	start := time.Now()
	if _, ok := ts.wait(viaDNAT, 20*time.Millisecond); ok {
		t.Error("wait says a stray probe arrived at its own responder")
	}
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Errorf("wait returned after %v, before its timeout", d)
	}
}

func TestAnswer(t *testing.T) {
	at := endpoint{node: "web", proto: "udp", port: 53}
	ts := newTickets()
	own := ts.issue(at)
	stray := ts.issue(endpoint{node: "web", proto: "udp", port: 5353})
	from := &net.UDPAddr{IP: net.ParseIP("::ffff:203.0.113.20"), Port: 40000}
	tests := []struct {
		name, line string
		want       string // "" for no answer
	}{
		{"own token", probeLine(own), probeLine(own) + " 203.0.113.20"},
		{"own token with newline", probeLine(own) + "\n", probeLine(own) + " 203.0.113.20"},
		{"another check's token", probeLine(stray), ""},
		{"unknown token", probeLine(newToken()), ""},
		{"short token", "netlab 0123", ""},
		{"not hex", "netlab " + string(make([]byte, 32)), ""},
		{"no greeting", own.String(), ""},
		{"empty", "", ""},
	}
	for _, tc := range tests {
		got, ok := answer(ts, at, tc.line, from)
		if ok != (tc.want != "") || got != tc.want {
			t.Errorf("%s: answer = %q, %v; want %q", tc.name, got, ok, tc.want)
		}
	}
	if seen, ok := parseAnswer(probeLine(own), probeLine(own)+" 203.0.113.20"); !ok || seen.String() != "203.0.113.20" {
		t.Errorf("parseAnswer = %v, %v", seen, ok)
	}
}

func TestTokenRoundTrips(t *testing.T) {
	tok := newToken()
	if got, ok := parseToken(tok.String()); !ok || got != tok {
		t.Errorf("parseToken(String()) = %v, %v; want %v", got, ok, tok)
	}
	data := echoPayload(tok)
	if len(data) != EchoPayloadBytes {
		t.Errorf("echo payload is %d bytes, want %d", len(data), EchoPayloadBytes)
	}
	if got, ok := tokenOf(data); !ok || got != tok {
		t.Errorf("tokenOf(echoPayload) = %v, %v; want %v", got, ok, tok)
	}
	if _, ok := tokenOf(data[:tokenBytes-1]); ok {
		t.Error("tokenOf accepts a payload shorter than a token")
	}
}

func TestWantedEndpoint(t *testing.T) {
	v4, v6 := netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("2001:db8::2")
	tests := []struct {
		check lab.Check
		dst   netip.Addr
		want  endpoint
		line  string // as the check's reasons name it
	}{
		{lab.Check{To: "b", Proto: "icmp"}, v4, endpoint{node: "b", proto: "icmp"}, "b icmp"},
		{lab.Check{To: "b", Proto: "icmp"}, v6, endpoint{node: "b", proto: "icmp6"}, "b icmp"},
		{lab.Check{To: "b", Proto: "tcp", Port: 8080}, v4, endpoint{node: "b", proto: "tcp", port: 8080}, "b tcp/8080"},
		{lab.Check{To: "b", Proto: "udp", Port: 53}, v6, endpoint{node: "b", proto: "udp", port: 53}, "b udp/53"},
	}
	for _, tc := range tests {
		got := wantedEndpoint(&tc.check, tc.dst)
		if got != tc.want || got.String() != tc.line {
			t.Errorf("wantedEndpoint(%+v, %v) = %#v (%q), want %#v (%q)", tc.check, tc.dst, got, got.String(), tc.want, tc.line)
		}
	}
}
