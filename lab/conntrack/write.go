package conntrack

import (
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"netlab/lab/kernel"
)

// State is the STATE column: TCP's state as the kernel names it
// (SYN_SENT, ESTABLISHED, TIME_WAIT...); for a protocol without states,
// UNREPLIED until an answer came, then REPLIED, and ASSURED once the
// kernel keeps the entry under pressure, as conntrack(8)'s [UNREPLIED]
// and [ASSURED] say.
func State(e kernel.ConntrackEntry) string {
	switch {
	case e.State != "":
		return e.State
	case !e.SeenReply:
		return "UNREPLIED"
	case e.Assured:
		return "ASSURED"
	}
	return "REPLIED"
}

// disagree marks a NAT column whose translation the kernel's flags do
// not name; a note under the table says what they name.
const disagree = "*"

// WriteText prints the entries as a table, one a line, columns aligned:
//
//	PROTO  STATE      TIMEOUT  ORIGINAL                                REPLY                                   NAT
//	udp    UNREPLIED  29s      192.168.31.11:40001 -> 198.51.100.183:7  198.51.100.183:7 -> 198.51.100.86:40001  SNAT
//
// NAT is Translation ("-" for none). PACKETS and BYTES (original/reply)
// are there when the kernel counts (nf_conntrack_acct=1), MARK and ZONE
// when an entry has one. A NAT the kernel's status flags do not agree
// with is marked "*", with a note after the table. No entries print
// nothing.
func WriteText(w io.Writer, entries []kernel.ConntrackEntry) error {
	if len(entries) == 0 {
		return nil
	}
	var counters, marks, zones bool
	for _, e := range entries {
		counters = counters || e.Counters
		marks = marks || e.Mark != 0
		zones = zones || e.Zone != 0
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := []string{"PROTO", "STATE", "TIMEOUT", "ORIGINAL", "REPLY", "NAT"}
	if counters {
		head = append(head, "PACKETS", "BYTES")
	}
	if marks {
		head = append(head, "MARK")
	}
	if zones {
		head = append(head, "ZONE")
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	var notes []string
	for _, e := range entries {
		natCol := Translation(e)
		if k := KernelTranslation(e); k != natCol {
			notes = append(notes, fmt.Sprintf("%s %s: the tuples say %s, the kernel's status flags say %s",
				e.Proto, Tuple(e.Orig, e.Proto), orNone(natCol), orNone(k)))
			natCol = orDash(natCol) + disagree
		}
		row := []string{e.Proto, State(e), timeout(e.Timeout), Tuple(e.Orig, e.Proto), Tuple(e.Reply, e.Proto), orDash(natCol)}
		if counters {
			if e.Counters {
				row = append(row, fmt.Sprintf("%d/%d", e.OrigPackets, e.ReplyPackets), fmt.Sprintf("%d/%d", e.OrigBytes, e.ReplyBytes))
			} else {
				row = append(row, "-", "-")
			}
		}
		if marks {
			row = append(row, strconv.FormatUint(uint64(e.Mark), 10))
		}
		if zones {
			row = append(row, strconv.Itoa(int(e.Zone)))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range notes {
		if _, err := fmt.Fprintf(w, "%s %s\n", disagree, n); err != nil {
			return err
		}
	}
	return nil
}

// timeout shows the seconds left as Go writes a duration: 29s, 2m0s,
// 119h59m59s.
func timeout(d time.Duration) string { return d.Truncate(time.Second).String() }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func orNone(s string) string {
	if s == "" {
		return "no NAT"
	}
	return s
}

// Entry is one entry of -o json:
//
//	{"proto": "udp", "state": "UNREPLIED", "timeout_seconds": 29,
//	 "original": {"src": "192.168.31.11", "dst": "198.51.100.183", "sport": 40001, "dport": 7},
//	 "reply": {"src": "198.51.100.183", "dst": "198.51.100.86", "sport": 7, "dport": 40001},
//	 "nat": "snat", "kernel_nat": "snat", "assured": false, "seen_reply": false,
//	 "mark": 0, "zone": 0, "counters": null}
//
// nat (from the tuples) and kernel_nat (from the kernel's status flags)
// take the words of a path check's nat: none, snat, dnat or both. A
// tuple has sport and dport for tcp, udp, udplite, sctp and dccp,
// icmp_type, icmp_code and icmp_id for icmp and ipv6-icmp. counters is
// null when the kernel does not count (nf_conntrack_acct=0).
type Entry struct {
	Proto     string    `json:"proto"`
	State     string    `json:"state"`
	Timeout   int64     `json:"timeout_seconds"`
	Original  TupleJSON `json:"original"`
	Reply     TupleJSON `json:"reply"`
	NAT       string    `json:"nat"`
	KernelNAT string    `json:"kernel_nat"`
	Assured   bool      `json:"assured"`
	SeenReply bool      `json:"seen_reply"`
	Mark      uint32    `json:"mark"`
	Zone      uint16    `json:"zone"`
	Counters  *Counters `json:"counters"`
}

// TupleJSON is one direction of an Entry.
type TupleJSON struct {
	Src      string  `json:"src"`
	Dst      string  `json:"dst"`
	SPort    *uint16 `json:"sport,omitempty"`
	DPort    *uint16 `json:"dport,omitempty"`
	ICMPType *uint8  `json:"icmp_type,omitempty"`
	ICMPCode *uint8  `json:"icmp_code,omitempty"`
	ICMPID   *uint16 `json:"icmp_id,omitempty"`
}

// Counters are an Entry's packets and bytes, each way.
type Counters struct {
	OrigPackets  uint64 `json:"orig_packets"`
	OrigBytes    uint64 `json:"orig_bytes"`
	ReplyPackets uint64 `json:"reply_packets"`
	ReplyBytes   uint64 `json:"reply_bytes"`
}

// JSON returns the entries in the shape of -o json, in their order.
func JSON(entries []kernel.ConntrackEntry) []Entry {
	out := make([]Entry, len(entries))
	for i, e := range entries {
		j := Entry{
			Proto: e.Proto, State: State(e), Timeout: int64(e.Timeout / time.Second),
			Original: tupleJSON(e.Orig, e.Proto), Reply: tupleJSON(e.Reply, e.Proto),
			NAT: natWord(Translation(e)), KernelNAT: natWord(KernelTranslation(e)),
			Assured: e.Assured, SeenReply: e.SeenReply, Mark: e.Mark, Zone: e.Zone,
		}
		if e.Counters {
			j.Counters = &Counters{e.OrigPackets, e.OrigBytes, e.ReplyPackets, e.ReplyBytes}
		}
		out[i] = j
	}
	return out
}

// natWords are Translation's values in the words of a path check's nat:.
var natWords = map[string]string{"": "none", SNAT: "snat", DNAT: "dnat", Both: "both"}

func natWord(t string) string { return natWords[t] }

func tupleJSON(t kernel.ConntrackTuple, proto string) TupleJSON {
	j := TupleJSON{Src: jsonAddr(t.Src), Dst: jsonAddr(t.Dst)}
	switch {
	case hasPorts(proto):
		j.SPort, j.DPort = &t.SPort, &t.DPort
	case isICMP(proto):
		j.ICMPType, j.ICMPCode, j.ICMPID = &t.ICMPType, &t.ICMPCode, &t.ICMPID
	}
	return j
}

// jsonAddr is an address of -o json: "" for none.
func jsonAddr(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}
