package kernel

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"unsafe"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"netlab/lab/state"
)

// LinkCounters reads each namespace's links in one dump over a netlink
// socket of its own, made once in the namespace and kept with its open
// handle (conn): after the first call, a namespace costs a stat of its
// file (is it still the one mounted there?), a request and the replies,
// read into one buffer for all of them. The replies are decoded here,
// for the few attributes wanted: the netlink library's LinkList decodes
// them all and reads each reply into a fresh 64 KiB buffer, which for a
// thousand namespaces a second was most of the cost.
func (k *Linux) LinkCounters(ctx context.Context, netns []string) (map[string][]LinkCounters, error) {
	out := make(map[string][]LinkCounters, len(netns))
	buf := make([]byte, dumpBufSize)
	err := k.eachPresent(ctx, netns, func(name string, c *nsConn) error {
		ls, err := retryDump("list links", func() ([]LinkCounters, error) { return c.dumpLinks(buf) })
		if err != nil {
			return fmt.Errorf("namespace %s: %w", name, err)
		}
		out[name] = ls
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// eachPresent calls read, in turn, with each namespace of netns that is
// still there (one gone since it was listed is left out), until ctx ends
// or read fails.
func (k *Linux) eachPresent(ctx context.Context, netns []string, read func(name string, c *nsConn) error) error {
	for _, name := range netns {
		if err := ctx.Err(); err != nil {
			return err
		}
		c, err := k.conn(name)
		if gone(err) {
			continue
		}
		if err != nil {
			return err
		}
		if err := read(name, c); err != nil {
			return err
		}
	}
	return nil
}

// dumpBufSize holds the largest reply the kernel sends to a dump (it
// fills up to 32 KiB, or the reader's buffer if smaller).
const dumpBufSize = 64 << 10

// dumpLinks sends RTM_GETLINK with NLM_F_DUMP on the namespace's dump
// socket (made at the first call) and decodes the replies into buf.
func (c *nsConn) dumpLinks(buf []byte) ([]LinkCounters, error) {
	c.dumpMu.Lock()
	defer c.dumpMu.Unlock()
	if c.dump < 0 {
		var sock int
		err := InNetNS(c.fd, func() error {
			var err error
			sock, err = unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("netlink socket: %w", err)
		}
		// The kernel answers a dump at once; a bound on the wait keeps a
		// lost reply from hanging the caller.
		tv := unix.Timeval{Sec: 5}
		if err := unix.SetsockoptTimeval(sock, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			unix.Close(sock)
			return nil, fmt.Errorf("netlink socket: %w", err)
		}
		c.dump = sock
	}
	c.seq++
	seq := c.seq
	req := make([]byte, unix.SizeofNlMsghdr+unix.SizeofIfInfomsg)
	*(*unix.NlMsghdr)(unsafe.Pointer(&req[0])) = unix.NlMsghdr{Len: uint32(len(req)), Type: unix.RTM_GETLINK,
		Flags: unix.NLM_F_REQUEST | unix.NLM_F_DUMP, Seq: seq}
	if err := unix.Sendto(c.dump, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("send: %w", err)
	}
	var out []LinkCounters
	interrupted := false
	for {
		n, _, flags, _, err := unix.Recvmsg(c.dump, buf, nil, 0)
		if err != nil {
			return nil, fmt.Errorf("receive: %w", err)
		}
		if flags&unix.MSG_TRUNC != 0 {
			return nil, fmt.Errorf("receive: a reply longer than %d bytes", len(buf))
		}
		msgs := buf[:n]
		for len(msgs) >= unix.SizeofNlMsghdr {
			h := *(*unix.NlMsghdr)(unsafe.Pointer(&msgs[0]))
			if h.Len < unix.SizeofNlMsghdr || int(h.Len) > len(msgs) {
				return nil, fmt.Errorf("receive: a reply of bad length %d", h.Len)
			}
			body := msgs[unix.SizeofNlMsghdr:h.Len]
			msgs = msgs[min(nlAlign(int(h.Len)), len(msgs)):]
			if h.Seq != seq {
				continue // the reply to an earlier request, cut short
			}
			if h.Flags&unix.NLM_F_DUMP_INTR != 0 {
				interrupted = true
			}
			switch h.Type {
			case unix.NLMSG_DONE:
				if interrupted {
					return nil, netlink.ErrDumpInterrupted
				}
				return out, nil
			case unix.NLMSG_ERROR:
				if len(body) >= 4 {
					if errno := -int32(binary.NativeEndian.Uint32(body)); errno != 0 {
						return nil, unix.Errno(errno)
					}
				}
				return nil, errors.New("netlink error reply")
			case unix.RTM_NEWLINK:
				if lc, ok := decodeLink(body); ok {
					out = append(out, lc)
				}
			}
		}
	}
}

// decodeLink reads the attributes LinkCounters wants from an
// RTM_NEWLINK message's body (ifinfomsg, then attributes).
func decodeLink(b []byte) (LinkCounters, bool) {
	if len(b) < unix.SizeofIfInfomsg {
		return LinkCounters{}, false
	}
	ifi := *(*unix.IfInfomsg)(unsafe.Pointer(&b[0]))
	lc := LinkCounters{Index: int(ifi.Index), Up: ifi.Flags&unix.IFF_UP != 0}
	for a := b[nlAlign(unix.SizeofIfInfomsg):]; len(a) >= unix.SizeofRtAttr; {
		l := int(binary.NativeEndian.Uint16(a[0:2]))
		typ := binary.NativeEndian.Uint16(a[2:4]) &^ unix.NLA_F_NESTED
		if l < unix.SizeofRtAttr || l > len(a) {
			break
		}
		v := a[unix.SizeofRtAttr:l]
		a = a[min(nlAlign(l), len(a)):]
		switch {
		case typ == unix.IFLA_IFNAME:
			lc.Name = string(bytes.TrimRight(v, "\x00"))
		case typ == unix.IFLA_MTU && len(v) >= 4:
			lc.MTU = int(binary.NativeEndian.Uint32(v))
		case typ == unix.IFLA_MASTER && len(v) >= 4:
			lc.MasterIndex = int(binary.NativeEndian.Uint32(v))
		case typ == unix.IFLA_OPERSTATE && len(v) >= 1:
			lc.OperState = netlink.LinkOperState(v[0]).String()
		case typ == unix.IFLA_STATS64 && len(v) >= 8*8:
			// struct rtnl_link_stats64 begins with rx and tx packets,
			// bytes, errors and dropped, 64 bits each. (Every kernel
			// netlab runs on sends it.)
			u := func(i int) uint64 { return binary.NativeEndian.Uint64(v[8*i:]) }
			lc.Stats = state.Counters{RxPackets: u(0), TxPackets: u(1), RxBytes: u(2), TxBytes: u(3),
				RxErrors: u(4), TxErrors: u(5), RxDropped: u(6), TxDropped: u(7)}
		}
	}
	return lc, lc.Name != ""
}

// nlAlign rounds a netlink length up to its 4-byte alignment.
func nlAlign(n int) int { return (n + 3) &^ 3 }

// gone reports whether err, of conn, says the namespace is not (or no
// longer) there: missing, or an empty mount point down left for a moment.
func gone(err error) bool {
	return err != nil && (errors.Is(err, os.ErrNotExist) || errors.Is(err, errNotNetNS))
}

// counters is a link's counters as state keeps them.
func counters(st *netlink.LinkStatistics) state.Counters {
	if st == nil {
		return state.Counters{}
	}
	return state.Counters{
		RxPackets: st.RxPackets, TxPackets: st.TxPackets, RxBytes: st.RxBytes, TxBytes: st.TxBytes,
		RxDropped: st.RxDropped, TxDropped: st.TxDropped, RxErrors: st.RxErrors, TxErrors: st.TxErrors,
	}
}

// RuleCounters reads, in each namespace that has netlab's table, its
// chains and then each chain's rules, keeping only their tags and
// counters.
func (k *Linux) RuleCounters(ctx context.Context, netns []string) (map[string][]RuleCounter, error) {
	out := make(map[string][]RuleCounter, len(netns))
	err := k.eachPresent(ctx, netns, func(name string, c *nsConn) error {
		rs, ok, err := ruleCounters(c)
		if err != nil {
			return fmt.Errorf("namespace %s: %w", name, err)
		}
		if ok {
			out[name] = rs
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ruleCounters reads the counters of the rules of netlab's table in the
// namespace of c; ok is false when it has no such table.
func ruleCounters(c *nsConn) (rs []RuleCounter, ok bool, err error) {
	conn, err := nftConn(c)
	if err != nil {
		return nil, false, err
	}
	if ok, err := hasNFTable(conn); err != nil || !ok {
		return nil, false, err
	}
	chains, err := conn.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil {
		return nil, false, fmt.Errorf("nftables: list chains: %w", err)
	}
	for _, ch := range chains {
		if ch.Table == nil || ch.Table.Name != state.NFTableName {
			continue
		}
		rules, err := conn.GetRules(nftTable(), ch)
		if err != nil {
			return nil, false, fmt.Errorf("nftables: chain %s: list rules: %w", ch.Name, err)
		}
		for _, r := range rules {
			rc := RuleCounter{Chain: ch.Name}
			rc.Tag, _ = userdata.GetString(r.UserData, userdata.TypeComment)
			rc.Packets, rc.Bytes = ruleCounter(r)
			rs = append(rs, rc)
		}
	}
	return rs, true, nil
}

// ruleCounter is the value of a rule's counter expression.
func ruleCounter(r *nftables.Rule) (packets, bytes uint64) {
	for _, e := range r.Exprs {
		if ctr, ok := e.(*expr.Counter); ok {
			packets, bytes = ctr.Packets, ctr.Bytes
		}
	}
	return packets, bytes
}
