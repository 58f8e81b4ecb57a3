package kernel

import (
	"bytes"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// A namespace's marker is lo's alias, which only a netlink socket inside
// the namespace can read. Down, ls and status read it in every namespace
// of a lab, a thousand of them: a netlink.Handle for each (a thread locked
// and moved into the namespace and back, per socket) and a full link
// message decoded for one attribute cost more than the rest of down.
// readAliases instead has a few nsThreads, each of which enters
// namespace after namespace (setns) and asks there for lo alone, without
// its statistics, over a bare socket it closes at once.

// markerWorkers is how many threads read markers at once: each read is
// a few short syscalls, so a couple per core is enough. It is set as the
// package starts, before netlab's main raises GOMAXPROCS above the
// number of cores.
var markerWorkers = 2 * runtime.GOMAXPROCS(0)

// rtextFilterSkipStats is RTEXT_FILTER_SKIP_STATS of linux/rtnetlink.h:
// a link message without its counters.
const rtextFilterSkipStats = 1 << 3

// markerTimeout bounds the wait for the kernel's answer about lo.
const markerTimeout = 5 // seconds

// readAliases returns lo's alias in each namespace of fds, with the error
// of each that could not be read.
func readAliases(fds []netns.NsHandle) ([]string, []error) {
	aliases := make([]string, len(fds))
	errs := make([]error, len(fds))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(markerWorkers, len(fds)) {
		wg.Go(func() {
			t, err := startNSThread() // moved back at the end, or ended
			if err == nil {
				defer t.stop()
			}
			buf := make([]byte, 16<<10) // lo without counters: about 1 KiB
			for {
				i := int(next.Add(1) - 1)
				if i >= len(fds) {
					return
				}
				if err != nil {
					errs[i] = err
					continue
				}
				aliases[i], errs[i] = loAliasIn(t, fds[i], buf)
			}
		})
	}
	wg.Wait()
	return aliases, errs
}

// loAliasIn moves t into the namespace fd and reads lo's alias there,
// with buf for the kernel's answer.
func loAliasIn(t *nsThread, fd netns.NsHandle, buf []byte) (string, error) {
	if err := t.enter(fd); err != nil {
		return "", err
	}
	s, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return "", fmt.Errorf("netlink socket: %w", err)
	}
	defer unix.Close(s)
	tv := unix.Timeval{Sec: markerTimeout}
	if err := unix.SetsockoptTimeval(s, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return "", fmt.Errorf("netlink socket: %w", err)
	}
	req := nl.NewNetlinkRequest(unix.RTM_GETLINK, 0)
	req.AddData(nl.NewIfInfomsg(unix.AF_UNSPEC))
	req.AddData(nl.NewRtAttr(unix.IFLA_EXT_MASK, nl.Uint32Attr(rtextFilterSkipStats)))
	req.AddData(nl.NewRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated("lo")))
	if err := unix.Sendto(s, req.Serialize(), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return "", fmt.Errorf("ask for lo: %w", err)
	}
	for {
		n, from, err := unix.Recvfrom(s, buf, 0)
		if err != nil {
			return "", fmt.Errorf("read lo: %w", err)
		}
		if nlFrom, ok := from.(*unix.SockaddrNetlink); !ok || nlFrom.Pid != 0 {
			continue // not the kernel's
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return "", fmt.Errorf("read lo: %w", err)
		}
		for _, m := range msgs {
			if m.Header.Seq != req.Seq {
				continue
			}
			return loAliasOf(m)
		}
	}
}

// loAliasOf is lo's alias in the kernel's answer m to a request for lo.
func loAliasOf(m syscall.NetlinkMessage) (string, error) {
	switch m.Header.Type {
	case unix.NLMSG_ERROR:
		if len(m.Data) < 4 {
			return "", fmt.Errorf("read lo: short netlink error")
		}
		errno := -int32(nl.NativeEndian().Uint32(m.Data[:4]))
		if errno <= 0 {
			return "", fmt.Errorf("read lo: an acknowledgement, not lo")
		}
		return "", fmt.Errorf("read lo: %w", syscall.Errno(errno))
	case unix.RTM_NEWLINK:
	default:
		return "", fmt.Errorf("read lo: unexpected netlink message type %d", m.Header.Type)
	}
	if len(m.Data) < unix.SizeofIfInfomsg {
		return "", fmt.Errorf("read lo: short link message")
	}
	attrs, err := nl.ParseRouteAttr(m.Data[unix.SizeofIfInfomsg:])
	if err != nil {
		return "", fmt.Errorf("read lo: %w", err)
	}
	name, alias := "", ""
	for _, a := range attrs {
		switch a.Attr.Type {
		case unix.IFLA_IFNAME:
			name = string(bytes.TrimRight(a.Value, "\x00"))
		case unix.IFLA_IFALIAS:
			alias = string(bytes.TrimRight(a.Value, "\x00"))
		}
	}
	if name != "lo" {
		return "", fmt.Errorf("read lo: the kernel answered with link %q", name)
	}
	return alias, nil
}
